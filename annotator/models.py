"""Datasets, images, faces, proposals and annotations.

Poses are stored as R (9 floats, row-major) and t (3 floats, mm) in the image's
camera frame (OpenCV), never as Euler angles only; see workers/core/geometry.py.
"""
import numpy as np
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from annotator import jobs
from annotator.stored_files import export_file_path
from workers.core import geometry


class Role(models.TextChoices):
    ADMIN = "admin"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"


class Dataset(models.Model):
    class Kind(models.TextChoices):
        AFLW2000 = "aflw2000", "AFLW2000-3D"
        BIWI = "biwi", "BIWI"
        IMAGES = "images", "Plain images"
        VIDEO = "video", "Video / frame sequences"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IMAGES)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=False, help_text="Researchers may read its labels.")
    overlap = models.PositiveSmallIntegerField(
        default=1, help_text="How many annotators label each face (1 = never hand a face to two at once)."
    )
    honeypot_share = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of each annotator's queue that are honeypots (faces with a trusted label).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Assignment(models.Model):
    """Who may label (or review) a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(
        max_length=20, choices=[(Role.ANNOTATOR, "annotator"), (Role.REVIEWER, "reviewer")], default=Role.ANNOTATOR
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "user", "role"], name="unique_assignment")]

    def __str__(self):
        return f"{self.user} {self.role} {self.dataset}"


class Sequence(models.Model):
    """An ordered run of frames (a video, a folder of frames, a BIWI `NN` folder);
    its frames are Images with a frame_index and a timestamp."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=200)
    fps = models.FloatField(help_text="Frames per second of the frames kept")
    frame_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=1000, blank=True, help_text="The video file or folder it was read from")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_sequence_name")]

    def __str__(self):
        return f"{self.dataset.name}/{self.name}"


class Image(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    sequence = models.ForeignKey(Sequence, null=True, blank=True, on_delete=models.SET_NULL, related_name="frames")
    frame_index = models.PositiveIntegerField(null=True, blank=True, help_text="Number of the frame in its sequence")
    timestamp_s = models.FloatField(null=True, blank=True, help_text="Seconds from the start of the sequence's source")
    file = models.FileField(upload_to="images/%Y/%m/")
    file_name = models.CharField(max_length=500, help_text="Name inside the dataset, e.g. 12/frame_00003_rgb.png")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    checksum = models.CharField(max_length=64, help_text="sha256 of the file")
    K = models.JSONField(help_text="Camera intrinsics, 3x3 row-major (9 floats), pixels")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "file_name"]
        constraints = [
            # two frames of a video may be the same picture (a still scene); frames are
            # told apart by their place in the sequence instead
            models.UniqueConstraint(fields=["dataset", "checksum"], condition=Q(sequence__isnull=True),
                                    name="unique_image_checksum"),
            models.UniqueConstraint(fields=["dataset", "file_name"], name="unique_image_name"),
            models.UniqueConstraint(fields=["sequence", "frame_index"], condition=Q(sequence__isnull=False),
                                    name="unique_frame_index"),
        ]

    def __str__(self):
        return self.file_name

    @property
    def K_matrix(self) -> np.ndarray:
        return np.asarray(self.K, dtype=np.float64).reshape(3, 3)


class Face(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="faces")
    index = models.PositiveSmallIntegerField(default=0)
    box = models.JSONField(help_text="[x0, y0, x1, y1] pixels")
    landmarks_2d = models.JSONField(null=True, blank=True, help_text="[[x, y], ...] pixels")
    landmarks_3d = models.JSONField(null=True, blank=True, help_text="[[X, Y, Z], ...] camera frame, mm")
    landmark_scheme = models.CharField(max_length=20, blank=True, help_text="ibug68 or mediapipe468")
    landmarks_provenance = models.CharField(max_length=100, blank=True,
                                            help_text="Where the landmarks came from: dataset or proposer name@version")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "index"]
        constraints = [models.UniqueConstraint(fields=["image", "index"], name="unique_face_index")]

    def __str__(self):
        return f"{self.image.file_name}#{self.index}"


