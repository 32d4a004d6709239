"""A scripted annotator on the real AFLW2000 samples: how many actions from the
shown proposal to a pose within 2 deg (geodesic) of the ground truth, with
(a) keyboard nudges only and (b) landmark drags.

- Start: the proposal the labeling page shows (HEADPOSE_PROPOSER "auto" = the
  `fused` proposer; --proposer to change), run here on the app's own face
  detection, exactly as bench/proposer_accuracy.py does.
- (a) keyboard, greedy: each action is one of the editor's rotation nudges
  (yaw / pitch / roll, +/-, fine 1 deg or Shift coarse 5 deg; editor.nudgeEuler:
  the Euler angle changed, R rebuilt) and the policy takes the one that brings the
  pose nearest the truth (an oracle: no real annotator chooses that well).
  Translation nudges are never needed for a rotation error.
- (b) drags: each action drags the landmark whose reference-face projection is
  farthest from the sample's true image landmark (pt3d_68) to that true position
  plus Gaussian noise of 1.5 px per axis, and the pose is solved by the editor's
  own JS solver (static/js/editor/pnp.js through node, as pin() does: 1 pin x/y,
  2-3 rotation and x/y with the depth held, 4 or more a full solve).
- Both stop at <= 2 deg or after --max-actions; a run that never gets there counts
  --max-actions. Ground truth: Pose_Para (AFLW convention); K: the importer's
  model camera (formats.aflw2000.model_intrinsics). Noise seeds are fixed.

Prints one JSON object: per policy the median number of actions, the median and
per-sample final error, and how many samples reached 2 deg; also the JS solver's
time per solve (measured inside node).
Usage: .venv/bin/python bench/bench_landmark_drags.py [--proposer fused] [--max-actions 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import scipy.io as sio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json, weights_dir
from bench.pnp_node import NodeSolver, pose
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics, parse_labels
from workers.core.proposers.parts.reference_face import load_reference_face

TARGET_DEG = 2.0
NOISE_PX = 1.5
ANGLE_STEPS = (1.0, 5.0)  # annotator.label_views.DEFAULT_STEPS angle_fine / angle_coarse


def geodesic(R1, R2) -> float:
    return float(geometry.geodesic_distance(R1, R2))


def keyboard_policy(R_start, R_truth, max_actions: int) -> tuple[int, float]:
    """Greedy nudges; (actions, final error)."""
    R, actions = R_start, 0
    error = geodesic(R, R_truth)
    while error > TARGET_DEG and actions < max_actions:
        euler = geometry.matrix_to_euler(R)
        best = None
        for axis in range(3):
            for step in ANGLE_STEPS:
                for sign in (1, -1):
                    e = euler.copy()
                    e[axis] += sign * step
                    candidate = geometry.euler_to_matrix(e)
                    d = geodesic(candidate, R_truth)
                    if best is None or d < best[0]:
                        best = (d, candidate)
        if best[0] >= error:
            break  # no nudge helps
        error, R = best
        actions += 1
    return (actions if error <= TARGET_DEG else max_actions), error


def drag_policy(solver, K, model, truth_2d, start, R_truth, rng, max_actions: int) -> tuple[int, float, int]:
    """Drags of the worst landmark; (actions, final error, pins at the end)."""
    current, pins, actions = start, {}, 0
    error = geodesic(np.reshape(current["R"], (3, 3)), R_truth)
    while error > TARGET_DEG and actions < max_actions:
        shown = geometry.project(model, np.reshape(current["R"], (3, 3)), current["t"], K)
        worst = int(np.argmax(np.linalg.norm(shown - truth_2d, axis=1)))
        x, y = truth_2d[worst] + rng.normal(0, NOISE_PX, 2)
        pins[worst] = {"index": worst, "x": float(x), "y": float(y)}
        out = solver.call(
            "solvePins",
            K=K.reshape(9),
            points3d=model,
            pins=sorted(pins.values(), key=lambda p: p["index"]),
            pose=current,
        )
        current = {"R": out["R"], "t": out["t"]}
        error = geodesic(np.reshape(current["R"], (3, 3)), R_truth)
        actions += 1
    return (actions if error <= TARGET_DEG else max_actions), error, len(pins)


def proposals_for(samples, proposer_name: str):
    """The proposal shown for each sample: the proposer's pose for the detected
    face nearest the true landmarks (as bench/proposer_accuracy.py scores them)."""
    import cv2

    from bench.proposer_accuracy import pick
    from workers.core.proposers import create_proposer
    from workers.core.proposers.parts.detection import detect_faces

    images = [cv2.imread(str(s["image"])) for s in samples]
    Ks = [model_intrinsics(im.shape[1], im.shape[0]) for im in images]
    faces = [detect_faces(im) for im in images]
    proposer = create_proposer(proposer_name, weights_dir=weights_dir(), device="cpu")
    out = []
    for s, props in zip(samples, proposer.propose_faces(images, Ks, faces)):
        chosen = pick(props, s["truth_2d"].mean(0))
        out.append(None if chosen is None else pose(chosen.R, chosen.t))
    return out


def summary(actions, errors, reached):
    return {
        "median_actions": statistics.median(actions),
        "mean_actions": round(statistics.mean(actions), 2),
        "median_final_error_deg": round(statistics.median(errors), 3),
        "reached_2deg": f"{reached}/{len(actions)}",
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proposer", default="fused")
    ap.add_argument("--max-actions", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    folder = aflw_samples_dir()
    if not folder.is_dir():
        raise SystemExit(f"needs the AFLW2000 samples in {folder} (set HEADPOSE_SHARED_DIR)")
    samples = []
    for mat in sorted(folder.glob("*.mat")):
        label = parse_labels(sio.loadmat(mat), 450, 450, mat.name)
        samples.append(
            {
                "name": mat.stem,
                "image": mat.with_suffix(".jpg"),
                "R": label.R,
                "truth_2d": np.asarray(label.landmarks_2d),
            }
        )
    starts = proposals_for(samples, args.proposer)
    K = model_intrinsics(450, 450)
    model = load_reference_face().points68
    rng = np.random.default_rng(args.seed)
    rows, a_actions, a_errors, b_actions, b_errors = {}, [], [], [], []
    with NodeSolver() as solver:
        for s, start in zip(samples, starts):
            if start is None:
                rows[s["name"]] = "no face detected"
                continue
            R0 = np.reshape(start["R"], (3, 3))
            ka, ea = keyboard_policy(R0, s["R"], args.max_actions)
            kb, eb, n_pins = drag_policy(solver, K, model, s["truth_2d"], start, s["R"], rng, args.max_actions)
            a_actions.append(ka)
            a_errors.append(ea)
            b_actions.append(kb)
            b_errors.append(eb)
            rows[s["name"]] = {
                "start_error_deg": round(geodesic(R0, s["R"]), 3),
                "keyboard": {"actions": ka, "final_error_deg": round(ea, 3)},
                "drags": {"actions": kb, "final_error_deg": round(eb, 3), "pins": n_pins},
            }
        eight = [{"index": i, "x": 225.0 + i, "y": 225.0} for i in (36, 39, 42, 45, 30, 48, 54, 8)]
        timing = {
            f"{n}_pins": round(
                solver.call(
                    "timeSolvePins",
                    K=K.reshape(9),
                    points3d=model,
                    pins=eight[:n],
                    pose=starts[0] or pose(np.eye(3), [0, 0, 5000]),
                    repeats=500,
                )["ms_per_solve"],
                4,
            )
            for n in (1, 3, 8)
        }
    reached = lambda errors: sum(e <= TARGET_DEG for e in errors)  # noqa: E731
    out = {
        "samples": len(samples),
        "start": f"{args.proposer} proposal on the app's own detection",
        "target_deg": TARGET_DEG,
        "max_actions": args.max_actions,
        "drag_noise_px_per_axis": NOISE_PX,
        "keyboard_greedy": summary(a_actions, a_errors, reached(a_errors)),
        "landmark_drags": summary(b_actions, b_errors, reached(b_errors)),
        "action_ratio_drags_over_keyboard": round(
            statistics.median(b_actions) / max(statistics.median(a_actions), 1e-9), 3
        ),
        "js_solve_ms": timing,
        "per_sample": rows,
    }
    print_json(out)
    return out


if __name__ == "__main__":
    main()
