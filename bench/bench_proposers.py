"""Faces per second of every registered proposer whose weights exist.

Usage: .venv/bin/python bench/bench_proposers.py [--proposers a,b] [--batches 1,32]
       [--devices cpu,cuda] [--min-seconds 2]

Images: the real AFLW2000 samples in $HEADPOSE_SHARED_DIR/data/aflw2000/samples
(repeated to fill a batch), else the pip-shipped portraits. K = the AFLW camera
model (f = 10 max(w, h), principal point at the centre).
Two figures per proposer, device and batch size:
  end_to_end   propose(): detection + landmarks + the model
  model_only   propose_faces() on faces detected beforehand (what the model adds)
and detection alone once, with its two FaceMesh readings and with one
(refine=False). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json, seconds_per_call, weights_dir
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.proposers import available_proposers, create_proposer
from workers.core.proposers.parts.detection import detect_faces


def load_images():
    import cv2

    jpgs = sorted(aflw_samples_dir().glob("*.jpg"))
    if jpgs:
        return [cv2.imread(str(p)) for p in jpgs], "aflw2000 samples"
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg
    import skimage.data

    gh = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return [
        cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR),
        cv2.cvtColor(gh, cv2.COLOR_RGB2BGR),
    ], "pip portraits (no shared folder)"


def main(argv=None):
    ap = argparse.ArgumentParser(description="proposer throughput, JSON")
    ap.add_argument("--proposers", default="", help="comma list; default: all available")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--devices", default="", help="default: cpu, plus cuda when available")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    args = ap.parse_args(argv)
    from workers.device import configure_torch_threads

    threads = configure_torch_threads()  # as the workers run (HEADPOSE_TORCH_THREADS)

    images, images_from = load_images()
    batches = [int(b) for b in args.batches.split(",") if b]
    devices = [d for d in args.devices.split(",") if d] or ["cpu"]
    if not args.devices:
        try:
            import torch

            if torch.cuda.is_available():
                devices.append("cuda")
        except ImportError:
            pass
    weights = weights_dir()
    names = [n for n in args.proposers.split(",") if n] or available_proposers(weights)

    def batch_of(n):
        imgs = [images[i % len(images)] for i in range(n)]
        return imgs, [model_intrinsics(im.shape[1], im.shape[0]) for im in imgs]

    det_s, _ = seconds_per_call(lambda: [detect_faces(im) for im in images], args.min_seconds)
    # what the second FaceMesh pass and its mirrored twin cost (detection.REFINE_SCALE)
    det1_s, _ = seconds_per_call(lambda: [detect_faces(im, refine=False) for im in images], args.min_seconds)
    result = {
        "benchmark": "proposers",
        "images": images_from,
        "n_distinct_images": len(images),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "detection_faces_per_s": round(len(images) / det_s, 2),
        "detection_one_reading_faces_per_s": round(len(images) / det1_s, 2),
        "results": [],
    }
    for name in names:
        for device in devices:
            try:
                proposer = create_proposer(name, weights_dir=weights, device=device)
            except Exception as exc:  # report and go on: one broken model must not hide the rest
                result["results"].append({"proposer": name, "device": device, "error": f"{type(exc).__name__}: {exc}"})
                continue
            for b in batches:
                imgs, Ks = batch_of(b)
                faces = [detect_faces(im) for im in imgs]
                e2e_s, out = seconds_per_call(lambda p=proposer, i=imgs, k=Ks: p.propose(i, k), args.min_seconds)
                model_s, _ = seconds_per_call(
                    lambda p=proposer, i=imgs, k=Ks, f=faces: p.propose_faces(i, k, f), args.min_seconds
                )
                n_faces = sum(len(o) for o in out)
                result["results"].append(
                    {
                        "proposer": name,
                        "version": proposer.config.version,
                        "device": device,
                        "batch": b,
                        "faces": n_faces,
                        "end_to_end_faces_per_s": round(n_faces / e2e_s, 2),
                        "model_only_faces_per_s": round(n_faces / model_s, 2),
                        "end_to_end_ms_per_batch": round(1000 * e2e_s, 2),
                        "model_only_ms_per_batch": round(1000 * model_s, 2),
                    }
                )
    print_json(result)


if __name__ == "__main__":
    main()
