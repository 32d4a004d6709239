"""Request bodies are capped per endpoint before a byte of them is read.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count files and
FILE_UPLOAD_MAX_MEMORY_SIZE only moves a large file from memory to a temporary
file on disk: without this a 300 MB multipart body to any endpoint was spooled
to disk before the view refused it. RequestBodyLimitMiddleware (before CSRF,
sessions and every other reader of request.POST) refuses, from the
Content-Length alone:

- a body larger than its endpoint's cap: 413;
- a chunked body that announces no Content-Length: 411 (Django would read it
  as empty anyway; refusing says so).

An endpoint names its cap with `@body_limit("SETTING")` (a view function) or
`body_limit_setting = "SETTING"` (a class-based view): the setting's value in
bytes plus MULTIPART_OVERHEAD for the form's other fields and part headers.
Every other endpoint gets HEADPOSE_MAX_BODY_BYTES. The JSON parser keeps its
own, smaller, cap (HEADPOSE_MAX_JSON_BYTES, annotator/common/parsers.py).

The refusal is the API's error shape under /api/ ({detail, code: "too_large"
or "length_required"}), a short page elsewhere."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from annotator.common.parsers import declared_length

security_log = logging.getLogger("headpose.security")

# A multipart body holds the file and a few small fields with their part headers.
MULTIPART_OVERHEAD = 64 * 1024
DEFAULT_SETTING = "HEADPOSE_MAX_BODY_BYTES"


def body_limit(setting: str):
    """Give a view function its own cap: `setting` bytes (plus MULTIPART_OVERHEAD)."""

    def decorate(view):
        view.body_limit_setting = setting
        return view

    return decorate


def limit_for(view_func) -> tuple[int, str]:
    """(bytes, the setting that says it) for the view that will answer."""
    setting = (
        getattr(view_func, "body_limit_setting", None)
        or getattr(getattr(view_func, "view_class", None), "body_limit_setting", None)
        or getattr(getattr(view_func, "cls", None), "body_limit_setting", None)
    )
    if setting:
        return int(getattr(settings, setting)) + MULTIPART_OVERHEAD, setting
    return int(getattr(settings, DEFAULT_SETTING)), DEFAULT_SETTING


def _refuse(request, status: int, code: str, detail: str):
    security_log.warning(
        "request body refused (%s): %s %s from %s: %s",
        status,
        request.method,
        request.path,
        request.META.get("REMOTE_ADDR", ""),
        detail,
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail, "code": code}, status=status)
    else:
        response = HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")
    response["Connection"] = "close"  # the unread body must not be taken for the next request
    return response


class RequestBodyLimitMiddleware:
    """Refuses a body over its endpoint's cap (413) or a chunked one without a length (411), unread."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        meta = request.META
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
            return _refuse(
                request,
                411,
                "length_required",
                "A request body needs a Content-Length (chunked bodies are not accepted).",
            )
        length = declared_length(request)
        if length <= 0:
            return None
        limit, setting = limit_for(view_func)
        if length > limit:
            return _refuse(
                request,
                413,
                "too_large",
                f"The request body ({length} bytes) is larger than this endpoint accepts ({limit} bytes, {setting}).",
            )
        return None
