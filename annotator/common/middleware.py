"""Request-level answers shared by pages and the API: an outage is a 503.

While the database or the job queue (Redis) cannot be reached, a request that
needs it answers 503 with Retry-After, never a 500 page: under /api/ in the
API's one error shape, {"detail", "code"} with code `database_unavailable` or
`broker_unavailable`; a page with a plain page that needs neither (no layout,
no user, no session: rendering those would ask the database again).

Where the error is raised decides how it gets here. A view's error (a DRF
view's too, token authentication included: DRF re-raises what its exception
handler does not map) reaches `process_exception`. An error raised inside
another middleware (the session saved on the way out, the login check reading
the session's user) is turned into a 500 response by Django inside that
middleware's own wrapper, so no middleware outside it ever sees the exception,
whatever its place in MIDDLEWARE; the one hook that sees it is the
`got_request_exception` signal, sent while it is handled: `_remember_outage`
marks the request, and `OutageMiddleware`, outside the session and
authentication middleware, replaces that 500 with the 503."""

from __future__ import annotations

import logging
import sys
import time

from django.core.signals import got_request_exception
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from annotator.common.errors import error_body
from annotator.common.job_queue import BrokerUnavailable

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 30
DATABASE_UNAVAILABLE, BROKER_UNAVAILABLE = "database_unavailable", "broker_unavailable"
DATABASE_DOWN = "The database is unavailable (unreachable or busy); try again in a minute."
BROKER_DOWN = "The job queue (Redis) is unreachable; try again in a minute."
# Django wraps every driver's connection, timeout and lock-wait failures in
# OperationalError, a connection closed under it in InterfaceError; programming
# errors (IntegrityError, ProgrammingError) stay 500s: waiting would not help.
DATABASE_ERRORS = (DatabaseOperationalError, InterfaceError)
# BrokerUnavailable: a send refused (annotator/common/job_queue.py, its job already
# failed with the reason); the others: the broker's client failing anywhere else.
BROKER_ERRORS = (BrokerUnavailable, BrokerOperationalError, RedisConnectionError, RedisTimeoutError)
# One log line per kind of outage per process and minute, not one per request.
LOG_EVERY_S = 60.0
_logged_at: dict[str, float] = {}
_MARK = "_headpose_outage"


def outage(exc: BaseException) -> tuple[str, str] | None:
    """(code, detail) when `exc` says the database or the broker cannot be reached."""
    if isinstance(exc, BrokerUnavailable):
        return BROKER_UNAVAILABLE, str(exc)
    if isinstance(exc, BROKER_ERRORS):
        return BROKER_UNAVAILABLE, BROKER_DOWN
    if isinstance(exc, DATABASE_ERRORS):
        return DATABASE_UNAVAILABLE, DATABASE_DOWN
    return None


def _log(code: str, exc: BaseException) -> None:
    now = time.monotonic()
    if now - _logged_at.get(code, -LOG_EVERY_S) < LOG_EVERY_S:
        return
    _logged_at[code] = now
    # the error's class and first line (a host and port at most; drivers never print a password)
    reason = (str(exc).strip().splitlines() or [""])[0][:200]
    logger.warning("%s: answering 503 (%s: %s); logged once a minute while it lasts", code, type(exc).__name__, reason)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    code, detail = outage(exc) or (DATABASE_UNAVAILABLE, DATABASE_DOWN)
    _log(code, exc)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body(detail, code), status=503)
    else:
        # rendered without the request: no context processor may ask for the user or the session
        page = render_to_string("service_unavailable.html", {"code": code, "message": detail})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _remember_outage(sender, request=None, **kwargs) -> None:
    """Sent by Django while it handles an error it is about to answer with a 500."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and outage(exc) is not None:
        setattr(request, _MARK, exc)


got_request_exception.connect(_remember_outage, dispatch_uid="annotator.common.middleware.outage")


class OutageMiddleware:
    """A database or broker outage answers 503 with Retry-After (JSON under /api/,
    a plain page elsewhere). Placed before the session and authentication
    middleware (config/settings.py): their errors come back to it as 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code >= 500:
            return unavailable_response(request, exc)
        return response

    def process_exception(self, request, exception):
        if outage(exception) is None:
            return None
        return unavailable_response(request, exception)
