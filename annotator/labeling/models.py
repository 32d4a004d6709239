from django.conf import settings
from django.db import models
from django.db.models import Q

from annotator.common.models import PoseFields
from annotator.datasets.models import Dataset, Face
from annotator.proposals.models import Proposal


class AnnotationStatus(models.TextChoices):
    GROUND_TRUTH = "ground_truth", "ground truth (from the dataset)"
    ACCEPTED = "accepted"
    CORRECTED = "corrected"
    SKIPPED = "skipped"
    FLAGGED = "flagged"
    DRAFT = "draft"


class FlagReason(models.TextChoices):
    NO_FACE = "no_face", "no face"
    OCCLUDED = "occluded"
    NOT_A_HEAD = "not_a_head", "not a head"
    OTHER = "other"


class AnnotationOrigin(models.TextChoices):
    """Who made a label: the dataset itself (its ground truth) or an annotator."""

    GROUND_TRUTH = "ground_truth", "ground truth"
    ANNOTATOR = "annotator"


class RevisionFields(PoseFields):
    status = models.CharField(max_length=20, choices=AnnotationStatus.choices)
    flag_reason = models.CharField(max_length=20, choices=FlagReason.choices, blank=True)
    note = models.TextField(blank=True)
    time_spent_s = models.FloatField(default=0.0, help_text="Seconds the annotator spent on this save")
    version = models.PositiveIntegerField(default=1)
    # how far the saved pose is from the proposal the annotator started from (null: none); a save within
    # labeling/services.ACCEPT_TOLERANCE of it is stored `accepted`, whatever button sent it
    moved_deg = models.FloatField(
        null=True, blank=True, help_text="Geodesic angle from the starting proposal, degrees (null: none)"
    )
    moved_mm = models.FloatField(
        null=True, blank=True, help_text="Distance of t from the starting proposal's t, mm (null: none)"
    )
    landmark_pins = models.JSONField(
        default=list,
        blank=True,
        help_text="Landmarks the annotator pinned: [{index (iBUG-68), x, y (image px)}] (workers/core/landmark_pins.py)",
    )

    class Meta:
        abstract = True


class ReviewState(models.TextChoices):
    PENDING = "", "not reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"
    # a reviewer replaced the pose (a revision authored by the reviewer); the annotator's stays in the history.
    # Was "corrected" (also an AnnotationStatus): still accepted as a filter value (DEPRECATED_REVIEW_STATES).
    AMENDED = "amended", "amended by a reviewer"


# review states renamed (issue 23 item 4): old value -> new value, still accepted on input
DEPRECATED_REVIEW_STATES = {"corrected": ReviewState.AMENDED.value}


class RejectReason(models.TextChoices):
    """Why a reviewer sent a label back to its annotator (shown on their labeling page)."""

    ROTATION = "rotation", "the head is turned wrong"
    POSITION = "position", "the head is placed wrong (position or depth)"
    WRONG_FLAG = "wrong_flag", "the flag is wrong (or it should have been flagged)"
    OTHER = "other", "other (see the note)"


class Annotation(RevisionFields):
    """The current label of one face by one author (or by the dataset itself).

    Each save bumps `version` and appends an AnnotationRevision; nothing is
    overwritten without a trace."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="annotations")
    # The face's dataset, repeated here so that a dataset's labels are one index
    # range (dataset, id): paging them must not walk other datasets' rows.
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+", db_index=False)
    origin = models.CharField(max_length=20, choices=AnnotationOrigin.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="annotations"
    )
    proposal = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total_time_s = models.FloatField(default=0.0)
    # A reviewer's verdict on the current version; a new save clears it.
    review_state = models.CharField(max_length=20, choices=ReviewState.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    review_reason = models.CharField(max_length=20, choices=RejectReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["face", "origin"]
        constraints = [
            models.UniqueConstraint(
                fields=["face", "author"], condition=Q(origin="annotator"), name="one_annotation_per_author"
            ),
            models.UniqueConstraint(
                fields=["face"], condition=Q(origin="ground_truth"), name="one_ground_truth_per_face"
            ),
        ]
        indexes = [
            models.Index(fields=["dataset", "id"], name="annotation_dataset_id"),
            # the review queue (selectors.review_queue): an annotator's label awaiting a verdict, oldest first
            models.Index(
                fields=["dataset", "updated_at", "id"],
                name="annotation_review_pending",
                condition=Q(origin="annotator", review_state=""),
            ),
        ]

    def __str__(self):
        who = self.author or "dataset"
        return f"{self.face} by {who} v{self.version}"


class AnnotationRevision(RevisionFields):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation", "version"]
        constraints = [models.UniqueConstraint(fields=["annotation", "version"], name="unique_revision_version")]


class FaceClaim(models.Model):
    """A face handed to an annotator for labeling, until it expires. Keeps two
    annotators off the same face unless the dataset asks for overlap."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="claims")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "annotator"], name="unique_claim")]

    def __str__(self):
        return f"face {self.face_id} claimed by user {self.annotator_id} until {self.expires_at:%Y-%m-%d %H:%M}"
