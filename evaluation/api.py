"""Benchmark API (session or token auth; researchers and admins).

GET  /benchmarks/api/v1/benchmarks/                the latest version of each benchmark
GET  /benchmarks/api/v1/benchmarks/<id>/entries/   visible entries with their headline metrics
POST /benchmarks/api/v1/benchmarks/<id>/entries/   multipart: file (CSV/JSON), name, description,
                                                   is_public, crop_used, allow_unknown_ids
                                                   -> 201 the entry with every metric; 400 with
                                                   {"detail", "problems" (first 10), "problem_count"}
GET  /benchmarks/api/v1/entries/<id>/              one entry (progress of a proposer run, metrics)
"""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common.errors import ValidationErrorSerializer, error_responses, register_error
from annotator.common.fields import ProposerRunField, StringsField
from annotator.common.serializers import ProgressSerializer
from evaluation import errors, selectors, uploads
from evaluation.forms import CROP_CHOICES
from workers.core.geometry import GeometryInputError
from workers.core.metrics import MetricsError
from workers.core.predictions import PredictionFileError


def _problems(exc) -> dict:
    problems = getattr(exc, "problems", None) or [str(exc)]
    return {"problems": problems[:10], "problem_count": len(problems)}


# A prediction file or request that cannot be evaluated: 400 listing the first problems.
for _error in (PredictionFileError, errors.EvaluationRequestError, MetricsError, GeometryInputError):
    register_error(_error, status.HTTP_400_BAD_REQUEST, "invalid", _problems)


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # the parser says what is wrong with it, as with any file
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    is_public = serializers.BooleanField(required=False, default=False)
    crop_used = serializers.ChoiceField(choices=[c for c, _ in CROP_CHOICES], required=False)
    allow_unknown_ids = serializers.BooleanField(required=False, default=False)


class UploadErrorSerializer(ValidationErrorSerializer):
    problems = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The first problems of the file"
    )
    problem_count = serializers.IntegerField(required=False, help_text="How many problems in all")


class BenchmarkSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    dataset = serializers.CharField(source="dataset.name")
    split = serializers.CharField(source="split.name")
    split_version = serializers.IntegerField(source="split.version")
    max_abs_angle = serializers.FloatField(allow_null=True)
    crop = serializers.CharField()
    error_definition = serializers.CharField()
    entries = serializers.IntegerField(source="n_entries", help_text="Finished entries you see")
    url = serializers.SerializerMethodField()

    def get_url(self, benchmark) -> str:
        return reverse("leaderboard", args=[benchmark.pk])


class CoverageSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="Benchmark samples with a prediction")
    expected = serializers.IntegerField(help_text="Benchmark samples")


class ProtocolSerializer(serializers.Serializer):
    benchmark = serializers.CharField()
    benchmark_version = serializers.IntegerField()
    dataset = serializers.CharField()
    split = serializers.CharField()
    split_version = serializers.IntegerField()
    max_abs_angle = serializers.FloatField(allow_null=True)
    crop = serializers.CharField()
    error_definition = serializers.CharField()
    samples = serializers.IntegerField()


@extend_schema_field(
    {
        "type": "object",
        "description": "Every metric by name: numbers, a few words (the error definition), and "
        "counts by name (coverage: matched, expected, missing, fraction; missing_reasons)",
        "additionalProperties": {
            "oneOf": [
                {"type": "number"},
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "number"}},
            ],
            "nullable": True,
        },
    }
)
class MetricsField(serializers.JSONField):
    pass


class ErrorFiguresSerializer(serializers.Serializer):
    """Mean absolute errors in degrees (null when there is nothing to average)."""

    mae_yaw = serializers.FloatField(allow_null=True)
    mae_pitch = serializers.FloatField(allow_null=True)
    mae_roll = serializers.FloatField(allow_null=True)
    mae_mean = serializers.FloatField(allow_null=True)
    geodesic_mean = serializers.FloatField(allow_null=True)


