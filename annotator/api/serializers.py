"""Payload validation for the labeling endpoints: a bad payload is a 400 with
field errors, never a 500."""
from rest_framework import serializers

from annotator.models import AnnotationStatus, FlagReason
from annotator.poses import PoseError, clean_rotation, clean_translation
from annotator.services import ANNOTATOR_STATUSES

MAX_NOTE = 2000


class SaveLabelSerializer(serializers.Serializer):
    R = serializers.ListField(child=serializers.FloatField(), min_length=9, max_length=9,
                              help_text="Rotation head->camera (OpenCV), 9 floats row-major")
    t = serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3, allow_null=True,
                              required=False, default=None, help_text="Translation, mm, camera frame")
    status = serializers.ChoiceField(choices=sorted(str(s) for s in ANNOTATOR_STATUSES))
    expected_version = serializers.IntegerField(min_value=0, help_text="The version edited; 0 for a new label")
    time_spent_s = serializers.FloatField(min_value=0, max_value=86400, required=False, default=0.0)
    flag_reason = serializers.ChoiceField(choices=FlagReason.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")
    proposal_id = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate_R(self, value):
        try:
            return clean_rotation(value)
        except PoseError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_t(self, value):
        try:
            return clean_translation(value)
        except PoseError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs):
        if attrs["status"] == AnnotationStatus.FLAGGED and not attrs.get("flag_reason"):
            raise serializers.ValidationError({"flag_reason": f"A flag needs a reason: one of {FlagReason.values}."})
        return attrs


class SavedLabelSerializer(serializers.Serializer):
    face_id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    R = serializers.ListField(child=serializers.FloatField())
    t = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    total_time_s = serializers.FloatField()
    updated_at = serializers.DateTimeField()


class NextFaceSerializer(serializers.Serializer):
    skip_face_id = serializers.IntegerField(required=False, allow_null=True, default=None)
