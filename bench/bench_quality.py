"""Timing check, not a test: team quality control at scale. Prints one JSON document.

1. `reliability`: the consensus that learns whom to trust alone
   (workers/core/reliability.estimate: the joint noise + weighted-consensus
   estimate, its noise intervals) at each of `--estimate-faces` (default 10,000
   and 100,000 faces x 3 labels), best and median of `repeat` runs.
2. `core`: consensus + leave-one-out agreement + every annotator score + the
   noise floor (workers/core/quality.report_figures) for N faces x 3 annotators
   (30 annotators, each face to 3 of them at random, 5% honeypot answers),
   plain numpy, best and median of `repeat` runs.
3. `database` (skipped with --core-only): the same labels stored in a throw-away
   PostgreSQL database (DATABASE_URL; bench/_django.py); `refresh_s` is reading
   every row and recomputing the report (what the first view after a change
   pays), `page_ms` the quality page's server time (Django test client, in
   process) with a fresh snapshot, `api_ms` the same for GET /api/v1/datasets/ID/quality/,
   `rewrite_consensus_s` the worker's rewrite of every consensus row under new noise.

Run: .venv/bin/python bench/bench_quality.py [--faces N] [--estimate-faces N ...] [--core-only]"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import timings
from workers.core import geometry, reliability
from workers.core import quality as core

PER_FACE = 3
N_ANNOTATORS = 30
SIGMAS = np.linspace(1.0, 8.0, N_ANNOTATORS)  # each annotator's noise, degrees


def simulated(n_faces: int, seed: int = 0):
    """(truth R (F, 3, 3), LabelTable, HoneypotTable, face ids of the labels)."""
    rng = np.random.default_rng(seed)
    truth = geometry.euler_to_matrix(rng.uniform([-80, -30, -20], [80, 30, 20], (n_faces, 3)))
    who = np.argsort(rng.random((n_faces, N_ANNOTATORS)), axis=1)[:, :PER_FACE]  # 3 distinct annotators per face
    annotator = who.reshape(-1)
    face = np.repeat(np.arange(n_faces), PER_FACE)
    sigma = np.deg2rad(SIGMAS[annotator]) / np.sqrt(3)
    R = truth[face] @ geometry.axis_angle_to_matrix(rng.normal(size=(len(face), 3)) * sigma[:, None])
    proposal = truth[face] @ geometry.axis_angle_to_matrix(rng.normal(size=(len(face), 3)) * np.deg2rad(3))
    n = len(face)
    labels = core.LabelTable(
        annotator=annotator.astype(np.int64),
        face=face.astype(np.int64),
        R=R,
        t=np.column_stack([rng.normal(0, 5, n), rng.normal(0, 5, n), 650 + rng.normal(0, 10, n)]),
        time_s=rng.gamma(4.0, 3.0, n),
        finished_at=1.7e9 + np.sort(rng.uniform(0, 30 * 86400, n)),
        proposal_R=proposal,
        review=rng.choice([0, 1, 2], n, p=[0.8, 0.15, 0.05]).astype(np.int8),
        counts_for_consensus=np.ones(n, bool),
    )
    hp = rng.random(n) < 0.05
    honeypots = core.HoneypotTable(
        annotator=annotator[hp].astype(np.int64),
        error_deg=np.abs(rng.normal(0, SIGMAS[annotator[hp]])),
        abs_yaw=rng.uniform(0, 80, int(hp.sum())),
    )
    return truth, labels, honeypots


def bench_reliability(n_faces: int, repeat: int) -> dict:
    _, labels, honeypots = simulated(n_faces)
    q = geometry.matrix_to_quaternion(labels.R)
    pq = geometry.matrix_to_quaternion(labels.proposal_R)
    out = {}

    def run():
        out["estimate"] = reliability.estimate(
            labels.face,
            labels.annotator,
            q,
            labels.counts_for_consensus,
            pq,
            hp_annotator=honeypots.annotator,
            hp_error_deg=honeypots.error_deg,
            hp_abs_yaw=honeypots.abs_yaw,
        )

    times = timings(run, repeat)
    est = out["estimate"]
    true = SIGMAS[est.noise.codes[est.noise.codes >= 0]]
    got = est.noise.deg[est.noise.codes >= 0]
    return {
        **_timed(n_faces, len(labels.face), repeat, times),
        "rounds": est.rounds,
        # how well the noise came out (the bench's own simulated team, not the fitting seeds)
        "noise_rel_error_median": round(float(np.median(np.abs(got / true - 1))), 3),
    }


def bench_core(n_faces: int, repeat: int) -> dict:
    _, labels, honeypots = simulated(n_faces)
    out = {}
    times = timings(lambda: out.update(core.report_figures(labels, honeypots, 5.0)), repeat)
    return {**_timed(n_faces, len(labels.face), repeat, times), "faces_needing_review": out["faces_needing_review"]}


def _timed(n_faces: int, n_labels: int, repeat: int, times: list[float]) -> dict:
    return {
        "faces": n_faces,
        "labels": n_labels,
        "annotators": N_ANNOTATORS,
        "repeat": repeat,
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
    }


def bench_database(n_faces: int, repeat: int) -> dict:
    from bench._django import django_test_db

    with django_test_db("quality", test_environment=True):
        from django.contrib.auth import get_user_model
        from django.test import Client

        from annotator.models import Annotation, Dataset, Face, Image
        from annotator.quality import services as quality_services

        _, labels, _ = simulated(n_faces)
        started = time.perf_counter()
        User = get_user_model()
        admin = User.objects.create_superuser("bench-admin", "a@example.com", "x")
        users = User.objects.bulk_create([User(username=f"annotator{i:02d}") for i in range(N_ANNOTATORS)])
        dataset = Dataset.objects.create(name="bench-quality", overlap=PER_FACE)
        K = geometry.default_intrinsics(640, 480).reshape(-1).tolist()
        images = Image.objects.bulk_create(
            [
                Image(
                    dataset=dataset,
                    file=f"images/{i}.jpg",
                    file_name=f"{i:07d}.jpg",
                    width=640,
                    height=480,
                    size_bytes=1,
                    checksum=f"{i:064d}",
                    K=K,
                )
                for i in range(n_faces)
            ],
            batch_size=5000,
        )
        faces = Face.objects.bulk_create([Face(image=im, box=[0, 0, 10, 10]) for im in images], batch_size=5000)
        R9 = labels.R.reshape(-1, 9).tolist()
        t3 = labels.t.tolist()
        states = ["", "approved", "rejected"]
        Annotation.objects.bulk_create(
            [
                Annotation(
                    face=faces[f],
                    dataset=dataset,
                    origin="annotator",
                    author=users[a],
                    status="corrected",
                    R=R9[i],
                    t=t3[i],
                    time_spent_s=labels.time_s[i],
                    total_time_s=labels.time_s[i],
                    review_state=states[labels.review[i]],
                )
                for i, (f, a) in enumerate(zip(labels.face.tolist(), labels.annotator.tolist()))
            ],
            batch_size=5000,
        )
        setup_s = time.perf_counter() - started
        refresh = timings(lambda: quality_services.refresh(dataset), repeat)
        # what the worker pays after the noise moved: every consensus row again (off every request's path)
        rewrite = timings(lambda: quality_services.rewrite_consensus(dataset.pk), 1)
        client = Client()
        client.force_login(admin)
        page = timings(lambda: _ok(client.get(f"/datasets/{dataset.name}/quality/")), max(repeat, 5))
        api = timings(lambda: _ok(client.get(f"/api/v1/datasets/{dataset.pk}/quality/")), max(repeat, 5))
        return {
            "faces": n_faces,
            "labels": len(labels.face),
            "setup_s": round(setup_s, 1),
            "refresh_s": {"best": round(min(refresh), 3), "median": round(statistics.median(refresh), 3)},
            "rewrite_consensus_s": round(rewrite[0], 3),
            "page_ms": {"best": round(1000 * min(page), 1), "median": round(1000 * statistics.median(page), 1)},
            "api_ms": {"best": round(1000 * min(api), 1), "median": round(1000 * statistics.median(api), 1)},
        }


def _ok(response):
    assert response.status_code == 200, response.status_code
    return response


def main() -> None:
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--estimate-faces", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--core-only", action="store_true")
    args = parser.parse_args()
    result = {
        "bench": "quality",
        "reliability": [bench_reliability(n, args.repeat) for n in args.estimate_faces],
        "core": bench_core(args.faces, args.repeat),
    }
    if not args.core_only:
        result["database"] = bench_database(args.faces, args.repeat)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
