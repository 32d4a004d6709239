"""Export endpoints.

GET  /api/v1/datasets/<id>/export/?format=&labels=&proposer=&split=&skip_invalid=&landmarks=
     the file, for up to HEADPOSE_EXPORT_STREAM_MAX_FACES faces (else 400 with code
     "too_large_for_streaming": use POST /api/v1/exports/); faces whose stored pose
     cannot be written: 422 code "invalid_faces" listing them all, or with
     skip_invalid=1 the rest and an X-Skipped-Faces header
POST /api/v1/exports/           {dataset, format, labels, proposer, split, landmarks} -> 202, a job run by a worker
GET  /api/v1/exports/           the caller's export jobs
GET  /api/v1/exports/<id>/      state, progress, download_url once done
GET  /api/v1/exports/<id>/download/
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.common import files as stored_files
from annotator.common import jobs
from annotator.common.errors import (
    ApiError,
    ErrorSerializer,
    NotFinishedErrorSerializer,
    ValidationErrorSerializer,
    error_responses,
    register_error,
)
from annotator.common.models import Job
from annotator.common.pagination import IdCursorPagination
from annotator.common.serializers import ProgressSerializer
from annotator.datasets.models import Dataset
from annotator.exports import services as exports
from workers.core.exports import FORMATS, ExportError, InvalidRowsError

register_error(ExportError, status.HTTP_422_UNPROCESSABLE_ENTITY, "export_error")


class ExportOptionsSerializer(serializers.Serializer):
    format = serializers.CharField()
    labels = serializers.CharField()
    proposer = serializers.CharField(required=False, allow_blank=True)
    split = serializers.IntegerField(required=False, allow_null=True)
    skip_invalid = serializers.BooleanField(required=False)
    landmarks = serializers.CharField(required=False, help_text="none, 2d or full (json, jsonl, coco)")


class JobErrorSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file or face the error is about (may be empty)")
    message = serializers.CharField()
    face_id = serializers.IntegerField(required=False, help_text="The face, for a face that cannot be written")


@extend_schema_serializer(deprecate_fields=["source", "source_detail"])
class InvalidFaceSerializer(serializers.Serializer):
    """A face whose stored pose cannot be written (workers.core.label_rows.InvalidRow)."""

    image = serializers.CharField()
    face_index = serializers.IntegerField()
    face_id = serializers.IntegerField(allow_null=True)
    origin = serializers.CharField(help_text="ground_truth, annotator or proposal")
    origin_detail = serializers.CharField(allow_blank=True)
    source = serializers.CharField(required=False, help_text="Deprecated: origin's old name and value")
    source_detail = serializers.CharField(allow_blank=True, required=False, help_text="Deprecated: origin_detail")
    reason = serializers.CharField()


class ExportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField(required=False)
    format = serializers.CharField(required=False)
    labels = serializers.CharField(required=False)
    bytes = serializers.IntegerField(required=False)
    skipped = InvalidFaceSerializer(many=True, required=False, help_text="Faces left out (skip_invalid)")
    invalid_faces = serializers.IntegerField(required=False, help_text="Faces that stopped the export (failed job)")
    hint = serializers.CharField(required=False)
    file_name = serializers.CharField(required=False, help_text="The download's file name")


class JobSerializer(ProgressSerializer, serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name")
    options = ExportOptionsSerializer(help_text="What was asked for")
    errors = JobErrorSerializer(many=True)
    result = ExportResultSerializer(help_text="Once done: rows, format, labels, bytes (empty before)")
    download_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "dataset",
            "options",
            "state",
            "total",
            "processed",
            "percent",
            "is_finished",
            "activity",
            "heartbeat_age_s",
            "errors",
            "result",
            "download_url",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_download_url(self, job) -> str | None:
        return (
            reverse("api-export-download", args=[job.pk]) if job.state == Job.State.DONE and job.result_file else None
        )

    def get_url(self, job) -> str:
        return reverse("api-export", args=[job.pk])

    def to_representation(self, job):
        return {**super().to_representation(job), **jobs.progress(job)}  # what the export job page polls


class TooLargeForStreamingErrorSerializer(ValidationErrorSerializer):
    faces = serializers.IntegerField(required=False, help_text="Faces the export would have")
    limit = serializers.IntegerField(required=False, help_text="HEADPOSE_EXPORT_STREAM_MAX_FACES")


class ExportCreateSerializer(exports.ExportRequest):
    dataset = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class DatasetExportAPI(APIView):
    @extend_schema(
        parameters=[exports.ExportRequest],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_responses(401, 403, 404),
            400: OpenApiResponse(
                TooLargeForStreamingErrorSerializer,
                description=(
                    "Bad option ({option: [messages]}), or too large to stream (code too_large_for_streaming)"
                ),
            ),
            422: OpenApiResponse(ErrorSerializer, description="A stored label cannot be written"),
        },
    )
    def get(self, request, pk: int):
        dataset = exports.dataset_for_export(request.user, pk)
        body = exports.ExportRequest(data=request.query_params.dict())
        body.is_valid(raise_exception=True)
        options = body.validated_data
        small, n = exports.fits_in_request(dataset, options)
        if not small:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                f"{n} faces: more than the {exports.stream_limit()} answered directly; "
                "POST /api/v1/exports/ to run this export as a job.",
                "too_large_for_streaming",
                faces=n,
                limit=exports.stream_limit(),
            )
        try:
            tmp, written = exports.export_to_temp(dataset, options)
        except InvalidRowsError as exc:
            raise ApiError(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"The export cannot be written: {exc}",
                "invalid_faces",
                invalid_faces=[r.to_dict() for r in exc.invalid],
            ) from None
        return stored_files.export_response(tmp, exports.file_name(dataset, options), options["format"], written)


class NewestFirst(IdCursorPagination):
    ordering = "-id"


class ExportJobListAPI(generics.ListAPIView):
    serializer_class = JobSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return exports.export_jobs_of(self.request.user)

    @extend_schema(
        request=ExportCreateSerializer, responses={202: JobSerializer, **error_responses(400, 401, 403, 413)}
    )
    def post(self, request):
        body = ExportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        options = dict(body.validated_data)
        try:
            dataset = exports.dataset_for_export(request.user, options.pop("dataset"))
        except Dataset.DoesNotExist:  # a body field naming nothing: invalid input
            raise serializers.ValidationError({"dataset": ["No such dataset."]}) from None
        job = exports.create_export_job(user=request.user, dataset=dataset, options=options)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportJobAPI(APIView):
    @extend_schema(responses={200: JobSerializer, **error_responses(401, 404)})
    def get(self, request, pk: int):
        return Response(JobSerializer(exports.job_for_download(request.user, pk)).data)


class ExportDownloadAPI(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_responses(401, 404),
            409: OpenApiResponse(NotFinishedErrorSerializer, description="Not finished yet"),
        }
    )
    def get(self, request, pk: int):
        job = exports.job_for_download(request.user, pk)
        if job.state != Job.State.DONE or not job.result_file:
            raise ApiError(
                status.HTTP_409_CONFLICT,
                f"The export is {job.get_state_display()}; no file yet.",
                "not_finished",
                state=job.state,
            )
        fmt = FORMATS.get(job.options.get("format", "json"))
        return stored_files.file_response(
            job.result_file,
            filename=exports.download_name(job),
            as_attachment=True,
            content_type=fmt.content_type if fmt else None,
            cache_control="private",
        )
