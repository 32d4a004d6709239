"""Export endpoints.

GET  /api/v1/datasets/<id>/export/?format=&labels=&proposer=&split=
     the file, for up to HEADPOSE_EXPORT_STREAM_MAX_FACES faces (else 400 with code
     "too_large_for_streaming": use POST /api/v1/exports/)
POST /api/v1/exports/           {dataset, format, labels, proposer, split} -> 202, a job run by a worker
GET  /api/v1/exports/           the caller's export jobs
GET  /api/v1/exports/<id>/      state, progress, download_url once done
GET  /api/v1/exports/<id>/download/
"""
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import exports, jobs, stored_files
from annotator.api.pagination import IdCursorPagination
from annotator.models import Dataset, Job
from workers.core.exports import FORMATS, ExportError


def _dataset(user, dataset_id: int) -> Dataset:
    try:
        return exports.dataset_for_export(user, dataset_id)
    except Dataset.DoesNotExist:
        raise NotFound("No such dataset.") from None
    except exports.ExportDenied as exc:
        raise PermissionDenied(str(exc)) from None


def file_response(fileobj, name: str, fmt: str) -> FileResponse:
    return FileResponse(fileobj, as_attachment=True, filename=name, content_type=FORMATS[fmt].content_type)


class JobSerializer(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name")
    percent = serializers.IntegerField()
    is_finished = serializers.BooleanField()
    download_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "url", "kind", "dataset", "options", "state", "total", "processed", "percent", "is_finished",
                  "errors", "result", "download_url", "created_at", "started_at", "finished_at"]

    def get_download_url(self, job) -> str | None:
        return reverse("api-export-download", args=[job.pk]) if job.state == Job.State.DONE and job.result_file else None

    def get_url(self, job) -> str:
        return reverse("api-export", args=[job.pk])

    def to_representation(self, job):
        return {**super().to_representation(job), **jobs.progress(job)}  # what the export job page polls


class ExportCreateSerializer(exports.ExportRequest):
    dataset = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class DatasetExportAPI(APIView):
    @extend_schema(
        parameters=[exports.ExportRequest],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                   400: OpenApiResponse(description="Bad option, or too large to stream (code too_large_for_streaming)"),
                   401: OpenApiResponse(description="No credentials"), 403: OpenApiResponse(description="Not allowed"),
                   404: OpenApiResponse(description="No such dataset")})
    def get(self, request, pk: int):
        dataset = _dataset(request.user, pk)
        body = exports.ExportRequest(data=request.query_params.dict())
        body.is_valid(raise_exception=True)
        options = body.validated_data
        small, n = exports.fits_in_request(dataset, options)
        if not small:
            return Response({"detail": f"{n} faces: more than the {exports.stream_limit()} answered directly; "
                                       "POST /api/v1/exports/ to run this export as a job.",
                             "code": "too_large_for_streaming", "faces": n, "limit": exports.stream_limit()},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            tmp, _ = exports.export_to_temp(dataset, options)
        except ExportError as exc:
            return Response({"detail": f"The export cannot be written: {exc}", "code": "export_error"},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return file_response(tmp, exports.file_name(dataset, options), options["format"])


class NewestFirst(IdCursorPagination):
    ordering = "-id"


class ExportJobListAPI(generics.ListAPIView):
    serializer_class = JobSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return exports.export_jobs_of(self.request.user)

    @extend_schema(request=ExportCreateSerializer, responses={202: JobSerializer, 400: OpenApiResponse(
        description="Invalid options"), 403: OpenApiResponse(description="Not allowed")})
    def post(self, request):
        body = ExportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        options = dict(body.validated_data)
        try:
            dataset = exports.dataset_for_export(request.user, options.pop("dataset"))
        except Dataset.DoesNotExist:
            raise serializers.ValidationError({"dataset": ["No such dataset."]}) from None
        except exports.ExportDenied as exc:
            raise PermissionDenied(str(exc)) from None
        job = exports.create_export_job(user=request.user, dataset=dataset, options=options)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _job(user, pk) -> Job:
    try:
        return exports.job_for_download(user, pk)
    except Job.DoesNotExist:
        raise Http404("No such export.") from None


class ExportJobAPI(APIView):
    @extend_schema(responses={200: JobSerializer, 404: OpenApiResponse(description="No such export")})
    def get(self, request, pk: int):
        return Response(JobSerializer(_job(request.user, pk)).data)


class ExportDownloadAPI(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              404: OpenApiResponse(description="No such export"),
                              409: OpenApiResponse(description="Not finished yet")})
    def get(self, request, pk: int):
        job = _job(request.user, pk)
        if job.state != Job.State.DONE or not job.result_file:
            return Response({"detail": f"The export is {job.get_state_display()}; no file yet.", "state": job.state},
                            status=status.HTTP_409_CONFLICT)
        fmt = FORMATS.get(job.options.get("format", "json"))
        return stored_files.file_response(job.result_file, filename=job.source or None, as_attachment=True,
                                          content_type=fmt.content_type if fmt else None, cache_control="private")
