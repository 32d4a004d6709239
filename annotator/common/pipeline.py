"""What follows what: the one place that chains work.

    import finished  ->  splits -> benchmarks -> meshes -> proposals
    proposals stored ->  meshes -> tracks (frames of a sequence: link and smooth)

Each stage lists its steps by name, in order. A step is a function registered
under one of those names; `benchmarks` belongs to the evaluation app, which
registers it from its AppConfig.ready (annotator never imports evaluation).
A step with nothing registered is skipped.

Steps that write rows (splits, benchmarks) run at once, in the process that
finished the stage; steps that hand work to the workers go through `enqueue`,
so a task is only sent once the rows it reads are committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.conf import settings

IMPORT_FINISHED = ("splits", "benchmarks", "meshes", "proposals")
PROPOSALS_STORED = ("meshes", "tracks")
STAGES = {"import_finished": IMPORT_FINISHED, "proposals_stored": PROPOSALS_STORED}

_steps: dict[tuple[str, str], Callable] = {}


@dataclass(frozen=True)
class ImportOutcome:
    """What a finished import hands to the steps after it."""

    job: object  # annotator.models.Job
    new_image_ids: list[int]

    @property
    def dataset(self):
        return self.job.dataset

    @property
    def failed(self) -> bool:
        from annotator.common import jobs

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


def enqueue(task_name: str, *args, job=None) -> None:
    """Send the Celery task `workers.tasks.<task_name>` once the current transaction commits.

    If the broker does not answer, the `job` (a Job or an Entry) the task works
    for is failed with the reason, so it never stays "queued" forever, and the
    caller gets job_queue.BrokerUnavailable (a 503 for a request)."""
    from annotator.common.job_queue import send_on_commit

    def send():
        from workers import tasks

        getattr(tasks, task_name).delay(*args)

    def unsent(reason: str) -> None:
        from annotator.common import jobs

        job.refresh_from_db()
        jobs.fail(job, reason, name="job queue")

    send_on_commit(send, on_unreachable=unsent if job is not None else None)


# ---- the annotator's steps ---------------------------------------------------------

@step("import_finished", "splits")
def _standard_splits(outcome: ImportOutcome) -> None:
    if not outcome.failed:
        from annotator.datasets.splits import build_standard_splits

        build_standard_splits(outcome.dataset)


@step("import_finished", "meshes")
def _mesh_new_faces(outcome: ImportOutcome) -> None:
    if outcome.new_image_ids and settings.HEADPOSE_AUTO_MESH:
        from annotator.datasets.models import Face
        from annotator.proposals.meshes import queue_meshes

        queue_meshes(list(Face.objects.filter(image_id__in=outcome.new_image_ids, landmarks_2d__isnull=False)
                          .values_list("pk", flat=True)))


@step("import_finished", "proposals")
def _propose_new_images(outcome: ImportOutcome) -> None:
    if outcome.new_image_ids and settings.HEADPOSE_AUTO_PROPOSE:
        from annotator.proposals.services import start_proposals

        start_proposals(dataset=outcome.dataset, image_ids=outcome.new_image_ids, user=outcome.job.created_by)


@step("proposals_stored", "meshes")
def _mesh_proposed_faces(face_ids: list[int]) -> None:
    if face_ids and settings.HEADPOSE_AUTO_MESH:
        from annotator.proposals.meshes import queue_meshes

        queue_meshes(face_ids)


@step("proposals_stored", "tracks")
def _track_sequences(face_ids: list[int]) -> None:
    if face_ids:
        from annotator.sequences.services import sequences_of_faces

        for sequence_id in sequences_of_faces(face_ids):
            enqueue("build_sequence_tracks", sequence_id)
