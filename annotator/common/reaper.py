"""The reaper: work queued or running without a live task is sent again.

A row is stranded when its lease ran out (annotator.jobs.stranded): no worker
renewed `heartbeat_at` (annotator/leases.py) within HEADPOSE_JOB_LEASE_S, or,
for a queued row, no send within it. That happens when the worker running it
died (SIGKILL, OOM, host lost) or when Redis lost the message (restarted empty).
Every worker runs `reap` at start (worker_ready) and every HEADPOSE_REAP_EVERY_S
from a thread (`start_in_worker`); several reapers agree through row locks
(SKIP LOCKED) and the fresh lease each re-send writes. The admin's Resume calls
`resend` for one job.

Each round also runs the chores features register (`every_round`: the quality
feature brings lagging consensus rows up to date) and removes, on its host, the temporary folders of jobs that no
live worker runs (annotator/common/job_tmp.py: what a killed run left).

Re-sends are safe because every task is idempotent: an import claims its job
and skips stored files by checksum, a proposal batch already counted is
skipped, meshes are one per face, an entry skips predicted samples, an export
rewrites its file.

annotator never imports evaluation: the evaluation app registers how to re-send
its Entries (`register`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from annotator.common import job_tmp, jobs, pipeline
from annotator.common.job_queue import BrokerUnavailable
from annotator.common.models import Job
from annotator.proposals.models import FaceMesh

logger = logging.getLogger(__name__)

MESH_BATCH = 32
NOT_RESUMABLE = "this job cannot be resumed (its work list was not recorded); start it again"
_resenders: dict[type, Callable] = {}
_chores: list[Callable[[], object]] = []


def register(model, resend_fn: Callable) -> None:
    """`resend_fn(row)` queues the task of a stranded `model` row (in a transaction; sends on commit)."""
    _resenders[model] = resend_fn


def every_round(chore: Callable[[], object]) -> None:
    """Run `chore()` in every reaper round (after the re-sends), e.g. the quality
    feature's flush of consensus rows that lag behind their labels."""
    if chore not in _chores:
        _chores.append(chore)


def _resend_job(job: Job) -> None:
    if job.kind == Job.Kind.PROPOSE:
        image_ids, size = job.options.get("image_ids"), job.options.get("batch_size")
        if image_ids is None or not size:
            jobs.fail(job, NOT_RESUMABLE, name="reaper")
            return
        done = set(job.result.get("done_batches", []))
        jobs.requeue(job)
        for i in range(0, len(image_ids), size):
            batch = image_ids[i : i + size]
            if str(batch[0]) not in done:
                pipeline.enqueue("propose_images", batch, job.options["proposer"], job.pk)
        return
    task = "run_export_job" if job.kind == Job.Kind.EXPORT else "run_import_job"
    if job.kind not in (Job.Kind.EXPORT, *IMPORT_KINDS):
        jobs.fail(job, NOT_RESUMABLE, name="reaper")
        return
    jobs.requeue(job)
    pipeline.enqueue(task, job.pk)


IMPORT_KINDS = (Job.Kind.IMPORT_AFLW2000, Job.Kind.IMPORT_BIWI, Job.Kind.IMPORT_IMAGES, Job.Kind.IMPORT_VIDEO)
register(Job, _resend_job)


def resend(row) -> None:
    """Queue a stranded row's task again (the admin's Resume, the reaper).
    Raises BrokerUnavailable when Redis does not answer; the row then stays
    queued and the next round sends it."""
    with transaction.atomic():
        _resenders[type(row)](row)


def _reap_model(model) -> int:
    n = 0
    for pk in list(jobs.stranded(model).values_list("pk", flat=True)):
        with transaction.atomic():
            # locked and checked again: another worker's reaper may have just re-sent it
            row = jobs.stranded(model).select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:
                continue
            logger.warning(
                "re-sending stranded %s %s (%s, heartbeat %s)", model.__name__, pk, row.state, row.heartbeat_at
            )
            _resenders[model](row)
            n += 1
    return n


def _reap_meshes() -> int:
    stale = timezone.now() - timedelta(seconds=jobs.lease_s())
    with transaction.atomic():
        meshes = FaceMesh.objects.select_for_update(skip_locked=True).filter(
            state=FaceMesh.State.QUEUED, updated_at__lt=stale
        )
        face_ids = sorted(meshes.values_list("face_id", flat=True))
        FaceMesh.objects.filter(face_id__in=face_ids).update(updated_at=timezone.now())
        for i in range(0, len(face_ids), MESH_BATCH):
            pipeline.enqueue("mesh_faces", face_ids[i : i + MESH_BATCH])
    return len(face_ids)


def reap() -> dict[str, int]:
    """One round: re-send every stranded row; returns how many of each were sent.
    With Redis down nothing is sent (the rows stay as they are for the next round).
    Then the temporary folders of the jobs no live worker runs go."""
    sent = {}
    try:
        for model in _resenders:
            sent[model.__name__] = _reap_model(model)
        sent["FaceMesh"] = _reap_meshes()
    except BrokerUnavailable:
        logger.warning("reaper: the broker is unreachable; the next round tries again")
    for chore in _chores:
        try:
            chore()
        except Exception:  # one chore's failure must not stop the reaper's loop
            logger.exception("reaper: %s failed; the next round tries again", getattr(chore, "__name__", chore))
    job_tmp.sweep()
    return sent


class ReaperThread(threading.Thread):
    stop: threading.Event  # set it to end the loop after its current round


def start_in_worker(every_s: float | None = None) -> ReaperThread:
    """Reap now, then every HEADPOSE_REAP_EVERY_S, from a daemon thread of this
    worker process (so a worker needs no separate beat process)."""
    every_s = every_s or settings.HEADPOSE_REAP_EVERY_S
    stop = threading.Event()

    def loop() -> None:
        while True:
            close_old_connections()
            try:
                sent = reap()
                if any(sent.values()):
                    logger.warning("reaper re-sent %s", sent)
            except Exception:  # the database is down: the next round tries again
                logger.exception("reaper round failed")
            if stop.wait(every_s):
                return

    thread = ReaperThread(target=loop, name="reaper", daemon=True)
    thread.stop = stop
    thread.start()
    return thread
