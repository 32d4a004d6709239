"""Timing check, not a test: 100,000 rows (no landmarks, a shared K, a box and
a small provenance dict each) through the csv, json and coco exports, written
to memory. Run: .venv/bin/python bench/bench_export_formats.py [n]"""

import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import timings
from workers.core import geometry
from workers.core.exports import write_export
from workers.core.label_rows import LabelRow


def rows(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    R = geometry.euler_to_matrix(rng.uniform(-90, 90, (n, 3)))
    t = rng.uniform([-200, -200, 500], [200, 200, 3000], (n, 3))
    K = geometry.default_intrinsics(640, 480)
    return [
        LabelRow(
            f"dir/img{i // 2:06d}.jpg",
            i % 2,
            R[i],
            t[i],
            "annotator",
            "bob",
            image_id=i // 2 + 1,
            face_id=i + 1,
            width=640,
            height=480,
            K=K,
            box=(10.0, 20.0, 110.0, 140.0),
            provenance={"author": "bob", "status": "accepted", "version": 3},
        )
        for i in range(n)
    ]


def main(n: int = 100_000, repeat: int = 3) -> None:
    data = rows(n)
    meta = {"dataset": "bench", "labels": "best", "exported_at": "2025-01-01T00:00:00Z"}
    for fmt in ("csv", "json", "coco"):
        out = io.BytesIO()

        def write(out=out, fmt=fmt):
            out.seek(0)
            out.truncate()
            write_export(fmt, data, out, meta)

        times = timings(write, repeat)
        print(
            f"{fmt:5s} {n:,} rows: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
            f"of {repeat}, {len(out.getvalue()) / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
