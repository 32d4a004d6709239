"""Request-level answers shared by pages and the API."""

from django.http import JsonResponse
from django.shortcuts import render

from annotator.common.job_queue import BrokerUnavailable

RETRY_AFTER_S = 30


class BrokerUnavailableMiddleware:
    """A view that could not reach the job queue answers 503 with the reason
    (JSON under /api/, a page elsewhere), never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, BrokerUnavailable):
            return None
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": str(exception)}, status=503)
        else:
            response = render(request, "queue_unreachable.html", {"message": str(exception)}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
