"""How far may a label's landmark pins be from its pose? The limit of the
server's check (workers/core/landmark_pins.py: PINS_MATCH_LIMIT_MM on the head
at its depth, at least PINS_MATCH_FLOOR_PX), measured on correct solves, printed
as JSON.

A correct solve: pins where people put the landmarks, solved by the labeling
page's own solver (static/js/editor/pnp.js `solvePins`, in node through
bench/pnp_stdio.mjs: 1 pin moves x/y, 2-3 rotation and x/y at the depth held, 4+
all six) from a start off the face's pose as a proposal is (a random rotation of
up to 10 degrees, up to 15 mm in x/y, depth off by up to 15 %). The figure is
the pins' RMSE at the solved pose, in pixels and in mm on the head (px x t_z / f).

- fit set (the limit is chosen on it): AFLW2000-3D's re-annotated 68 landmarks
  (gt_arrays/AFLW2000-3D-Reannotated.pts68.npy: placed by people, so with their
  placement error and the face's own shape against the mean reference face),
  every BENCH_PIN_STRIDE-th face with |angles| <= 99 degrees, the 10 real
  samples left out; pin counts 1, 2, 3, 4, 6, 8, 12, 20, 68, random landmarks.
- held-out set (reported, never tuned on): the 10 real samples
  (data/aflw2000/samples, their 3DMM-fitted 2D landmarks, 1.5 px noise per axis),
  the same counts and starts; and how many of their solved poses turned by hand
  by 5, 10, 20 and 30 degrees after pinning the check refuses (what it is for).

K: AFLW2000's model intrinsics (workers/core/formats/aflw2000.model_intrinsics),
the one the import gives these images.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import print_json, shared_dir
from bench.pnp_node import NodeSolver, pose
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics, parse_labels
from workers.core.landmark_pins import PINS_MATCH_FLOOR_PX, PINS_MATCH_LIMIT_MM, pins_fit
from workers.core.proposers.parts.reference_build import aflw_to_camera, similarity

COUNTS = (1, 2, 3, 4, 6, 8, 12, 20, 68)
STRIDE = int(os.environ.get("BENCH_PIN_STRIDE", "4"))
SIDE = 450
TURNS_DEG = (5.0, 10.0, 20.0, 30.0)


def random_rotation(rng, max_deg):
    axis = rng.normal(size=3)
    return geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.deg2rad(rng.uniform(0, max_deg)))


def start_from(R, t, rng):
    """A start off (R, t) as a proposal is."""
    t = np.array(t, dtype=float)
    t[:2] += rng.uniform(-15, 15, 2)
    t[2] *= rng.uniform(0.85, 1.15)
    return random_rotation(rng, 10.0) @ R, t


def solve_case(solver, K, model, uv, best_R, best_t, count, rng):
    """Pins on `count` random landmarks (their image points uv), solved from a start: (fit, solved pose)."""
    idx = sorted(rng.choice(68, size=count, replace=False).tolist())
    pins = [{"index": i, "x": float(uv[i, 0]), "y": float(uv[i, 1])} for i in idx]
    R0, t0 = start_from(best_R, best_t, rng)
    out = solver.call("solvePins", K=K.reshape(9), points3d=model, pins=pins, pose=pose(R0, t0))
    R, t = np.array(out["R"]).reshape(3, 3), np.array(out["t"])
    return pins_fit(pins, R, t, K, model), pins, R, t


def summary(fits):
    mm = np.array([f.rmse_mm for f in fits])
    px = np.array([f.rmse_px for f in fits])
    return {
        "n": len(fits),
        "rmse_mm_p50": round(float(np.median(mm)), 2),
        "rmse_mm_p99": round(float(np.percentile(mm, 99)), 2),
        "rmse_mm_max": round(float(mm.max()), 2),
        "rmse_px_max": round(float(px.max()), 2),
        "refused": int(sum(not f.matches for f in fits)),
    }


def best_pose(solver, K, model, uv, R_guess, t_guess):
    """The reference face's pose that fits all 68 points best (the solver, from a guess)."""
    out = solver.call("solvePnP", K=K.reshape(9), points3d=model, points2d=uv, start=pose(R_guess, t_guess))
    return np.array(out["R"]).reshape(3, 3), np.array(out["t"])


