from django.db import models

from annotator.datasets.models import Dataset


class Sequence(models.Model):
    """An ordered run of frames (a video, a folder of frames, a BIWI `NN` folder);
    its frames are Images with a frame_index and a timestamp."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=200)
    fps = models.FloatField(help_text="Frames per second of the frames kept")
    frame_count = models.PositiveIntegerField(default=0)
    input_name = models.CharField(max_length=1000, blank=True, help_text="The video file or folder it was read from")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="unique_sequence_name")]

    def __str__(self):
        return f"{self.dataset.name}/{self.name}"


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

    def __str__(self):
        return f"{self.sequence} track {self.index} ({self.proposer})"