class EntrySerializer(ProgressSerializer, ErrorFiguresSerializer):
    id = serializers.IntegerField(source="pk")
    url = serializers.SerializerMethodField()
    name = serializers.CharField()
    kind = serializers.CharField()
    benchmark = serializers.CharField(source="benchmark.name")
    benchmark_version = serializers.IntegerField()
    split_version = serializers.IntegerField()
    state = serializers.CharField()
    processed = serializers.IntegerField()
    total = serializers.IntegerField()
    owner = serializers.SerializerMethodField()
    is_public = serializers.BooleanField()
    is_hidden = serializers.BooleanField()
    is_baseline = serializers.BooleanField()
    proposer = serializers.SerializerMethodField()
    proposer_version = serializers.SerializerMethodField()
    crop_used = serializers.CharField()
    coverage = serializers.SerializerMethodField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_url(self, entry) -> str:
        return reverse("entry_detail", args=[entry.pk])

    def get_owner(self, entry) -> str | None:
        return entry.owner.get_username() if entry.owner else None

    def get_proposer(self, entry) -> str | None:
        return entry.proposer or None

    def get_proposer_version(self, entry) -> str | None:
        return entry.proposer_version or None

    @extend_schema_field(CoverageSerializer)
    def get_coverage(self, entry):
        return {"matched": entry.matched, "expected": entry.expected}


class YawBinSerializer(ErrorFiguresSerializer):
    label = serializers.CharField()
    lo = serializers.FloatField()
    hi = serializers.FloatField(allow_null=True, help_text="null: the last, open bin")
    count = serializers.IntegerField()


class EntryDetailSerializer(EntrySerializer):
    metrics = MetricsField(source="summary")
    yaw_bins = serializers.SerializerMethodField()
    protocol = serializers.SerializerMethodField()
    warnings = StringsField()
    missing_sample = StringsField(help_text="The first benchmark samples without a prediction")
    proposer_provenance = ProposerRunField(read_only=True)

    @extend_schema_field(YawBinSerializer(many=True))
    def get_yaw_bins(self, entry):
        return (entry.details or {}).get("yaw_bins", [])

    @extend_schema_field(ProtocolSerializer(allow_null=True))
    def get_protocol(self, entry):
        # Entries record their benchmark's protocol when created; a row without
        # one (made by hand) reads as null rather than failing the whole entry.
        return ProtocolSerializer(entry.protocol).data if entry.protocol else None


class BenchmarkListAPI(APIView):
    @extend_schema(responses={200: BenchmarkSerializer(many=True), **error_responses(401, 403)})
    def get(self, request):
        selectors.require_reader(request.user)
        return Response(BenchmarkSerializer(selectors.benchmarks_overview(request.user), many=True).data)


class BenchmarkEntriesAPI(APIView):
    parser_classes = [MultiPartParser, FormParser]
    body_limit_setting = "HEADPOSE_MAX_PREDICTION_BYTES"  # annotator/common/body_limits.py

    @extend_schema(responses={200: EntrySerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, pk: int):
        benchmark = selectors.get_benchmark(request.user, pk)
        return Response(EntrySerializer(selectors.leaderboard(request.user, benchmark), many=True).data)

    @extend_schema(
        request=UploadSerializer,
        responses={
            201: EntryDetailSerializer,
            **error_responses(401, 403, 404),
            400: OpenApiResponse(UploadErrorSerializer, description="A bad request or file: the first problems"),
        },
    )
    def post(self, request, pk: int):
        benchmark = selectors.get_benchmark(request.user, pk)
        payload = UploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        f = data["file"]
        entry = uploads.create_upload_entry(
            benchmark=benchmark,
            data=uploads.read_prediction_upload(f),
            filename=f.name,
            content_type=f.content_type,
            user=request.user,
            name=data.get("name", ""),
            description=data.get("description", ""),
            is_public=data["is_public"],
            crop_used=data.get("crop_used", ""),
            allow_unknown_ids=data["allow_unknown_ids"],
        )
        return Response(EntryDetailSerializer(entry).data, status=status.HTTP_201_CREATED)


class EntryAPI(APIView):
    @extend_schema(responses={200: EntryDetailSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk: int):
        return Response(EntryDetailSerializer(selectors.get_entry(request.user, pk)).data)
