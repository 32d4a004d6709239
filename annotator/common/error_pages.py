"""The site's 403 and 404 pages (config/urls.py handler403/handler404): inside the
site's layout, navigation kept, saying what to do. Under /api/ the same
`{detail, code}` body as annotator/common/errors.py gives every API error."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from annotator.common.errors import error_body


def _reason(exception, default: str) -> str:
    message = exception.args[0] if exception is not None and exception.args else None
    # a view's own words; Django's resolver says which URL patterns it tried (a dict): not for users
    return message if isinstance(message, str) and message else default


def _api(request) -> bool:
    return request.path.startswith("/api/")


def permission_denied(request, exception=None) -> HttpResponse:
    reason = _reason(exception, "You may not open this page.")
    if _api(request):
        return JsonResponse(error_body(reason, "permission_denied"), status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


def page_not_found(request, exception=None) -> HttpResponse:
    reason = _reason(exception, "There is no such page.")
    if _api(request):
        return JsonResponse(error_body("Not found.", "not_found"), status=404)
    return render(request, "404.html", {"reason": reason}, status=404)
