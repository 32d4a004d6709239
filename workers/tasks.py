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
