"""Query-string filters of the v1 list endpoints, validated like request
bodies: a bad value is a 400 naming the parameter, never a 500 or an ignored
filter."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from annotator.labeling.models import DEPRECATED_REVIEW_STATES, AnnotationOrigin, AnnotationStatus, ReviewState
from workers.core.label_rows import deprecated_source

# origin's pre-rename name "source" and its values (dataset = ground_truth), still accepted
DEPRECATED_SOURCE_VALUES = {
    **{deprecated_source(o): o for o in AnnotationOrigin.values},
    **{o: o for o in AnnotationOrigin.values},
}
MAX_ID = 2**31 - 1  # ids are 32-bit in PostgreSQL; larger values are a 400, not a database error


class ListFilters(serializers.Serializer):
    dataset = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Dataset id")
    split = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Split id (its images only)"
    )


class ImageFilters(ListFilters):
    sequence = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Sequence id (its frames only)"
    )


class FaceFilters(ListFilters):
    image = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class ProposalFilters(FaceFilters):
    face = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    proposer = serializers.CharField(required=False, max_length=100)
    created_since = serializers.DateTimeField(required=False, help_text="ISO 8601, inclusive")


class AnnotationFilters(ProposalFilters):
    proposer = serializers.CharField(
        required=False, max_length=100, help_text="Annotations that started from this proposer's proposal"
    )
    status = serializers.MultipleChoiceField(
        choices=AnnotationStatus.values, required=False, help_text="One or more (repeat the parameter)"
    )
    origin = serializers.ChoiceField(
        choices=AnnotationOrigin.values,
        required=False,
        help_text="Who made the label: ground_truth (the dataset's) or annotator",
    )
    source = serializers.ChoiceField(
        choices=DEPRECATED_SOURCE_VALUES,
        required=False,
        help_text="Deprecated: use origin (source=dataset is origin=ground_truth)",
    )
    author = serializers.CharField(required=False, max_length=150, help_text="Username")
    review_state = serializers.ChoiceField(
        choices=[v or "pending" for v in ReviewState.values] + list(DEPRECATED_REVIEW_STATES),
        required=False,
        help_text="pending, approved, rejected or amended (corrected: deprecated, amended's old name)",
    )
    updated_since = serializers.DateTimeField(required=False, help_text="ISO 8601, inclusive")
    created_since = None
    DEPRECATED = ("source",)

    def validate(self, data):
        if "review_state" in data:
            data["review_state"] = DEPRECATED_REVIEW_STATES.get(data["review_state"], data["review_state"])
        if "source" in data:
            origin = DEPRECATED_SOURCE_VALUES[data.pop("source")]
            if data.setdefault("origin", origin) != origin:
                raise serializers.ValidationError(
                    {"source": "Contradicts origin (source is origin's deprecated name)."}
                )
        return data


def parse(filter_class, request) -> dict:
    data = {}
    for name, field in filter_class().fields.items():
        if name not in request.query_params:
            continue
        data[name] = (
            request.query_params.getlist(name)
            if isinstance(field, serializers.MultipleChoiceField)
            else request.query_params.get(name)
        )
    f = filter_class(data=data)
    f.is_valid(raise_exception=True)
    return f.validated_data


def parameters(filter_class) -> list[OpenApiParameter]:
    """The filters as OpenAPI query parameters (for the schema and the docs page)."""
    types = {serializers.IntegerField: int}
    deprecated = getattr(filter_class, "DEPRECATED", ())
    out = []
    for name, field in filter_class().fields.items():
        common = {"description": field.help_text or "", "deprecated": name in deprecated}
        if isinstance(field, serializers.MultipleChoiceField):
            out.append(OpenApiParameter(name, str, many=True, enum=sorted(field.choices), **common))
        elif isinstance(field, serializers.ChoiceField):
            out.append(OpenApiParameter(name, str, enum=list(field.choices), **common))
        elif isinstance(field, serializers.DateTimeField):
            out.append(OpenApiParameter(name, OpenApiTypes.DATETIME, **common))
        else:
            out.append(OpenApiParameter(name, types.get(type(field), str), **common))
    return out
