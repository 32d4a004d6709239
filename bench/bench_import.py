"""Import N AFLW2000-format pairs generated from the shared samples and print
images per second (JSON). Usage: python bench/bench_import.py [--n 2000]"""

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json
from bench._django import django_test_db


def generate(folder: Path, n: int) -> None:
    samples = sorted(aflw_samples_dir().glob("*.jpg"))
    base = [np.asarray(Image.open(p).convert("RGB")) for p in samples]
    mats = [p.with_suffix(".mat").read_bytes() for p in samples]
    for i in range(n):
        k = i % len(samples)
        pixels = base[k].copy()
        bits = np.array([(i >> b) & 1 for b in range(16)], dtype=np.uint8).reshape(4, 4) * 255
        pixels[:32, :32] = np.kron(bits, np.ones((8, 8), np.uint8))[..., None]  # a distinct image per pair
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=92)
        (folder / f"image{i:05d}.jpg").write_bytes(buf.getvalue())
        (folder / f"image{i:05d}.mat").write_bytes(mats[k])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="headpose-aflw-bench-"))
    try:
        generate(folder, args.n)
        with django_test_db("import") as connection:
            from annotator.datasets import importing
            from annotator.models import Job

            job = importing.create_import_job(
                kind=Job.Kind.IMPORT_AFLW2000, dataset_name="bench", server_path=str(folder)
            )
            start = time.perf_counter()
            job = importing.run_import_job(job.pk)
            seconds = time.perf_counter() - start
            print_json(
                {
                    "bench": "import_aflw2000",
                    "pairs": args.n,
                    "imported": job.succeeded,
                    "errors": len(job.errors),
                    "seconds": round(seconds, 2),
                    "images_per_second": round(job.succeeded / seconds, 1),
                    "database": connection.vendor,
                }
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
