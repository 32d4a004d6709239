"""Celery tasks. Each body is a few lines that call a service; the services
hold the logic and are tested on their own.

Tasks import the services, never the reverse: a service sends a task by name
(annotator/common/pipeline.py: enqueue). A task that works for a row claims it (annotator.common.jobs.claim: a duplicate
delivery does nothing) and holds its lease while it runs (annotator.common.leases), so
the reaper can tell a live task from a lost one."""

from contextlib import nullcontext

from celery import shared_task

from annotator.common import jobs, leases
from annotator.common.models import Job
from annotator.datasets.importing import run_import_job as import_job
from annotator.datasets.services import refresh_summary_of
from annotator.exports.services import run_export_job as export_job
from annotator.proposals.meshes import build_meshes, queued_meshes
from annotator.proposals.services import batch_done
from annotator.proposals.services import propose_images as store_proposals_of
from annotator.quality.services import refresh_quality_of
from annotator.quality.services import rewrite_consensus as rewrite_consensus_rows
from annotator.sequences.services import build_tracks
from evaluation.models import Entry
from evaluation.proposer_runs import run_proposer_entry
from workers.device import torch_device


def _job_lease(job_id):
    return leases.held(Job.objects.filter(pk=job_id)) if job_id is not None else nullcontext()


def _claim_job(job_id: int) -> bool:
    return jobs.claim(Job, job_id)


@shared_task(name="workers.tasks.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trips through the broker; reports the worker's torch device."""
    return {"payload": payload, "device": torch_device()}


@shared_task(name="workers.tasks.run_import_job", bind=True, acks_late=True)
def run_import_job(self, job_id: int) -> dict:
    if not _claim_job(job_id):
        return {"job": job_id, "skipped": "finished, or running in a live worker"}
    with _job_lease(job_id):
        job = import_job(job_id)
    return {"job": job.pk, "state": job.state}


@shared_task(
    name="workers.tasks.propose_images",
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=3,
)
def propose_images(image_ids: list[int], proposer: str, job_id: int | None = None) -> dict:
    if job_id is not None and batch_done(job_id, image_ids):
        return {"images": 0, "skipped": "this batch was already stored"}
    with _job_lease(job_id):
        return store_proposals_of(image_ids, proposer, job_id)


@shared_task(name="workers.tasks.mesh_faces", acks_late=True, autoretry_for=(ConnectionError,), max_retries=3)
def mesh_faces(face_ids: list[int]) -> dict:
    with leases.held(queued_meshes(face_ids), field="updated_at"):
        return build_meshes(face_ids)


@shared_task(name="workers.tasks.evaluate_entry", acks_late=True, autoretry_for=(ConnectionError,), max_retries=3)
def evaluate_entry(entry_id: int) -> dict:
    """Run (or continue) a proposer over a benchmark; done samples are skipped."""
    with leases.held(Entry.objects.filter(pk=entry_id)):
        entry = run_proposer_entry(entry_id)
    return {"entry": entry.pk, "state": entry.state, "processed": entry.processed}


@shared_task(name="workers.tasks.run_export_job", acks_late=True)
def run_export_job(job_id: int) -> dict:
    if not _claim_job(job_id):
        return {"job": job_id, "skipped": "finished, or running in a live worker"}
    with _job_lease(job_id):
        job = export_job(job_id)
    return {"job": job.pk, "state": job.state, "rows": job.processed}


@shared_task(name="workers.tasks.build_sequence_tracks", acks_late=True)
def build_sequence_tracks(sequence_id: int) -> dict:
    """Idempotent: rebuilds the sequence's tracks from the proposals committed so far."""
    return {"sequence": sequence_id, "tracks": len(build_tracks(sequence_id))}


@shared_task(name="workers.tasks.rewrite_consensus", acks_late=True)
def rewrite_consensus(dataset_id: int) -> dict:
    """Idempotent: every consensus row of the dataset under its latest noise estimates."""
    return rewrite_consensus_rows(dataset_id)


@shared_task(name="workers.tasks.refresh_dataset_summary")
def refresh_dataset_summary(dataset_id: int) -> dict:
    """Idempotent: the dataset's figures for the home and dataset pages, counted now."""
    return refresh_summary_of(dataset_id)


@shared_task(name="workers.tasks.refresh_quality")
def refresh_quality(dataset_id: int) -> dict:
    """Idempotent: the dataset's quality report recomputed when stale (the quality page shows the last one meanwhile)."""
    return refresh_quality_of(dataset_id)
