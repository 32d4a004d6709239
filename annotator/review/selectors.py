from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation, AnnotationOrigin, ReviewState
from annotator.labeling.selectors import REVIEWABLE
from annotator.quality.models import FaceConsensus
from annotator.review.models import ReviewClaim


def faces_needing_review(dataset: Dataset):
    """Faces whose annotators disagree: their consensus (annotator/quality.py) spread
    over HEADPOSE_CONSENSUS_REVIEW_DEG or left a member out as an outlier. Most spread first."""
    return (
        Face.objects.filter(consensus__dataset=dataset, consensus__needs_review=True)
        .select_related("consensus")
        .order_by("-consensus__dispersion_deg", "pk")
    )


def review_queue(dataset: Dataset, reviewer):
    """Annotations of `dataset` awaiting `reviewer`'s verdict, in the order the
    review page hands them out: the oldest label first. Excluded: their own
    labels, and labels another reviewer holds. Labels of faces whose annotators
    disagree (faces_needing_review: consensus spread over the setting, or an
    outlier) come first. The one place this order is decided
    (reviewing.next_for_review first gives back a label the reviewer already
    holds). Walks the partial index annotation_review_pending."""
    claims = ReviewClaim.objects.filter(annotation=OuterRef("pk"), expires_at__gt=timezone.now())
    disputed = FaceConsensus.objects.filter(face=OuterRef("face_id"), needs_review=True)
    return (
        Annotation.objects.filter(
            dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=REVIEWABLE, review_state=ReviewState.PENDING
        )
        .exclude(author=reviewer)
        .exclude(Exists(claims.exclude(reviewer=reviewer)))
        .annotate(disputed=Exists(disputed))
        .order_by("-disputed", "updated_at", "pk")
    )
