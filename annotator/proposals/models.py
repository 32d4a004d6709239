from django.db import models

from annotator.common.models import PoseFields
from annotator.datasets.models import Face


class Proposal(PoseFields):
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="proposals")
    proposer = models.CharField(max_length=100)
    proposer_version = models.CharField(max_length=50)
    weights_sha256 = models.CharField(max_length=64)
    score = models.FloatField(default=0.0)
    # the 2D landmarks this proposer detected and fitted on the face (pixels, in landmark_scheme order):
    # the app's own detection, which Snap may use even where the face holds imported ground truth
    landmarks_2d = models.JSONField(null=True, blank=True, help_text="[[x, y], ...] pixels; null: fitted none")
    landmark_scheme = models.CharField(max_length=20, blank=True, help_text="ibug68 or mediapipe468")
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
