"""Leases: proof that a worker process is still running a piece of work.

While a task runs, a thread in the same process sets `heartbeat_at` (or, for
meshes, `updated_at`) on the rows it works for, every lease/4 seconds. The
heartbeat is independent of progress (one slow sample, loading weights), and it
stops exactly when the process running the task dies, which is what the reaper
(annotator/reaper.py) needs to tell a live task from a lost one.

Only the worker tasks hold leases (workers/tasks.py); services called directly
(tests, commands) run without the thread."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from annotator.common import jobs

logger = logging.getLogger(__name__)


def renew(queryset, field: str = "heartbeat_at") -> int:
    return queryset.update(**{field: timezone.now()})


@contextmanager
def held(queryset, field: str = "heartbeat_at", every_s: float | None = None):
    """Keep `queryset`'s `field` fresh while the block runs."""
    every_s = every_s or max(0.5, jobs.lease_s() / 4)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every_s):
                try:
                    renew(queryset, field)
                except Exception:  # a database blip: the next beat tries again
                    logger.warning("lease renewal failed", exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name="lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
