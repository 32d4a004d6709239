"""The lifecycle and progress of long-running work, written once.

Import, export and proposal Jobs (annotator.models.Job) and benchmark entries
(evaluation.models.Entry) are all "tracked work": rows with `state`, `total`,
`processed`, `started_at`, `finished_at`, and a place for problems (a Job's
`errors` list, an Entry's `message`), and `heartbeat_at`, the lease a worker
keeps fresh while it runs the work (annotator/leases.py). Every state change
goes through this module: claim, start, advance, finish, fail, queue again
(retry / resume); `progress` is the JSON a page polls and `follow` the bar a
command shows.

The module knows no concrete model: both models spell their states with the
same values, so it works on any row that has these fields."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

QUEUED, RUNNING, DONE, DONE_WITH_ERRORS, FAILED = "queued", "running", "done", "done_with_errors", "failed"
FINISHED = (DONE, DONE_WITH_ERRORS, FAILED)
# How often running work writes its counters: often enough for a poll every second.
PROGRESS_EVERY_S = 0.5
MAX_STORED_ERRORS = 1000
MAX_MESSAGE_CHARS = 2000


def _has(obj, field: str) -> bool:
    return any(f.name == field for f in obj._meta.concrete_fields)


def _save(obj, fields) -> None:
    """Only `fields` (the row may have moved on elsewhere); None: every field."""
    if fields is None:
        obj.save()
    else:
        obj.save(update_fields=[f for f in dict.fromkeys(fields) if _has(obj, f)])


# ---- reading ---------------------------------------------------------------------


def is_finished(obj) -> bool:
    return obj.state in FINISHED


def percent(obj) -> int:
    if obj.total:
        return int(100 * obj.processed / obj.total)
    return 100 if is_finished(obj) else 0


WAITING, STALLED = "queued, waiting for a worker", "stalled (no live worker)"


def lease_s() -> float:
    return settings.HEADPOSE_JOB_LEASE_S


def heartbeat_age_s(obj) -> float | None:
    if obj.heartbeat_at is None:
        return None
    return max(0.0, (timezone.now() - obj.heartbeat_at).total_seconds())


def is_live(obj) -> bool:
    """A worker renewed the lease lately (running), or the task was sent lately (queued)."""
    stamp = obj.heartbeat_at or obj.created_at
    return stamp is not None and (timezone.now() - stamp).total_seconds() < lease_s()


def activity(obj) -> str:
    """What the work is doing, in words: a queued row that no worker has
    picked up is "waiting for a worker", not "running"."""
    if is_finished(obj):
        return obj.get_state_display()
    if obj.state == QUEUED:
        return WAITING
    if not is_live(obj):
        return STALLED
    age = heartbeat_age_s(obj)
    return "running" if age is None else f"running (heartbeat {age:.0f} s ago)"


def progress(obj) -> dict:
    """What a progress bar needs, the same keys for a Job and an Entry: the
    export job page and the entry page poll this."""
    return {
        "state": obj.state,
        "processed": obj.processed,
        "total": obj.total,
        "percent": percent(obj),
        "is_finished": is_finished(obj),
        "activity": activity(obj),
        "heartbeat_age_s": heartbeat_age_s(obj),
    }


def stranded(model):
    """Rows queued or running without a live task: no heartbeat (running) or no
    send (queued) within the lease."""
    stale = timezone.now() - timedelta(seconds=lease_s())
    return model.objects.filter(state__in=[QUEUED, RUNNING]).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
    )


def claim(model, pk: int) -> bool:
    """The right to run `pk`, taken once per live run: a queued row, or a
    running one whose lease ran out (its worker died). False (do nothing) for
    a duplicate delivery while another worker holds a fresh lease, and for
    finished work."""
    stale = timezone.now() - timedelta(seconds=lease_s())
    dead = Q(state=RUNNING) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
    return bool(
        model.objects.filter(pk=pk).filter(Q(state=QUEUED) | dead).update(state=RUNNING, heartbeat_at=timezone.now())
    )


# ---- writing -----------------------------------------------------------------------


def start(obj, *, total: int | None = None, resume: bool = False) -> None:
    """Mark the work running. A fresh start zeroes the counters and problems;
    `resume` keeps them (work already done is skipped, not redone)."""
    obj.state, obj.finished_at, obj.heartbeat_at = RUNNING, None, timezone.now()
    obj.started_at = obj.started_at if resume and obj.started_at else timezone.now()
    fields = ["state", "started_at", "finished_at", "heartbeat_at"]
    if not resume:
        obj.processed = 0
        fields.append("processed")
        for counter in ("succeeded", "unchanged"):
            if _has(obj, counter):
                setattr(obj, counter, 0)
                fields.append(counter)
        if _has(obj, "errors"):
            obj.errors = []
            fields.append("errors")
    if total is not None:
        obj.total = total
        fields.append("total")
    _save(obj, fields)


def add_error(obj, name: str, message: str) -> None:
    """Record one problem in memory (saved with the next advance/finish);
    after MAX_STORED_ERRORS, one line says that more were not kept."""
    if len(obj.errors) < MAX_STORED_ERRORS:
        obj.errors.append({"name": name, "message": message})
    elif len(obj.errors) == MAX_STORED_ERRORS:
        obj.errors.append({"name": "", "message": "more errors were not stored"})


class ProgressProperties:
    """percent / is_finished / activity on a Job or an Entry (the model mixes
    this in), read through the functions above."""

    @property
    def percent(self) -> int:
        return percent(self)

    @property
    def is_finished(self) -> bool:
        return is_finished(self)

    @property
    def activity(self) -> str:
        return activity(self)


class Throttle:
    """True at most once every `every_s` seconds: progress writes are for
    people watching, a row update per item would slow the work itself."""

    def __init__(self, every_s: float = PROGRESS_EVERY_S):
        self.every_s, self.last = every_s, 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last > self.every_s:
            self.last = now
            return True
        return False


def advance(obj, fields=("processed",)) -> None:
    """Store the progress counters (and problems) set on `obj`; progress renews the lease."""
    obj.heartbeat_at = timezone.now()
    _save(obj, [*fields, "heartbeat_at"])


def advance_shared(
    model, pk: int, *, processed: int, succeeded: int = 0, errors: list | None = None, batch: str | None = None
):
    """Add one batch's counts to work that several workers share (a proposal
    Job's batches run concurrently); the last batch finishes it. A `batch`
    key already counted (a re-sent batch) adds nothing. Returns the row, None
    when it is gone."""
    with transaction.atomic():
        obj = model.objects.select_for_update().filter(pk=pk).first()
        if obj is None:
            return None
        if batch is not None:
            done = obj.result.get("done_batches", [])
            if batch in done:
                return obj
            obj.result = {**obj.result, "done_batches": [*done, batch]}
        obj.started_at = obj.started_at or timezone.now()
        obj.heartbeat_at = timezone.now()
        obj.processed = F("processed") + processed
        obj.succeeded = F("succeeded") + succeeded
        obj.errors = obj.errors + list(errors or [])
        obj.state = RUNNING
        obj.save()
        obj.refresh_from_db()
        if obj.processed >= obj.total:
            finish(obj)
    return obj


def finish(obj, fields=()) -> None:
    """Done (with errors when any were recorded); `fields` are the counters and
    results set on `obj` to store with it (None: every field)."""
    obj.state = DONE_WITH_ERRORS if _has(obj, "errors") and obj.errors else DONE
    obj.finished_at = timezone.now()
    if _has(obj, "message"):
        obj.message = ""
    _save(obj, None if fields is None else ["state", "finished_at", "message", "errors", *fields])


def fail(obj, message: str, *, name: str = "", fields=()) -> None:
    """The work ends visibly failed, never left 'running': the reason joins
    a Job's errors or becomes an Entry's message."""
    obj.state, obj.finished_at = FAILED, timezone.now()
    if _has(obj, "errors"):
        add_error(obj, name, message)
    else:
        obj.message = message[:MAX_MESSAGE_CHARS]
    _save(obj, None if fields is None else ["state", "finished_at", "errors", "message", *fields])


def requeue(obj) -> None:
    """Back to the queue (retry an import, resume a run); the caller queues
    its task. The send starts a new lease: a queued row is "waiting" until then."""
    obj.state, obj.heartbeat_at = QUEUED, timezone.now()
    if _has(obj, "message"):
        obj.message = ""
    _save(obj, ["state", "message", "heartbeat_at"])
