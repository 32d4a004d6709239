from django.conf import settings
from django.db import models

from annotator.labeling.models import Annotation


class ReviewClaim(models.Model):
    """An annotation handed to a reviewer on the review page, until it expires:
    keeps two reviewers off the same label; the dataset page shows it "in review"."""

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="review_claim")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_claims")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"review claim on label {self.annotation_id} until {self.expires_at:%Y-%m-%d %H:%M}"
