"""Stored files (images, face meshes, exports, uploaded predictions): where they
are named and how an allowed request gets one.

There is no public URL for MEDIA_ROOT. A view decides who may have a file (the
rules are annotator/common/access.py) and then calls `file_response`; a file
written for the request itself (a small export) goes out through `export_response`. On the local
file system (FileSystemStorage) it streams the file (Django) or, behind a front
proxy, hands it over with X-Accel-Redirect (nginx `internal` location) or
X-Sendfile (Apache), selected by HEADPOSE_FILE_SERVING. On object storage (S3)
it redirects to a presigned URL that expires after AWS_QUERYSTRING_EXPIRE
seconds: the bytes never pass through the web process, and a leaked URL dies
quickly."""

from __future__ import annotations

import mimetypes
import secrets
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from workers.core.exports import FORMATS


def _unguessable(folder: str, filename: str) -> str:
    # The token keeps a file's path secret even where it leaks (a proxy log, a
    # backup listing): knowing the dataset and the format is not enough.
    return f"{folder}/{secrets.token_urlsafe(18)}/{filename}"


def export_file_path(instance, filename: str) -> str:
    return _unguessable("exports", filename)


def prediction_file_path(instance, filename: str) -> str:
    return _unguessable("predictions", filename)


def file_response(
    field_file,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    as_attachment: bool = False,
    cache_control: str = "private, max-age=3600",
) -> HttpResponse:
    """The stored file of a FieldFile for a request a view has already allowed.
    A row whose file is gone answers 404, never a 500."""
    if not field_file or not field_file.storage.exists(field_file.name):
        raise Http404("The file is missing.")
    name = filename or field_file.name.rsplit("/", 1)[-1]
    mode = settings.HEADPOSE_FILE_SERVING
    if not isinstance(field_file.storage, FileSystemStorage):
        return _presigned_redirect(field_file, name, content_type, as_attachment)
    if mode == "django":
        response = FileResponse(
            field_file.open("rb"), as_attachment=as_attachment, filename=name, content_type=content_type
        )
    else:
        # the proxy keeps these headers of ours when it sends the file
        response = HttpResponse(
            content_type=content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        if mode == "x-accel-redirect":
            response["X-Accel-Redirect"] = settings.HEADPOSE_X_ACCEL_PREFIX.rstrip("/") + "/" + quote(field_file.name)
        else:
            response["X-Sendfile"] = field_file.path
        response["Content-Disposition"] = content_disposition_header(as_attachment, name)
    response["Cache-Control"] = cache_control
    return response


def _presigned_redirect(field_file, name: str, content_type: str | None, as_attachment: bool) -> HttpResponse:
    # The object store names the download and its type, as Django would have.
    parameters = {
        "ResponseContentDisposition": content_disposition_header(as_attachment, name),
        "ResponseContentType": content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
    }
    response = HttpResponseRedirect(field_file.storage.url(field_file.name, parameters=parameters))
    # the URL expires: a cached redirect would outlive it
    response["Cache-Control"] = "private, no-store"
    return response


def export_response(fileobj, name: str, fmt: str, written=None) -> FileResponse:
    """An export written for this request (an open temporary file), as an attachment;
    `written` (exports.services.Written) names the faces it skipped, if any."""
    response = FileResponse(fileobj, as_attachment=True, filename=name, content_type=FORMATS[fmt].content_type)
    if written is not None and written.skipped:
        response["X-Skipped-Faces"] = written.skipped_header()
    return response
