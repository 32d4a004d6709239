from django.conf import settings
from django.db import models

from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation


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
    method = models.CharField(
        max_length=32,
        default="chordal",
        help_text="How the rotation was combined: reliability_weighted (workers/core/reliability.py), chordal (rows from before it)",
    )
    weights = models.JSONField(
        default=list,
        help_text="Each member's weight in the consensus, in the order of members (unmoved accepts of one proposal share one vote; 0: an outlier)",
    )
    iterations = models.PositiveSmallIntegerField(
        default=0, help_text="Rounds of the joint noise + consensus estimate behind the weights"
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "needs_review"], name="consensus_needs_review")]

    def __str__(self):
        return f"consensus of {self.face} ({self.member_count} members, {self.dispersion_deg:.1f} deg)"


class ConsensusDue(models.Model):
    """A face whose consensus row (and honeypot answers) lag behind its labels: a save or
    a verdict marks it, one upsert on the request's path; quality/services.flush_consensus
    brings the marked faces up to date in one vectorised batch. The quality report, the
    review queue, exports and every worker's reaper round flush before they read."""

    face = models.OneToOneField(Face, primary_key=True, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(help_text="The last change that marked it")

    def __str__(self):
        return f"consensus of face {self.face_id} due"


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
        "Annotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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

    def __str__(self):
        return f"{self.honeypot} answered {self.geodesic_deg:.1f} deg off"


class QualitySnapshot(models.Model):
    """The last computed quality report of a dataset (annotator/quality.py): the
    scores page reads it; a label save or review marks it stale."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="quality_snapshot")
    report = models.JSONField(default=dict)
    stale = models.BooleanField(default=True)
    computed_at = models.DateTimeField(auto_now=True)
    compute_s = models.FloatField(default=0.0, help_text="Seconds the last refresh took")
    noise = models.JSONField(
        default=dict,
        help_text="Each annotator's noise estimate (workers/core/reliability.Noise.as_dict, with its rounds): "
        "the weights of a save's consensus",
    )

    def __str__(self):
        return f"quality of {self.dataset}" + (" (stale)" if self.stale else "")
