"""Benchmarks (a split + an evaluation protocol, versioned) and their entries.

An entry is one model's result on one benchmark version: a registered proposer
run by the workers, or an uploaded prediction file. It records the benchmark
and split versions and the protocol it was computed under, so a number on the
leaderboard can always be traced to exactly what was measured."""

from django.conf import settings
from django.db import models

from annotator.common import jobs
from annotator.common.files import prediction_file_path


class CropRule(models.TextChoices):
    HOPENET = "hopenet", "HopeNet / 6DRepNet crop (pt2d box + 0.2 margins)"
    FSANET = "fsanet", "FSA-Net crop (0.6 margin, 64x64)"
    DETECTOR = "detector", "the model's own face detector"


class ErrorDefinition(models.TextChoices):
    PLAIN = "plain", "plain |d| (HopeNet, FSA-Net)"
    WRAPPED = "wrapped", "wrapped (6DRepNet)"


class Benchmark(models.Model):
    """One version of a named benchmark. A new split version or a protocol
    change makes a new row with version + 1; old entries keep theirs."""

    name = models.SlugField(max_length=100, help_text="e.g. aflw-p1; the CLI's --benchmark")
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    dataset = models.ForeignKey("annotator.Dataset", on_delete=models.CASCADE, related_name="benchmarks")
    split = models.ForeignKey("annotator.Split", on_delete=models.PROTECT, related_name="benchmarks")
    max_abs_angle = models.FloatField(
        null=True,
        blank=True,
        help_text="Angle filter: drop a sample if any ground-truth |yaw|, |pitch|, |roll| exceeds it",
    )
    crop = models.CharField(max_length=20, choices=CropRule.choices, default=CropRule.DETECTOR)
    error_definition = models.CharField(max_length=20, choices=ErrorDefinition.choices, default=ErrorDefinition.PLAIN)
    sample_names = models.JSONField(default=list, help_text="The evaluated samples (image file names), sorted")
    excluded = models.JSONField(default=dict, blank=True, help_text="Split samples left out, by reason: counts")
    reference_results = models.JSONField(
        default=list, blank=True, help_text="Published numbers shown as reference rows (not computed here)"
    )
    reference_note = models.CharField(max_length=300, blank=True)
    is_seed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="unique_benchmark_version")]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def protocol(self) -> dict:
        """What an entry's numbers depend on, copied onto every entry."""
        return {
            "benchmark": self.name,
            "benchmark_version": self.version,
            "dataset": self.dataset.name,
            "split": self.split.name,
            "split_version": self.split.version,
            "max_abs_angle": self.max_abs_angle,
            "crop": self.crop,
            "error_definition": self.error_definition,
            "samples": len(self.sample_names),
        }


class Entry(jobs.ProgressProperties, models.Model):
    class Kind(models.TextChoices):
        PROPOSER = "proposer", "proposer run here"
        UPLOAD = "upload", "uploaded predictions"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="entries")
    benchmark_version = models.PositiveIntegerField()
    split_version = models.PositiveIntegerField()
    protocol = models.JSONField(default=dict, help_text="The benchmark's protocol when this was computed")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    proposer = models.CharField(max_length=100, blank=True)
    proposer_version = models.CharField(max_length=50, blank=True)
    weights_sha256 = models.CharField(max_length=64, blank=True)
    # a proposer run's Proposer.provenance() (fused: every member with version and weights sha256)
    proposer_provenance = models.JSONField(default=dict, blank=True)
    crop_used = models.CharField(max_length=100, blank=True, help_text="The crop the predictions were made with")
    upload = models.FileField(upload_to=prediction_file_path, blank=True)
    upload_name = models.CharField(max_length=300, blank=True)
    upload_sha256 = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="benchmark_entries"
    )
    is_public = models.BooleanField(default=False, help_text="Other researchers see it")
    is_hidden = models.BooleanField(default=False, help_text="Hidden by an admin (only admins see it)")
    is_baseline = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # coverage: how many benchmark samples have a prediction (the rest are missing, never averaged)
    expected = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    missing_sample = models.JSONField(default=list, blank=True, help_text="The first missing sample names")
    # headline figures as columns: the leaderboard sorts and reads them without the JSON
    mae_yaw = models.FloatField(null=True, blank=True)
    mae_pitch = models.FloatField(null=True, blank=True)
    mae_roll = models.FloatField(null=True, blank=True)
    mae_mean = models.FloatField(null=True, blank=True, db_index=True)
    geodesic_mean = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Every scalar metric")
    details = models.JSONField(default=dict, blank=True, help_text="yaw_bins and curves")
    per_sample = models.JSONField(default=dict, blank=True, help_text="Per-sample poses and errors (lists)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the lease: bumped while a worker runs it (annotator/leases.py); the reaper re-sends stale ones
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    HEAVY_FIELDS = ("details", "per_sample", "protocol", "warnings", "missing_sample")

    class Meta:
        ordering = ["benchmark", "mae_mean"]
        verbose_name_plural = "entries"

    def __str__(self):
        return f"{self.name} on {self.benchmark}"

    @property
    def coverage(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    @property
    def is_partial(self) -> bool:
        return self.state == self.State.DONE and self.matched < self.expected

    @property
    def follows_crop(self) -> bool:
        return self.crop_used == self.benchmark.crop


class SamplePrediction(models.Model):
    """A proposer run's prediction for one benchmark sample, stored as it is
    made so a restarted run skips what is done. R is None when the model found
    no face matching the ground-truth face (a missing sample)."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="predictions")
    sample_name = models.CharField(max_length=500)
    R = models.JSONField(null=True, blank=True)
    t = models.JSONField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "sample_name"], name="unique_entry_sample")]

    def __str__(self):
        return f"{self.sample_name} of entry {self.entry_id}"
