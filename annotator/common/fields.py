"""Typed JSON fields of the API: values stored as JSON (poses, K, boxes,
landmarks, job options) passed through as they are, with their OpenAPI type
declared, so no response in the schema is an untyped object and no list of
numbers is walked element by element on every row."""

from typing import Any

import numpy as np
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.common.poses import PoseError, clean_rotation
from workers.core import bounded_numbers, geometry

NUMBER = {"type": "number"}


def numbers(n: int | None = None, **extra) -> dict:
    sized = {"minItems": n, "maxItems": n} if n is not None else {}
    return {"type": "array", "items": NUMBER, **sized, **extra}


def typed_json(schema: dict, name: str) -> type:
    """A JSONField subclass whose OpenAPI schema is `schema`."""
    return extend_schema_field(schema)(type(name, (serializers.JSONField,), {}))


RotationField = typed_json(
    numbers(9, description="Rotation head->camera (OpenCV frame), 3x3 row-major"), "RotationField"
)


class NumberField(serializers.FloatField):
    """A JSON number, nothing else: FloatField would take True as 1.0 and "1" as 1.0,
    and answer 500 for an integer too large for a float."""

    default_error_messages = {
        "not_a_number": "A number is required, not {kind}.",
        "too_large": "This number is too large.",
    }

    def to_internal_value(self, data):
        if not bounded_numbers.is_number(data):
            self.fail("not_a_number", kind=type(data).__name__)
        try:  # NaN and infinities: FloatField's own message
            bounded_numbers.real(data, self.field_name, finite=False)
        except bounded_numbers.NumberError:
            self.fail("too_large")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [numbers(9), {"type": "array", "items": numbers(3), "minItems": 3, "maxItems": 3}],
        "description": "Rotation head->camera (OpenCV frame): 9 numbers row-major, or 3 rows of 3",
    }
)
class RotationInputField(serializers.Field):
    """R as a client sends it: 9 numbers or 3 rows of 3 (DATA.md's pose rules),
    each a NumberField (errors name the item), then checked by
    annotator/common/poses.py; returned as 9 floats."""

    def to_internal_value(self, data):
        if isinstance(data, list) and any(isinstance(row, list) for row in data):
            if len(data) != 3 or not all(isinstance(row, list) and len(row) == 3 for row in data):
                raise serializers.ValidationError("R must be 9 numbers, or 3 rows of 3 numbers.")
            data = [v for row in data for v in row]
        values = serializers.ListField(child=NumberField(), min_length=9, max_length=9).run_validation(data)
        try:
            return clean_rotation(values)
        except PoseError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value


TranslationField = typed_json(
    numbers(3, nullable=True, description=("Translation of the head origin, camera frame, mm (null when unknown)")),
    "TranslationField",
)
IntrinsicsField = typed_json(numbers(9, description="Camera intrinsics K, 3x3 row-major, pixels"), "IntrinsicsField")
BoxField = typed_json(numbers(4, description="[x0, y0, x1, y1] pixels"), "BoxField")
Landmarks2DField = typed_json(
    {"type": "array", "items": numbers(2), "nullable": True, "description": "[[x, y], ...] pixels"}, "Landmarks2DField"
)
Landmarks3DField = typed_json(
    {"type": "array", "items": numbers(3), "nullable": True, "description": "[[X, Y, Z], ...] camera frame, mm"},
    "Landmarks3DField",
)
StringsField = typed_json({"type": "array", "items": {"type": "string"}}, "StringsField")
_MEMBER: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "weights_sha256": {"type": "string"}},
}
ProposerRunField = typed_json(
    {
        "type": "object",
        "description": "What a leaderboard run of a proposer was: its name, version and weights "
        "sha256, and for 'fused' every member with its own; {} for uploads",
        "properties": {**_MEMBER["properties"], "members": {"type": "array", "items": _MEMBER}},
    },
    "ProposerRunField",
)
ProvenanceField = typed_json(
    {
        "type": "object",
        "description": "What made a proposal: for 'fused', every member run (name, version, "
        "weights sha256), those kept and dropped for this face; for a landmark "
        "fit, its FaceMesh readings and how far apart their poses are; both: the "
        "face's regime (frontal, pitched, turned, profile) and the expected error "
        "behind the confidence; {} for others",
        "properties": {
            "members": {"type": "array", "items": _MEMBER},
            "kept": {"type": "array", "items": {"type": "string"}},
            "dropped": {"type": "array", "items": {"type": "string"}},
            "spread_deg": NUMBER,
            "expected_error_deg": NUMBER,
            "regime": {"type": "string", "enum": ["frontal", "pitched", "turned", "profile"]},
            "twin_deg": {**NUMBER, "nullable": True},
            "readings": {"type": "integer"},
        },
    },
    "ProvenanceField",
)


@extend_schema_field(
    {
        "type": "object",
        "properties": dict.fromkeys(("yaw", "pitch", "roll"), NUMBER),
        "required": ["yaw", "pitch", "roll"],
        "description": "Degrees, AFLW2000 convention (POSE_CONVENTIONS.md)",
    }
)
class EulerField(serializers.Field):
    def to_representation(self, R):
        return euler_of(R)


def euler_of(R) -> dict:
    """{yaw, pitch, roll} degrees of a stored rotation (9 floats)."""
    yaw, pitch, roll = geometry.matrix_to_euler(np.asarray(R, dtype=np.float64).reshape(3, 3)).tolist()
    return {"yaw": yaw, "pitch": pitch, "roll": roll}
