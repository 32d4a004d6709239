"""A job's temporary files, in a folder the job owns: a killed run leaves nothing for long.

A worker killed mid-job (SIGKILL, OOM, a host restarted) runs no `finally`, so
a named temporary file it made in the system's temporary folder would stay
there for good (an import's local copy of its upload is as large as the
upload). A job's named temporaries live in HEADPOSE_JOB_TMP_DIR/job-<id>/
instead: a run of the job empties that folder when it starts (`fresh_folder`)
and removes it when it ends (`remove`), and every reaper round
(annotator/common/reaper.py: every worker, at start and every
HEADPOSE_REAP_EVERY_S) removes, on its host, the folders of jobs that no live
worker runs (`sweep`). Anonymous temporaries (tempfile.TemporaryFile, the
exports' spooled files) need none of this: the system frees them when their
process dies."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

from annotator.common import jobs
from annotator.common.models import Job

logger = logging.getLogger(__name__)

_FOLDER = re.compile(r"job-(\d+)")


def folder(job_id: int) -> Path:
    return Path(settings.HEADPOSE_JOB_TMP_DIR) / f"job-{job_id}"


def remove(job_id: int) -> None:
    shutil.rmtree(folder(job_id), ignore_errors=True)


def fresh_folder(job_id: int) -> Path:
    """The job's folder, empty: what an earlier, killed run of it left is removed."""
    remove(job_id)
    path = folder(job_id)
    path.mkdir(parents=True, mode=0o700)  # a copy of a private upload: this account's only
    return path


def sweep() -> list[int]:
    """Remove the folders of jobs that no live worker runs on this host (finished,
    failed, queued again, running with a lease that ran out, or gone); returns
    their job ids. A running job with a fresh lease keeps its folder."""
    root = Path(settings.HEADPOSE_JOB_TMP_DIR)
    if not root.is_dir():
        return []
    removed = []
    for job_id in sorted(int(m[1]) for p in root.iterdir() if (m := _FOLDER.fullmatch(p.name))):
        with transaction.atomic():
            # the row locked while its folder goes: a worker claiming the job now
            # waits (jobs.claim / jobs.start update it) and makes its folder after
            job = Job.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None and Job.objects.filter(pk=job_id).exists():
                continue  # locked by its worker right now: the next round looks again
            if job is not None and job.state == jobs.RUNNING and jobs.is_live(job):
                continue
            remove(job_id)
        removed.append(job_id)
    if removed:
        logger.warning("removed the temporary files of jobs no live worker runs: %s", removed)
    return removed
