"""Serializers shared by both apps' APIs."""

from rest_framework import serializers

from annotator.common import jobs


class ProgressSerializer(serializers.Serializer):
    """What a progress bar shows of a Job or an Entry beyond its counters
    (annotator.jobs.progress): the export job and entry endpoints share it."""

    percent = serializers.IntegerField(help_text="0-100")
    is_finished = serializers.BooleanField()
    activity = serializers.CharField(
        help_text='"queued, waiting for a worker", "running (heartbeat N s ago)", '
        '"stalled (no live worker)" or the finished state'
    )
    heartbeat_age_s = serializers.SerializerMethodField()

    def get_heartbeat_age_s(self, obj) -> float | None:
        """Seconds since a worker last renewed the lease (null: never)."""

        return jobs.heartbeat_age_s(obj)
