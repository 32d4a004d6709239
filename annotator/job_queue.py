"""Sending work to the Celery workers when the broker may be down.

Tasks are sent after the transaction that created their job commits (a worker
must see the row). If the broker does not answer, the job row is already
committed: it is marked failed with QUEUE_UNREACHABLE (so no job stays
"queued" forever, and the admin's Retry can send it again) and the caller gets
BrokerUnavailable, which BrokerUnavailableMiddleware answers with a 503."""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from annotator.models import Job

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


def send_job_on_commit(job: Job, send: Callable[[], object]) -> None:
    """send_on_commit for the tasks of a Job: unsent, the job is failed with the reason."""
    send_on_commit(send, on_unreachable=lambda reason: fail_unsent_job(job, reason))


def fail_unsent_job(job: Job, reason: str) -> None:
    """The job's task never reached the broker: failed, with the reason among its errors."""
    job.refresh_from_db(fields=["errors"])
    job.state, job.finished_at = Job.State.FAILED, timezone.now()
    job.errors = [*job.errors, {"name": "job queue", "message": reason}]
    job.save(update_fields=["state", "finished_at", "errors"])
