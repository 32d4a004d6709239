"""Accuracy (and time) of every available pose proposer on the real AFLW2000 samples.

Faces come from the app's own detection (detection.detect_faces), never from
ground-truth crops; every proposer gets the same detected faces. Per image the
proposal whose box centre is nearest the ground-truth landmarks' centroid is
scored (the samples hold one face each). Ground truth: Pose_Para, AFLW
convention (POSE_CONVENTIONS.md); errors: plain |d| per angle, degrees.
K: the AFLW2000 importer's model camera (formats.aflw2000.model_intrinsics, a long
focal length: the labels come from a weak-perspective fit), as stored on import.

Prints one JSON object: per proposer the face count, MAE yaw / pitch / roll /
mean, per-sample mean errors and the time per image ("in_sample": scored with
the shipped constants, some of which were fitted on these very faces), and
"leave_one_out" (bench/proposer_loo.py): every fitted constant (landmarks-fit's
reference face, fused's member MAEs, the confidence calibration) refitted
without the held-out face; per member and fused, MAE per angle and per |yaw|
bin, the fused result at other drop thresholds, and the confidence curve (mean
error per confidence bin). The accuracy table of docs/PROPOSALS.md quotes "leave_one_out".
Usage: .venv/bin/python bench/proposer_accuracy.py [--proposers a,b] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.io as sio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json, shared_dir
from bench._common import weights_dir as default_weights_dir
from bench.proposer_loo import leave_one_out, pick
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.metrics import angle_errors
from workers.core.proposers import available_proposers, create_proposer
from workers.core.proposers.parts.detection import detect_faces
from workers.core.proposers.parts.faceboxes import detector_in


def load_samples(folder: Path):
    """[(name, image BGR, gt euler [yaw, pitch, roll] deg, gt landmarks (68, 2))]."""
    out = []
    for img_path in sorted(folder.glob("*.jpg")):
        mat = sio.loadmat(img_path.with_suffix(".mat"))
        pitch, yaw, roll = mat["Pose_Para"][0, :3]
        out.append((img_path.name, cv2.imread(str(img_path)), np.rad2deg([yaw, pitch, roll]), mat["pt3d_68"][:2].T))
    return out


def evaluate(names, samples, faces, device="cpu", weights_dir=None, chosen_out=None) -> dict:
    """weights_dir: default $HEADPOSE_WEIGHTS_DIR, else the shared folder's weights.
    chosen_out: a dict that receives each proposer's chosen proposal per sample."""
    weights_dir = weights_dir if weights_dir is not None else default_weights_dir()
    images = [s[1] for s in samples]
    Ks = [model_intrinsics(im.shape[1], im.shape[0]) for im in images]
    gt = np.array([s[2] for s in samples])
    result = {}
    for name in names:
        proposer = create_proposer(name, weights_dir=weights_dir, device=device)
        proposer.propose_faces(images[:1], Ks[:1], faces[:1])  # warm-up (lazy graphs, allocations)
        t0 = time.perf_counter()
        props = proposer.propose_faces(images, Ks, faces)
        dt = time.perf_counter() - t0
        chosen = [pick(p, s[3].mean(0)) for p, s in zip(props, samples)]
        if chosen_out is not None:
            chosen_out[name] = chosen
        found = np.array([c is not None for c in chosen])
        row = {
            "faces_found": int(found.sum()),
            "images": len(samples),
            "seconds_per_image": dt / len(samples),
            "device": proposer.device,
        }
        if found.any():
            pred = geometry.matrix_to_euler(np.stack([c.R for c in chosen if c is not None]))
            err = angle_errors(pred, gt[found], "plain")
            row.update({f"mae_{a}": float(v) for a, v in zip(("yaw", "pitch", "roll"), err.mean(0))})
            row["mae_mean"] = float(err.mean())
            row["per_sample_mean_error"] = dict(
                zip([s[0] for s, f in zip(samples, found) if f], np.round(err.mean(1), 3).tolist())
            )
        if hasattr(proposer, "member_names"):
            row["members"] = proposer.member_names
        result[name] = row
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proposers", default="", help="comma-separated names (default: all available)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-loo", dest="loo", action="store_false", help="skip the leave-one-out figures")
    args = ap.parse_args(argv)
    folder = aflw_samples_dir()
    if not folder.is_dir():
        raise SystemExit(f"needs the AFLW2000 samples in {folder} (set HEADPOSE_SHARED_DIR)")
    names = [n for n in args.proposers.split(",") if n] or available_proposers(default_weights_dir())
    samples = load_samples(folder)
    t0 = time.perf_counter()
    fallback = detector_in(default_weights_dir())  # as Proposer.propose: FaceBoxes where mediapipe finds nothing
    faces = [detect_faces(s[1], fallback=fallback) for s in samples]
    detect_s = (time.perf_counter() - t0) / len(samples)
    chosen = {}
    in_sample = evaluate(names, samples, faces, args.device, chosen_out=chosen)
    Ks = [model_intrinsics(s[1].shape[1], s[1].shape[0]) for s in samples]
    fixed = {n: c for n, c in chosen.items() if n in ("mobilenet-3dmm", "fsanet", "6drepnet", "hopenet")}
    out = {
        "samples": len(samples),
        "detection_seconds_per_image": detect_s,
        "faces_detected": sum(len(f) for f in faces),
        "angle_error": "plain |d|, AFLW convention",
        "proposers": in_sample,
        "leave_one_out": leave_one_out(samples, faces, Ks, fixed, shared_dir()) if args.loo else None,
    }
    print_json(out)
    return out


if __name__ == "__main__":
    main()
