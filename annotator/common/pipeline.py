"""What follows what: the one place that chains work.

    import finished  ->  splits -> benchmarks -> meshes -> proposals
    proposals stored ->  meshes -> tracks (frames of a sequence: link and smooth)

Each stage lists its steps by name, in order. A step is a function registered
under one of those names by the feature that owns it: `splits` by
annotator/datasets/splits.py, `meshes` by annotator/proposals/meshes.py,
`proposals` by annotator/proposals/services.py, `tracks` by
annotator/sequences/services.py (imported by AnnotatorConfig.ready), and
`benchmarks` by the evaluation app from its own AppConfig.ready (annotator never
imports evaluation). A step with nothing registered is skipped. This module
imports no feature: features import it.

Steps that write rows (splits, benchmarks) run at once, in the process that
finished the stage; steps that hand work to the workers go through `enqueue`,
so a task is only sent once the rows it reads are committed. A task is named,
never imported: workers/tasks.py imports the services, not the reverse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from annotator.common import jobs
from annotator.common.job_queue import send_on_commit
from workers.celery import app as celery_app

if TYPE_CHECKING:
    from annotator.common.models import Job

IMPORT_FINISHED = ("splits", "benchmarks", "meshes", "proposals")
PROPOSALS_STORED = ("meshes", "tracks")
STAGES = {"import_finished": IMPORT_FINISHED, "proposals_stored": PROPOSALS_STORED}

_steps: dict[tuple[str, str], Callable] = {}


@dataclass(frozen=True)
class ImportOutcome:
    """What a finished import hands to the steps after it."""

    job: Job
    new_image_ids: list[int]

    @property
    def dataset(self):
        return self.job.dataset

    @property
    def failed(self) -> bool:
        return self.job.state == jobs.FAILED


def register(stage: str, name: str, step: Callable) -> None:
    """Make `step` the one that runs as `name` in `stage` (named in STAGES)."""
    if name not in STAGES.get(stage, ()):
        raise ValueError(f"no step {name!r} in stage {stage!r}; the stages: {STAGES}")
    _steps[(stage, name)] = step


def step(stage: str, name: str):
    def decorate(fn):
        register(stage, name, fn)
        return fn

    return decorate


def steps(stage: str) -> list[tuple[str, Callable]]:
    """The registered steps of a stage, in the order they run."""
    return [(name, _steps[(stage, name)]) for name in STAGES[stage] if (stage, name) in _steps]


def _run(stage: str, arg) -> list[str]:
    ran = []
    for name, fn in steps(stage):
        fn(arg)
        ran.append(name)
    return ran


def import_finished(job, new_image_ids: list[int]) -> list[str]:
    """Run what follows an import (finished, failed or done with errors); returns the step names run."""
    return _run("import_finished", ImportOutcome(job, list(new_image_ids)))


def proposals_stored(face_ids: list[int]) -> list[str]:
    """Run what follows a batch of stored proposals (the faces they landed on)."""
    return _run("proposals_stored", list(face_ids))


@cache
def _load_tasks() -> None:
    # the Celery app imports its task modules (workers/tasks.py) itself: this
    # module never imports them, so tasks may import the services freely
    celery_app.autodiscover_tasks(["workers"], force=True)


def _task(task_name: str):
    """The Celery task `workers.tasks.<task_name>`, looked up by name."""
    _load_tasks()
    return celery_app.tasks[f"workers.tasks.{task_name}"]


def enqueue(task_name: str, *args, job=None) -> None:
    """Send the Celery task `workers.tasks.<task_name>` once the current transaction commits.

    If the broker does not answer, the `job` (a Job or an Entry) the task works
    for is failed with the reason, so it never stays "queued" forever, and the
    caller gets job_queue.BrokerUnavailable (a 503 for a request)."""

    def send():
        _task(task_name).delay(*args)

    def unsent(reason: str) -> None:
        job.refresh_from_db()
        jobs.fail(job, reason, name="job queue")

    send_on_commit(send, on_unreachable=unsent if job is not None else None)
