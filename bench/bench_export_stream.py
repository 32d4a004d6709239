"""Streaming exports through the app (issue 27 item 3): per format, faces/s,
output bytes per face and the export's peak memory, at two dataset sizes.

The app's own tables are filled with bulk inserts in a throw-away test database
(bench/_django.py; PostgreSQL when DATABASE_URL names it): one dataset, one face
per image with iBUG-68 2D and 3D landmarks, a proposal per face and an accepted
annotator label on every other face; labels=best, so every face's row comes from
one of two sources. Each export runs in a fresh Python process through
annotator.exports.services.write (the selector, the writers, a temporary file),
as a worker runs it; the process reports its RSS once Django is set up (VmRSS) and
its peak RSS during the export (VmHWM, reset just before: the whole process,
Django and numpy included; the import-time peak is left out). Prints JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose_exportbench \\
        .venv/bin/python bench/bench_export_stream.py [--sizes 10000 50000] [--formats ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

FORMATS = ("csv", "jsonl", "json", "coco", "aflw2000_mat", "biwi_pose")


def populate(name: str, n: int, seed: int = 0, landmarks: bool = True, batch: int = 5000):
    """A dataset of `n` faces (one per image) filled with bulk inserts; returns it.
    Every face has a proposal; every other face an accepted annotator label."""
    from django.contrib.auth import get_user_model

    from annotator.datasets.models import Dataset, Face, Image
    from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus
    from annotator.proposals.models import Proposal
    from workers.core import geometry
    from workers.core.proposers.parts.reference_face import load_reference_face

    rng = np.random.default_rng(seed)
    dataset = Dataset.objects.create(name=name)
    author, _ = get_user_model().objects.get_or_create(username="bench-annotator")
    K = geometry.default_intrinsics(640, 480)
    ref = load_reference_face().points68
    for start in range(0, n, batch):
        m = min(batch, n - start)
        images = Image.objects.bulk_create(
            [
                Image(
                    dataset=dataset,
                    file=f"images/bench/{name}/{start + i:07d}.jpg",
                    file_name=f"img{start + i:07d}.jpg",
                    width=640,
                    height=480,
                    size_bytes=1,
                    checksum=f"{start + i:064x}",
                    K=K.reshape(-1).tolist(),
                )
                for i in range(m)
            ]
        )
        R = geometry.euler_to_matrix(rng.uniform([-80, -40, -30], [80, 40, 30], (m, 3)))
        t = np.column_stack([rng.uniform(-100, 100, (m, 2)), rng.uniform(500, 1500, m)])
        faces = []
        for i, image in enumerate(images):
            face = Face(image=image, index=0, box=[200.0, 120.0, 440.0, 360.0])
            if landmarks:
                L3 = ref @ R[i].T + t[i]
                L2 = (L3 @ K.T)[:, :2] / L3[:, 2:]
                face.landmarks_3d, face.landmarks_2d, face.landmark_scheme = L3.tolist(), L2.tolist(), "ibug68"
            faces.append(face)
        faces = Face.objects.bulk_create(faces)
        noisy = geometry.euler_to_matrix(rng.uniform([-80, -40, -30], [80, 40, 30], (m, 3)))
        proposals = Proposal.objects.bulk_create(
            [
                Proposal(
                    face=face,
                    proposer="bench-proposer",
                    proposer_version="1",
                    weights_sha256="0" * 64,
                    score=0.9,
                    R=noisy[i].reshape(-1).tolist(),
                    t=t[i].tolist(),
                )
                for i, face in enumerate(faces)
            ]
        )
        Annotation.objects.bulk_create(
            [
                Annotation(
                    face=face,
                    dataset=dataset,
                    origin=AnnotationOrigin.ANNOTATOR,
                    author=author,
                    proposal=proposals[i],
                    status=AnnotationStatus.ACCEPTED,
                    R=R[i].reshape(-1).tolist(),
                    t=t[i].tolist(),
                    moved_deg=1.0,
                    moved_mm=2.0,
                )
                for i, face in enumerate(faces)
                if (start + i) % 2 == 0
            ]
        )
    return dataset


def run_export(connection, dataset, options: dict) -> dict:
    """One export in a fresh Python process (as a worker runs it: Django set up,
    then exports.services.write to a temporary file): seconds, bytes, rows, its
    RSS before the export and its peak RSS (MB)."""
    env = {**os.environ, "DATABASE_URL": _url(connection.settings_dict)}
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(dataset.pk), json.dumps(options)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(child.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": child.stderr[-2000:]}


def _url(db: dict) -> str:
    """postgres://user@host:port/NAME of the bench's test database."""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def child(dataset_id: int, options: dict) -> None:
    from bench._django import setup_django

    setup_django("exportstream-child")
    from annotator.datasets.models import Dataset
    from annotator.exports import services as exports

    dataset = Dataset.objects.get(pk=dataset_id)
    rss_before = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS: the peak below is the export's
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        written = exports.write(dataset, options, out)
        size = out.tell()
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM")
    print(
        json.dumps(
            {"seconds": seconds, "bytes": size, "rows": written.rows, "rss_before_mb": rss_before, "peak_rss_mb": peak}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--landmarks", default="2d", choices=["2d", "none", "full"])
    # each export this many times (a fresh process each): the fastest run's figures, every run's seconds
    # and the load average around each (the host is shared: one run can be slowed down twice over)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(int(args.child[0]), json.loads(args.child[1]))

    from bench._django import django_test_db

    with django_test_db("exportstream") as connection:
        figures: dict = {
            "database": connection.vendor,
            "labels": "best",
            "landmarks_option": args.landmarks,
            "sizes": {},
        }
        for n in args.sizes:
            t0 = time.perf_counter()
            dataset = populate(f"stream-{n}", n)
            per_format = {"populate_s": round(time.perf_counter() - t0, 1)}
            for fmt in args.formats:
                runs = []
                for _ in range(args.repeat):
                    load = os.getloadavg()[0]
                    runs.append(
                        run_export(connection, dataset, {"format": fmt, "labels": "best", "landmarks": args.landmarks})
                    )
                    runs[-1]["load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                done = [r for r in runs if "error" not in r]
                r = min(done, key=lambda r: r["seconds"]) if done else runs[0]
                if "error" not in r:
                    r = {
                        "faces_per_s": round(r["rows"] / r["seconds"]),
                        "bytes_per_face": round(r["bytes"] / max(r["rows"], 1)),
                        "seconds": round(r["seconds"], 2),
                        "rows": r["rows"],
                        "rss_before_mb": round(r["rss_before_mb"], 1),
                        "peak_rss_mb": round(max(run["peak_rss_mb"] for run in done), 1),  # the highest of the runs
                        "runs_s": [round(run["seconds"], 2) for run in done],
                        "load_1min": r["load_1min"],  # before and after the fastest run
                    }
                per_format[fmt] = r
                print(json.dumps({"faces": n, "format": fmt, **r}), file=sys.stderr, flush=True)
            figures["sizes"][n] = per_format
        figures["load_average"] = os.getloadavg()
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
