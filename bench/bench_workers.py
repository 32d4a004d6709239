"""Proposals per second with 1, 2 and 4 worker processes: real Celery workers
(`celery worker -Q gpu -c N`, prefork, one torch thread each, as `make serve`
starts them) running proposal jobs end to end (read the stored image, detect,
run the proposer, store the proposals, advance the job) on the real AFLW2000
samples in $HEADPOSE_SHARED_DIR/data/aflw2000/samples, repeated to --images
images (stored through the storage API like imported ones).

For each process count: a warm-up job over 32 x N images (every process loads
its models once, not timed), then the timed job over all --images images
(batches of 32, as the app sends them): images/s and proposals/s from the job's
start to its last batch stored. Runs on a throw-away database created and
dropped here on whatever DATABASE_URL names, and the Redis of REDIS_URL.
Meshing after proposals is off (HEADPOSE_AUTO_MESH=0): proposals only.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_workers.py \
        [--processes 1,2,4] [--images 256] [--proposer NAME]
Prints JSON, with the 1-minute load average after each run."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json
from bench._django import django_test_db


def make_dataset(n_images: int):
    import cv2
    from django.core.files.base import ContentFile

    from annotator.models import Dataset, Image
    from workers.core.formats.aflw2000 import model_intrinsics

    samples = sorted(aflw_samples_dir().glob("*.jpg"))
    if not samples:
        sys.exit(f"no AFLW2000 samples in {aflw_samples_dir()} (set HEADPOSE_SHARED_DIR)")
    dataset = Dataset.objects.create(name="bench-workers")
    for k in range(n_images):
        path = samples[k % len(samples)]
        data = path.read_bytes()
        height, width = cv2.imread(str(path)).shape[:2]
        name = f"{k:05d}-{path.name}"
        image = Image(
            dataset=dataset,
            file_name=name,
            width=width,
            height=height,
            size_bytes=len(data),
            checksum=hashlib.sha256(data + name.encode()).hexdigest(),
            K=model_intrinsics(width, height).reshape(-1).tolist(),
        )
        image.file.save(f"bench-workers/{name}", ContentFile(data), save=True)
    return dataset


def run_job(dataset, proposer: str, image_ids, timeout: float = 1800) -> tuple[float, object]:
    """(seconds from start_proposals to the job done, the job)."""
    from annotator.models import Job
    from annotator.proposals.services import start_proposals

    t0 = time.perf_counter()
    job = start_proposals(dataset=dataset, proposer=proposer, image_ids=image_ids)
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job.pk)
        if job.state in (Job.State.DONE, Job.State.FAILED):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"proposal job {job.pk} not done after {timeout} s: {job.state} {job.processed}/{job.total}"
            )
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    if job.state != Job.State.DONE or job.errors:
        raise RuntimeError(f"proposal job {job.pk} {job.state}: {job.errors[:3]}")
    return elapsed, job


def main(argv=None):
    ap = argparse.ArgumentParser(description="proposals per second by worker processes, JSON")
    ap.add_argument("--processes", default="1,2,4")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--proposer", default="", help="default: the one annotators see (HEADPOSE_PROPOSER / auto)")
    args = ap.parse_args(argv)
    counts = [int(n) for n in args.processes.split(",") if n]

    with django_test_db("workers", allowed_hosts="127.0.0.1"):
        from annotator.models import Image, Proposal
        from annotator.proposals.services import BATCH_SIZE, preferred_proposer_name
        from tests.servers import celery_worker, server_env
        from workers.celery import app

        proposer = args.proposer or preferred_proposer_name()
        dataset = make_dataset(args.images)
        ids = list(Image.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
        env = server_env(HEADPOSE_AUTO_MESH="0", DEBUG="0", SECRET_KEY="bench-workers-" + "x" * 40)
        logs = Path(tempfile.mkdtemp(prefix="headpose-bench-workers-"))
        runs = []
        for n in counts:
            app.control.purge()
            with celery_worker(logs / f"worker-{n}.log", env, name=f"bench-{n}", queues="gpu", processes=n):
                run_job(dataset, proposer, ids[: BATCH_SIZE * n])  # warm-up: each process loads its models
                seconds, _job = run_job(dataset, proposer, ids)
            proposals = Proposal.objects.filter(face__image__dataset=dataset, proposer=proposer).count()
            runs.append(
                {
                    "processes": n,
                    "images": len(ids),
                    "seconds": round(seconds, 2),
                    "images_per_s": round(len(ids) / seconds, 2),
                    "proposals_per_s": round(proposals / seconds, 2),
                    "load_average_1min_after": round(os.getloadavg()[0], 2),
                }
            )
        print_json(
            {
                "benchmark": "proposal_workers",
                "proposer": proposer,
                "batch_size": BATCH_SIZE,
                "images_from": f"{len(list(aflw_samples_dir().glob('*.jpg')))} AFLW2000 samples, repeated",
                "cpus": os.cpu_count(),
                "torch_threads_per_process": int(os.environ.get("HEADPOSE_TORCH_THREADS") or 1),
                "device": "cpu (no GPU on this machine)",
                "runs": runs,
            }
        )


if __name__ == "__main__":
    main()