class PoseFields(models.Model):
    R = models.JSONField(help_text="Rotation head->camera, 9 floats row-major")
    t = models.JSONField(null=True, blank=True, help_text="Translation, 3 floats, mm (camera frame)")

    class Meta:
        abstract = True

    @property
    def R_matrix(self) -> np.ndarray:
        return np.asarray(self.R, dtype=np.float64).reshape(3, 3)

    @property
    def euler(self) -> list[float]:
        """[yaw, pitch, roll] in degrees, AFLW convention (for display)."""
        return geometry.matrix_to_euler(self.R_matrix).tolist()


class Proposal(PoseFields):
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="proposals")
    proposer = models.CharField(max_length=100)
    proposer_version = models.CharField(max_length=50)
    weights_sha256 = models.CharField(max_length=64)
    score = models.FloatField(default=0.0)
    # calibrated, 0..1 (workers/core/proposers/confidence.py); null: the proposer gives none
    confidence = models.FloatField(null=True, blank=True)
    # what made it: a fused proposal's members (name, version, weights sha256), kept and dropped
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["face", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["face", "proposer", "proposer_version", "weights_sha256"], name="unique_proposal_per_version"
            )
        ]

    def __str__(self):
        return f"{self.proposer}@{self.proposer_version} for {self.face}"


class SequenceTrack(models.Model):
    """One face's proposals linked across a sequence's frames, raw and smoothed
    (workers/core/tracking). `frames` holds one entry per frame, in frame order:
    {frame_index, image, face, raw_R, R, t, filled, rejected}."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="tracks")
    index = models.PositiveSmallIntegerField(default=0, help_text="0 = the track covering most frames")
    proposer = models.CharField(max_length=160, help_text="name@version of the proposals it was built from")
    frames = models.JSONField(default=list)
    spikes = models.JSONField(default=list, help_text="Frame indices where the raw track's angular velocity jumps")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sequence", "index"]
        constraints = [models.UniqueConstraint(fields=["sequence", "index"], name="unique_track_index")]


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
    landmark_pins = models.JSONField(
        default=list, blank=True,
        help_text="Landmarks the annotator pinned: [{index (iBUG-68), x, y (image px)}] (workers/core/landmark_pins.py)")

    class Meta:
        abstract = True


class ReviewState(models.TextChoices):
    PENDING = "", "not reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"
    # a reviewer replaced the pose (a revision authored by the reviewer); the annotator's stays in the history
    CORRECTED = "corrected", "corrected by a reviewer"


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
            models.Index(fields=["dataset", "updated_at", "id"], name="annotation_review_pending",
                         condition=Q(origin="annotator", review_state="")),
        ]

    def __str__(self):
        who = self.author or "dataset"
        return f"{self.face} by {who} v{self.version}"


class AnnotationRevision(RevisionFields):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation", "version"]
        constraints = [models.UniqueConstraint(fields=["annotation", "version"], name="unique_revision_version")]


class Split(models.Model):
    """A named, versioned subset of a dataset's images (benchmark splits)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="splits")
    name = models.CharField(max_length=50)
    version = models.PositiveIntegerField(default=1)
    definition = models.JSONField(default=dict, help_text="How it was made: rule, seed, sequence lists, ...")
    images = models.ManyToManyField(Image, related_name="splits", blank=True)
    sample_names = models.JSONField(default=list, help_text="File names of the split (the definition's result)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name", "-version"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name", "version"], name="unique_split_version")]

    def __str__(self):
        return f"{self.dataset.name}/{self.name} v{self.version}"


class Job(jobs.ProgressProperties, models.Model):
    """A long-running piece of work (import, proposals, meshes, export) with
    progress that pages and commands can poll."""

    class Kind(models.TextChoices):
        IMPORT_AFLW2000 = "import_aflw2000", "AFLW2000-3D import"
        IMPORT_BIWI = "import_biwi", "BIWI import"
        IMPORT_IMAGES = "import_images", "image import"
        IMPORT_VIDEO = "import_video", "video / frames import"
        PROPOSE = "propose", "pose proposals"
        MESH = "mesh", "face meshes"
        EXPORT = "export", "label export"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        DONE_WITH_ERRORS = "done_with_errors", "done with errors"
        FAILED = "failed"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    input_name = models.CharField(max_length=1000, blank=True,
                                  help_text="What an import reads: a server path or an uploaded file's name")
    upload = models.FileField(upload_to="uploads/", blank=True)
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0, help_text="Already present (idempotent re-run)")
    errors = models.JSONField(default=list, blank=True, help_text="[{'name': ..., 'message': ...}]")
    result = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to=export_file_path, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the lease: bumped while a worker runs it (annotator/leases.py); the reaper re-sends stale ones
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"


