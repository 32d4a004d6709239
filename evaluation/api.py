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
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluation import selectors, services
from evaluation.forms import CROP_CHOICES
from evaluation.models import Entry
from workers.core.predictions import PredictionFileError


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    is_public = serializers.BooleanField(required=False, default=False)
    crop_used = serializers.ChoiceField(choices=[c for c, _ in CROP_CHOICES], required=False)
    allow_unknown_ids = serializers.BooleanField(required=False, default=False)


def entry_json(entry: Entry, full: bool = False) -> dict:
    out = {
        "id": entry.pk, "url": reverse("entry_detail", args=[entry.pk]), "name": entry.name, "kind": entry.kind,
        "benchmark": entry.benchmark.name, "benchmark_version": entry.benchmark_version,
        "split_version": entry.split_version, "state": entry.state, "processed": entry.processed,
        "total": entry.total, "owner": entry.owner.get_username() if entry.owner else None,
        "is_public": entry.is_public, "is_hidden": entry.is_hidden, "is_baseline": entry.is_baseline,
        "proposer": entry.proposer or None, "proposer_version": entry.proposer_version or None,
        "crop_used": entry.crop_used, "coverage": {"matched": entry.matched, "expected": entry.expected},
        "mae_yaw": entry.mae_yaw, "mae_pitch": entry.mae_pitch, "mae_roll": entry.mae_roll,
        "mae_mean": entry.mae_mean, "geodesic_mean": entry.geodesic_mean, "message": entry.message,
        "created_at": entry.created_at,
    }
    if full:
        out.update({"metrics": entry.summary, "yaw_bins": (entry.details or {}).get("yaw_bins", []),
                    "protocol": entry.protocol, "warnings": entry.warnings, "missing_sample": entry.missing_sample})
    return out


def _problem_response(detail: str, problems: list[str]) -> Response:
    return Response({"detail": detail, "problems": problems[:10], "problem_count": len(problems)},
                    status=status.HTTP_400_BAD_REQUEST)


LIST_OF_OBJECTS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


class BenchmarkListAPI(APIView):
    @extend_schema(responses={200: LIST_OF_OBJECTS})
    def get(self, request):
        selectors.require_reader(request.user)
        return Response([
            {"id": b.pk, "name": b.name, "version": b.version, "title": b.title, "dataset": b.dataset.name,
             "split": b.split.name, "split_version": b.split.version, "max_abs_angle": b.max_abs_angle,
             "crop": b.crop, "error_definition": b.error_definition, "entries": b.n_entries,
             "url": reverse("leaderboard", args=[b.pk])}
            for b in selectors.benchmarks_overview(request.user)
        ])


class BenchmarkEntriesAPI(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: LIST_OF_OBJECTS})
    def get(self, request, pk: int):
        benchmark = selectors.get_benchmark(request.user, pk)
        return Response([entry_json(e) for e in selectors.leaderboard(request.user, benchmark)])

    @extend_schema(request=UploadSerializer, responses={201: dict, 400: dict})
    def post(self, request, pk: int):
        benchmark = selectors.get_benchmark(request.user, pk)
        payload = UploadSerializer(data=request.data)
        if not payload.is_valid():
            problems = [f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in payload.errors.items()]
            return _problem_response("invalid request: " + "; ".join(problems), problems)
        data = payload.validated_data
        f = data["file"]
        try:
            entry = services.create_upload_entry(
                benchmark=benchmark, data=services.read_prediction_upload(f), filename=f.name,
                content_type=f.content_type,
                user=request.user, name=data.get("name", ""), description=data.get("description", ""),
                is_public=data["is_public"], crop_used=data.get("crop_used", ""),
                allow_unknown_ids=data["allow_unknown_ids"],
            )
        except PredictionFileError as exc:
            return _problem_response(str(exc), exc.problems)
        except ValueError as exc:
            return _problem_response(str(exc), [str(exc)])
        return Response(entry_json(entry, full=True), status=status.HTTP_201_CREATED)


class EntryAPI(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, pk: int):
        return Response(entry_json(selectors.get_entry(request.user, pk), full=True))
