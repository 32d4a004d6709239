import numpy as np
from django.conf import settings
from django.db import models

from annotator.common import jobs
from annotator.common.files import export_file_path
from workers.core import geometry


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
    dataset = models.ForeignKey(
        "annotator.Dataset", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    input_name = models.CharField(
        max_length=1000, blank=True, help_text="What an import reads: a server path or an uploaded file's name"
    )
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