class FaceClaim(models.Model):
    """A face handed to an annotator for labeling, until it expires. Keeps two
    annotators off the same face unless the dataset asks for overlap."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "user"], name="unique_claim")]


class ReviewClaim(models.Model):
    """An annotation handed to a reviewer on the review page, until it expires:
    keeps two reviewers off the same label; the dataset page shows it "in review"."""

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="review_claim")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_claims")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)


class FaceMesh(models.Model):
    """The textured 3D mesh of one face (GLB), built by a worker."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        NO_LANDMARKS = "no_landmarks", "no landmarks"
        FAILED = "failed"

    face = models.OneToOneField(Face, on_delete=models.CASCADE, related_name="mesh")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    message = models.TextField(blank=True)
    glb = models.FileField(upload_to="meshes/", blank=True)
    n_vertices = models.PositiveIntegerField(default=0)
    n_triangles = models.PositiveIntegerField(default=0)
    provenance = models.JSONField(default=dict, blank=True, help_text="Landmarks provenance, scheme, proposer version")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"mesh of {self.face} ({self.state})"


class ApiToken(models.Model):
    """A personal API token. Only a sha256 of the key is stored: the key is shown
    once, when created. Revoked tokens stay (with revoked_at) for the audit trail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'training pipeline'")
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="Only GET/HEAD/OPTIONS requests")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class FaceConsensus(models.Model):
    """The robust consensus of a face's annotator labels (workers/core/consensus.py),
    kept current by annotator/quality.py on every finished save and review."""

    face = models.OneToOneField(Face, on_delete=models.CASCADE, related_name="consensus")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    R = models.JSONField(help_text="Consensus rotation head->camera, 9 floats row-major")
    t = models.JSONField(null=True, blank=True, help_text="Consensus translation, 3 floats, mm")
    member_count = models.PositiveSmallIntegerField()
    dispersion_deg = models.FloatField(help_text="Median geodesic distance of the members to the consensus")
    members = models.JSONField(default=list, help_text="Annotation ids of every member")
    rejected = models.JSONField(default=list, help_text="Annotation ids left out as outliers")
    needs_review = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "needs_review"], name="consensus_needs_review")]

    def __str__(self):
        return f"consensus of {self.face} ({self.member_count} members, {self.dispersion_deg:.1f} deg)"


class Honeypot(models.Model):
    """A face with a trusted label, mixed into annotators' queues to measure them.
    Never shown to annotators as such (annotator/access.py)."""

    class Trusted(models.TextChoices):
        GROUND_TRUTH = "ground_truth", "ground truth"
        APPROVED = "approved", "reviewer-approved label"

    face = models.OneToOneField(Face, on_delete=models.CASCADE, related_name="honeypot")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="honeypots")
    R = models.JSONField(help_text="The trusted rotation, 9 floats row-major")
    t = models.JSONField(null=True, blank=True)
    trusted = models.CharField(max_length=20, choices=Trusted.choices)
    trusted_annotation = models.ForeignKey(
        "Annotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"honeypot {self.face}"


class HoneypotAnswer(models.Model):
    """An annotator's finished label of a honeypot face and its geodesic error to the trusted label."""

    honeypot = models.ForeignKey(Honeypot, on_delete=models.CASCADE, related_name="answers")
    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="honeypot_answer")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    geodesic_deg = models.FloatField()
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["honeypot", "author"], name="one_honeypot_answer_per_author")]


class QualitySnapshot(models.Model):
    """The last computed quality report of a dataset (annotator/quality.py): the
    scores page reads it; a label save or review marks it stale."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="quality_snapshot")
    report = models.JSONField(default=dict)
    stale = models.BooleanField(default=True)
    computed_at = models.DateTimeField(auto_now=True)
    compute_s = models.FloatField(default=0.0, help_text="Seconds the last refresh took")
