"""Sending work to the Celery workers when the broker may be down.

Tasks are sent after the transaction that created their job commits (a worker
must see the row). If the broker does not answer, the job row is already
committed: it is marked failed with QUEUE_UNREACHABLE (so no job stays
"queued" forever, and the admin's Retry can send it again) and the caller gets
BrokerUnavailable, which OutageMiddleware (annotator/common/middleware.py)
answers with a 503."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

QUEUE_UNREACHABLE = "the job queue is unreachable; nothing was started"
# kombu wraps Redis connection and timeout errors in OperationalError; OSError
# covers a refused socket that escapes the wrapping.
BROKER_ERRORS = (OperationalError, OSError)


class BrokerUnavailable(Exception):
    def __init__(self, message: str = QUEUE_UNREACHABLE):
        super().__init__(message)


def send_on_commit(send: Callable[[], object], *, on_unreachable: Callable[[str], None] | None = None) -> None:
    """Call `send` (which publishes tasks) once the current transaction commits.
    If the broker is unreachable: on_unreachable(reason), then BrokerUnavailable."""

    def run() -> None:
        try:
            send()
        except BROKER_ERRORS as exc:
            logger.warning("broker unreachable, nothing sent: %s", exc)
            if on_unreachable is not None:
                on_unreachable(QUEUE_UNREACHABLE)
            raise BrokerUnavailable() from exc

    transaction.on_commit(run)
