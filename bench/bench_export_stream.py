"""Streaming exports through the app (issue 27 item 3): per format, faces/s,
output bytes per face and the export's peak memory, at two dataset sizes.

The app's own tables are filled with bulk inserts in a throw-away test database
(bench/_django.py; PostgreSQL when DATABASE_URL names it): one dataset, one face
per image with iBUG-68 2D and 3D landmarks, a proposal per face and an accepted
annotator label on every other face; labels=best, so every face's row comes from
one of two sources. Each export runs in a forked child process through
annotator.exports.services.write (the selector, the writers, a temporary file),
as a worker runs it; the child reports its peak RSS above what it started with
(VmHWM - VmRSS at the fork) and the tracemalloc peak is not used (it slows the
run). Prints JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose_exportbench \\
        .venv/bin/python bench/bench_export_stream.py [--sizes 10000 50000] [--formats ...]
"""

from __future__ import annotations

import argparse
import json
import os
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
                    checksum="0" * 64,
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


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def run_export(dataset, options: dict) -> dict:
    """One export in a forked child: seconds, bytes, rows, peak RSS above the start (MB)."""
    from django.db import connections

    connections.close_all()  # the child opens its own connection
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            from annotator.exports import services as exports

            start_rss = _status_kb("VmRSS")
            t0 = time.perf_counter()
            with tempfile.TemporaryFile() as out:
                written = exports.write(dataset, options, out)
                size = out.tell()
            result = {
                "seconds": time.perf_counter() - t0,
                "bytes": size,
                "rows": written.rows,
                "peak_rss_above_start_mb": (_status_kb("VmHWM") - start_rss) / 1024,
            }
        except BaseException as exc:  # reported, never raised in the child
            result = {"error": repr(exc)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        result = json.loads(fh.read() or "{}")
    os.waitpid(pid, 0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--landmarks", default="2d", choices=["2d", "none", "full"])
    args = parser.parse_args()

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
                r = run_export(dataset, {"format": fmt, "labels": "best", "landmarks": args.landmarks})
                if "error" not in r:
                    r = {
                        "faces_per_s": round(r["rows"] / r["seconds"]),
                        "bytes_per_face": round(r["bytes"] / max(r["rows"], 1)),
                        "seconds": round(r["seconds"], 2),
                        "rows": r["rows"],
                        "peak_rss_above_start_mb": round(r["peak_rss_above_start_mb"], 1),
                    }
                per_format[fmt] = r
                print(json.dumps({"faces": n, "format": fmt, **r}), file=sys.stderr, flush=True)
            figures["sizes"][n] = per_format
        figures["load_average"] = os.getloadavg()
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