def main():
    from workers.core.proposers.parts.reference_face import load_reference_face

    model = load_reference_face().points68
    K = model_intrinsics(SIDE, SIDE)
    shared = shared_dir()
    g = shared / "data" / "aflw2000" / "gt_arrays"
    samples_dir = shared / "data" / "aflw2000" / "samples"
    held_out = sorted(p.stem for p in samples_dir.glob("*.mat"))
    names = [Path(n).stem for n in (g / "file_list.txt").read_text().split()]
    pts3d = aflw_to_camera(np.load(g / "AFLW2000-3D.pts68.npy"))
    pts2d = np.swapaxes(np.load(g / "AFLW2000-3D-Reannotated.pts68.npy"), 1, 2).astype(np.float64)
    rng = np.random.default_rng(26)
    fit_cases: dict[int, list] = {c: [] for c in COUNTS}
    held_cases: dict[int, list] = {c: [] for c in COUNTS}
    turned: dict[float, list] = {d: [] for d in TURNS_DEG}
    with NodeSolver() as solver:
        used = 0
        for i, name in enumerate(names):
            if i % STRIDE or name in held_out:
                continue
            # a guess from the 3DMM's points (pixels, depth in pixels: a scaled camera frame)
            scale, R_guess, _ = similarity(model, pts3d[i])
            if np.abs(geometry.matrix_to_euler(R_guess)).max() > 99:
                continue
            z = K[0, 0] / scale
            centre = pts3d[i][:, :2].mean(0)
            t_guess = np.array([(centre[0] - K[0, 2]) * z / K[0, 0], (centre[1] - K[1, 2]) * z / K[1, 1], z])
            best_R, best_t = best_pose(solver, K, model, pts2d[i], R_guess, t_guess)
            for count in COUNTS:
                fit_cases[count].append(solve_case(solver, K, model, pts2d[i], best_R, best_t, count, rng)[0])
            used += 1
        for mat in sorted(samples_dir.glob("*.mat")):
            import scipy.io as sio

            label = parse_labels(sio.loadmat(mat), SIDE, SIDE, mat.name)
            uv = np.asarray(label.landmarks_2d, dtype=float) + rng.normal(0, 1.5, (68, 2))
            best_R, best_t = best_pose(solver, K, model, uv, label.R, label.t)
            for count in COUNTS:
                fit, pins, R, t = solve_case(solver, K, model, uv, best_R, best_t, count, rng)
                held_cases[count].append(fit)
                if count >= 4:  # turned by hand after pinning, about the head's origin
                    for deg in TURNS_DEG:
                        axis = rng.normal(size=3)
                        Rt = geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.deg2rad(deg)) @ R
                        turned[deg].append(pins_fit(pins, Rt, t, K, model))
    fit_all = [f for fs in fit_cases.values() for f in fs]
    print_json(
        {
            "benchmark": "landmark pins against their solved pose: the server's limit",
            "limit": {"mm_on_the_head": PINS_MATCH_LIMIT_MM, "floor_px": PINS_MATCH_FLOOR_PX},
            "fit_set": {
                "faces": used,
                "stride": STRIDE,
                "all": summary(fit_all),
                "by_pin_count": {c: summary(fs) for c, fs in fit_cases.items()},
            },
            "held_out_samples": {
                "faces": len(held_out),
                "all": summary([f for fs in held_cases.values() for f in fs]),
                "by_pin_count": {c: summary(fs) for c, fs in held_cases.items()},
                "turned_after_pinning_refused": {
                    f"{d:g}_deg": f"{sum(not f.matches for f in fs)}/{len(fs)}" for d, fs in turned.items()
                },
            },
        }
    )


if __name__ == "__main__":
    main()
