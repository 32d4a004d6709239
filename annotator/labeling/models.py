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
    # Which of its author's AnnotatorQueueTotals counters this label is counted in (bits of
    # labeling/queue_entries.COUNTED), so a change moves the counters by the difference.
    counted_in = models.PositiveSmallIntegerField(default=0, editable=False)

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
            # the dataset page's state filters (rejected; flagged and not reviewed) and the API's
            # review_state/status filters: the faces in a state, not a walk of the dataset's labels
            models.Index(
                fields=["dataset", "review_state", "status", "face"],
                name="annotation_dataset_state",
                condition=Q(origin="annotator"),
            ),
            # an annotator's own labels in a dataset (their progress, their honeypot slot, their
            # rejected labels first in their queue): a range of their rows, never the dataset's
            models.Index(fields=["author", "dataset", "status"], name="annotation_author_dataset"),
            # an annotator's labels a reviewer sent back, first in their queue (oldest verdict first)
            models.Index(
                fields=["author", "dataset", "reviewed_at"],
                name="annotation_rejected",
                condition=Q(origin="annotator", review_state="rejected"),
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
        # an annotator's live claims (the face they come back to); the unique one leads with the face
        indexes = [models.Index(fields=["annotator", "expires_at"], name="claim_annotator")]

    def __str__(self):
        return f"face {self.face_id} claimed by user {self.annotator_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class QueueEntry(models.Model):
    """The labeling queue's indexed state of one face (annotator/labeling/queue_entries.py
    keeps it current on every write that changes it): the queue reads the next face
    from an index range of these rows instead of scanning the dataset.

    `tier` is set only while the face is open in the image queue as an ordinary
    face (fewer people busy with it than it wants, not a honeypot, not a frame the
    dataset labels through its timeline): 0 disputed, 1 started by others, 2 low
    confidence, 3 the rest. `honeypot_badge` is set only for a honeypot in the
    image queue (0 low confidence, 1 not). `key` is the face's place in the
    dataset's secret shuffle: each annotator walks it from their own start."""

    face = models.OneToOneField(Face, on_delete=models.CASCADE, primary_key=True, related_name="queue_entry")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.BigIntegerField()
    is_frame = models.BooleanField(default=False)
    honeypot = models.BooleanField(default=False)
    low_confidence = models.BooleanField(default=True)
    busy = models.PositiveSmallIntegerField(default=0, help_text="People holding a live claim on it or done with it")
    wanted = models.PositiveSmallIntegerField(default=1, help_text="Labels the face wants (overlap)")
    tier = models.PositiveSmallIntegerField(null=True, blank=True)
    honeypot_badge = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["dataset", "tier", "key"], name="queue_open", condition=Q(tier__isnull=False)),
            models.Index(
                fields=["dataset", "honeypot_badge", "key"],
                name="queue_honeypots",
                condition=Q(honeypot_badge__isnull=False),
            ),
            models.Index(fields=["dataset", "face"], name="queue_dataset_face"),
        ]

    def __str__(self):
        return f"queue entry of face {self.face_id} (tier {self.tier}, {self.busy}/{self.wanted} busy)"


class QueueTotals(models.Model):
    """A dataset's queue counters, kept with its QueueEntry rows (queue_entries.py), and
    the dataset settings the rows were built with: a change of those rebuilds them."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, primary_key=True, related_name="+")
    open_faces = models.IntegerField(default=0, help_text="Entries with a tier (open ordinary faces)")
    honeypots = models.IntegerField(default=0, help_text="Entries with a honeypot badge")
    built_with = models.JSONField(default=dict, help_text="The dataset's queue settings at the last rebuild")
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"queue of dataset {self.dataset_id}: {self.open_faces} open, {self.honeypots} honeypots"


class AnnotatorQueueTotals(models.Model):
    """One annotator's queue counters in one dataset, moved by every change of their
    labels or of those labels' faces (queue_entries.py, through Annotation.counted_in):
    the progress bar and the honeypot slot read them instead of counting the
    annotator's labels. Each counts finished annotator labels (a draft never)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    finished = models.IntegerField(default=0, help_text="All their finished labels (the honeypot slot)")
    done = models.IntegerField(default=0, help_text="In the queue, not rejected")
    finished_open = models.IntegerField(default=0, help_text="In the queue, of faces still open to others")
    honeypots_done = models.IntegerField(default=0, help_text="In the queue, honeypots, not rejected")
    rejected = models.IntegerField(default=0, help_text="In the queue, rejected, of ordinary faces")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "annotator"], name="one_queue_totals_per_annotator")]

    def __str__(self):
        return f"queue counters of user {self.annotator_id} in dataset {self.dataset_id}: {self.done} done"
