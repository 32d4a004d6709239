import numpy as np
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    ADMIN = "admin"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"


class OverlapMode(models.TextChoices):
    FIXED = "fixed"
    ADAPTIVE = "adaptive"


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
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of each annotator's queue that are honeypots (faces with a trusted label).",
    )
    overlap_mode = models.CharField(
        max_length=10,
        choices=OverlapMode.choices,
        default=OverlapMode.FIXED,
        help_text="fixed: every face gets `overlap` labels; adaptive: 1, 2 or 3 labels as the face needs "
        "(workers/core/overlap.py).",
    )
    adaptive_sample_share = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Adaptive overlap: share of the faces with a confident proposal that still get a second label.",
    )
    adaptive_noise_floor_deg = models.FloatField(
        default=5.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(180.0)],
        help_text="Adaptive overlap: a face whose first two labels are further apart (geodesic, degrees) gets a third.",
    )
    queue_sequence_frames = models.BooleanField(
        default=False,
        help_text="Hand out the frames of its video sequences one by one in the labeling queue "
        "(off: frames are labeled through their sequence's timeline, by keyframes).",
    )
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


class Image(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    sequence = models.ForeignKey(
        "annotator.Sequence", null=True, blank=True, on_delete=models.SET_NULL, related_name="frames"
    )
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
            models.UniqueConstraint(
                fields=["dataset", "checksum"], condition=Q(sequence__isnull=True), name="unique_image_checksum"
            ),
            models.UniqueConstraint(fields=["dataset", "file_name"], name="unique_image_name"),
            models.UniqueConstraint(
                fields=["sequence", "frame_index"], condition=Q(sequence__isnull=False), name="unique_frame_index"
            ),
        ]
        # the images API's cursor pages of one dataset: a range of this index, not a walk of every image
        indexes = [models.Index(fields=["dataset", "id"], name="image_dataset_id")]

    def __str__(self):
        return self.file_name

    @property
    def K_matrix(self) -> np.ndarray:
        return np.asarray(self.K, dtype=np.float64).reshape(3, 3)


# landmarks_provenance of landmarks read from the dataset's own files (datasets/importing.py):
# ground truth for AFLW2000, never shown to annotators (selectors.detected_landmarks)
IMPORTED_LANDMARKS = "dataset"


class Face(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="faces")
    index = models.PositiveSmallIntegerField(default=0)
    box = models.JSONField(help_text="[x0, y0, x1, y1] pixels")
    landmarks_2d = models.JSONField(null=True, blank=True, help_text="[[x, y], ...] pixels")
    landmarks_3d = models.JSONField(null=True, blank=True, help_text="[[X, Y, Z], ...] camera frame, mm")
    landmark_scheme = models.CharField(max_length=20, blank=True, help_text="ibug68 or mediapipe468")
    landmarks_provenance = models.CharField(
        max_length=100, blank=True, help_text="Where the landmarks came from: dataset or proposer name@version"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "index"]
        constraints = [models.UniqueConstraint(fields=["image", "index"], name="unique_face_index")]

    def __str__(self):
        return f"{self.image.file_name}#{self.index}"


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


class DatasetSummary(models.Model):
    """A dataset's figures as the home and dataset pages show them (images, faces,
    proposals, labels, faces per label state; everyone's and each annotator's own),
    counted by datasets/services.refresh_summary off the request's path: a page reads
    this row, never counts the dataset (a worker refreshes it once it is older than
    HEADPOSE_SUMMARY_MAX_AGE_S; a dataset under HEADPOSE_SUMMARY_INLINE_FACES is
    counted on the request, exact)."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, primary_key=True, related_name="summary")
    figures = models.JSONField(
        default=dict,
        help_text="{images, faces, proposals, ground_truth, annotations, states: {state: faces}, "
        "authors: {user id: {annotations, states}}}",
    )
    computed_at = models.DateTimeField()
    compute_s = models.FloatField(default=0.0, help_text="Seconds the last count took")
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When a refresh was last sent to a worker")

    def __str__(self):
        return f"summary of dataset {self.dataset_id} ({self.computed_at:%Y-%m-%d %H:%M:%S})"
