"""Celery tasks. Each body is a few lines that call a service; the services
hold the logic and are tested on their own."""
from celery import shared_task


@shared_task(name="workers.tasks.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trips through the broker; reports the worker's torch device."""
    from workers.device import torch_device

    return {"payload": payload, "device": torch_device()}


@shared_task(name="workers.tasks.run_import_job", bind=True, acks_late=True)
def run_import_job(self, job_id: int) -> dict:
    from annotator.importing import run_import_job as run

    job = run(job_id)
    return {"job": job.pk, "state": job.state}


@shared_task(
    name="workers.tasks.propose_images",
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=3,
)
def propose_images(image_ids: list[int], proposer: str, job_id: int | None = None) -> dict:
    from annotator.proposing import propose_images as run

    return run(image_ids, proposer, job_id)


@shared_task(name="workers.tasks.mesh_faces", acks_late=True, autoretry_for=(ConnectionError,), max_retries=3)
def mesh_faces(face_ids: list[int]) -> dict:
    from annotator.meshes import build_meshes

    return build_meshes(face_ids)


@shared_task(name="workers.tasks.evaluate_entry", acks_late=True, autoretry_for=(ConnectionError,), max_retries=3)
def evaluate_entry(entry_id: int) -> dict:
    """Run (or continue) a proposer over a benchmark; done samples are skipped."""
    from evaluation.proposer_runs import run_proposer_entry

    entry = run_proposer_entry(entry_id)
    return {"entry": entry.pk, "state": entry.state, "processed": entry.processed}


@shared_task(name="workers.tasks.run_export_job", acks_late=True)
def run_export_job(job_id: int) -> dict:
    from annotator.exports import run_export_job as run

    job = run(job_id)
    return {"job": job.pk, "state": job.state, "rows": job.processed}
