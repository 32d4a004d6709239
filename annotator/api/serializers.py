"""Payload validation for the labeling endpoints: a bad payload is a 400 with
field errors, never a 500."""
from rest_framework import serializers

from annotator.models import AnnotationStatus, FlagReason
from annotator.poses import PoseError, clean_rotation, clean_translation
from annotator.services import ANNOTATOR_STATUSES

MAX_NOTE = 2000


class NumberField(serializers.FloatField):
    """A JSON number, nothing else: FloatField would take True as 1.0 and "1" as 1.0,
    and answer 500 for an integer too large for a float."""

    default_error_messages = {"not_a_number": "A number is required, not {kind}.",
                              "too_large": "This number is too large."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("not_a_number", kind=type(data).__name__)
        try:
            float(data)
        except OverflowError:
            self.fail("too_large")
        return super().to_internal_value(data)


class SaveLabelSerializer(serializers.Serializer):
    R = serializers.ListField(child=NumberField(), min_length=9, max_length=9,
                              help_text="Rotation head->camera (OpenCV), 9 floats row-major")
    t = serializers.ListField(child=NumberField(), min_length=3, max_length=3, allow_null=True,
                              required=False, default=None, help_text="Translation, mm, camera frame")
    status = serializers.ChoiceField(choices=sorted(str(s) for s in ANNOTATOR_STATUSES))
    expected_version = serializers.IntegerField(min_value=0, help_text="The version edited; 0 for a new label")
    time_spent_s = NumberField(min_value=0, max_value=86400, required=False, default=0.0)
    flag_reason = serializers.ChoiceField(choices=FlagReason.values, required=False, allow_blank=True, default="")
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
