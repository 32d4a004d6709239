"""Export endpoints.

GET  /api/v1/datasets/<id>/export/?format=&labels=&proposer=&split=&skip_invalid=
     the file, for up to HEADPOSE_EXPORT_STREAM_MAX_FACES faces (else 400 with code
     "too_large_for_streaming": use POST /api/v1/exports/); faces whose stored pose
     cannot be written: 422 code "invalid_faces" listing them all, or with
     skip_invalid=1 the rest and an X-Skipped-Faces header
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

from annotator import exports
from annotator.api.pagination import IdCursorPagination
from annotator.models import Dataset, Job
from workers.core.exports import FORMATS, ExportError, InvalidRowsError


def _dataset(user, dataset_id: int) -> Dataset:
    try:
        return exports.dataset_for_export(user, dataset_id)
    except Dataset.DoesNotExist:
        raise NotFound("No such dataset.") from None
    except exports.ExportDenied as exc:
        raise PermissionDenied(str(exc)) from None


def file_response(fileobj, name: str, fmt: str, written: exports.Written | None = None) -> FileResponse:
    response = FileResponse(fileobj, as_attachment=True, filename=name, content_type=FORMATS[fmt].content_type)
    if written is not None and written.skipped:
        response["X-Skipped-Faces"] = written.skipped_header()
    return response


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
            tmp, written = exports.export_to_temp(dataset, options)
        except InvalidRowsError as exc:
            return Response({"detail": f"The export cannot be written: {exc}", "code": "invalid_faces",
                             "invalid_faces": [r.to_dict() for r in exc.invalid]},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except ExportError as exc:
            return Response({"detail": f"The export cannot be written: {exc}", "code": "export_error"},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return file_response(tmp, exports.file_name(dataset, options), options["format"], written)


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
        return file_response(job.result_file.open("rb"), job.source or job.result_file.name.rsplit("/", 1)[-1],
                             job.options.get("format", "json"))
