"""FaceBoxes as the fallback face detector: faces found and box fit on the real
samples, and CPU time per image.

Usage: .venv/bin/python bench/bench_faceboxes.py [--min-seconds 2]

Images: the 10 real AFLW2000 samples in $HEADPOSE_SHARED_DIR/data/aflw2000/samples,
upright and turned 90 deg clockwise (a phone held sideways: mediapipe misses
most of them). Per set and detector (mediapipe alone, FaceBoxes alone,
mediapipe with the FaceBoxes fallback): images with a face whose best box holds
the ground-truth landmarks' centroid, and the mean IoU of that box with the
landmarks' bounding box (over the images with any box). CPU ms per upright image:
mediapipe detection alone (no FaceMesh), FaceBoxes alone, and the full
detect_faces with the fallback. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json, seconds_per_call, weights_dir
from workers.core.proposers.parts import faceboxes
from workers.core.proposers.parts.detection import detect_faces


def load_samples():
    """(name, BGR image, (68, 2) landmarks) upright, and the same turned 90 deg clockwise."""
    import cv2
    import numpy as np
    import scipy.io

    upright, turned = [], []
    for jpg in sorted(aflw_samples_dir().glob("*.jpg")):
        img = cv2.imread(str(jpg))
        pts = scipy.io.loadmat(str(jpg.with_suffix(".mat")))["pt3d_68"][:2].T
        upright.append((jpg.stem, img, pts))
        turned.append(
            (
                jpg.stem,
                cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE),
                np.column_stack([img.shape[0] - 1 - pts[:, 1], pts[:, 0]]),
            )
        )
    if not upright:
        raise SystemExit(f"no samples in {aflw_samples_dir()} (set HEADPOSE_SHARED_DIR)")
    return upright, turned


def box_fit(boxes_per_image, samples) -> dict:
    """Images whose best box holds the landmarks' centroid; mean IoU with the landmark box."""
    import numpy as np

    hits, ious = 0, []
    for boxes, (_, _, pts) in zip(boxes_per_image, samples):
        if not boxes:
            continue
        box = np.asarray(boxes[0], np.float64)
        c = pts.mean(0)
        hits += bool(box[0] <= c[0] <= box[2] and box[1] <= c[1] <= box[3])
        ious.append(faceboxes.iou(np.r_[pts.min(0), pts.max(0)], box[None])[0])
    return {"found": hits, "of": len(samples), "mean_iou": round(float(np.mean(ious)), 3) if ious else None}


def detectors(fb):
    """name -> image -> boxes, best first (the three ways a face can be found)."""
    return {
        "mediapipe": lambda im: [f.box for f in detect_faces(im, with_landmarks=False)],
        "faceboxes": lambda im: [b for b, _ in fb.detect(im)],
        "mediapipe+faceboxes_fallback": lambda im: [f.box for f in detect_faces(im, with_landmarks=False, fallback=fb)],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="FaceBoxes fallback detector, JSON")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    args = ap.parse_args(argv)
    from workers.device import configure_torch_threads

    threads = configure_torch_threads()  # as the workers run (HEADPOSE_TORCH_THREADS)
    fb = faceboxes.FaceBoxesDetector(weights_dir() / faceboxes.WEIGHTS_FILE)
    upright, turned = load_samples()
    result = {"images": "aflw2000 samples", "torch_threads": threads}
    for set_name, samples in (("upright", upright), ("turned_90", turned)):
        result[set_name] = {
            name: box_fit([fn(im) for _, im, _ in samples], samples) for name, fn in detectors(fb).items()
        }
    images = [im for _, im, _ in upright]
    timed = {
        "mediapipe_detection": lambda: [detect_faces(im, with_landmarks=False) for im in images],
        "faceboxes": lambda: [fb.detect(im) for im in images],
        "detect_faces_with_fallback": lambda: [detect_faces(im, fallback=fb) for im in images],
    }
    result["cpu_ms_per_image"] = {
        name: round(1000 * seconds_per_call(fn, args.min_seconds)[0] / len(images), 2) for name, fn in timed.items()
    }
    print_json(result)


if __name__ == "__main__":
    main()
