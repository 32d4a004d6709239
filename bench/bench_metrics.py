"""Time metrics.evaluate (and prediction-file parsing) at BIWI protocol-1 scale.

Ground truth: ../shared/data/biwi/protocol1_annotations.txt (13,219 frames,
columns pitch yaw roll), or $HEADPOSE_SHARED_DIR; synthetic angles of the same
size when the folder is absent. Predictions: ground truth + seeded normal noise.
Prints one JSON object. Usage: .venv/bin/python bench/bench_metrics.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import print_json, shared_dir, timings
from workers.core import geometry
from workers.core.metrics import evaluate
from workers.core.predictions import parse_predictions


def load_ground_truth(n_synthetic: int = 13219):
    path = shared_dir() / "data" / "biwi" / "protocol1_annotations.txt"
    if path.exists():
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        gt = np.array([[float(r[2]), float(r[1]), float(r[3])] for r in rows])
        return [r[0] for r in rows], gt, "biwi_protocol1"
    rng = np.random.default_rng(0)
    gt = rng.uniform([-75, -60, -45], [75, 60, 45], (n_synthetic, 3))
    return [f"s{k:05d}" for k in range(n_synthetic)], gt, "synthetic"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--noise-std", type=float, default=4.0)
    args = ap.parse_args()

    names, gt, ground_truth = load_ground_truth()
    rng = np.random.default_rng(1)
    pred = gt + rng.normal(0, args.noise_std, gt.shape)
    gt_R, pred_R = geometry.euler_to_matrix(gt), geometry.euler_to_matrix(pred)

    evaluate(pred_R, gt_R)  # warm-up
    t_eval = timings(lambda: evaluate(pred_R, gt_R), args.repeats)
    t_eval_ps = timings(lambda: evaluate(pred_R, gt_R, per_sample=True), args.repeats)
    result = evaluate(pred_R, gt_R)

    csv = ("id,yaw,pitch,roll\n" + "".join(f"{n},{y!r},{p!r},{r!r}\n" for n, (y, p, r) in zip(names, pred))).encode()
    rcsv = (
        "id,"
        + ",".join(f"r{i}{j}" for i in range(3) for j in range(3))
        + "\n"
        + "".join(n + "," + ",".join(repr(v) for v in R.ravel()) + "\n" for n, R in zip(names, pred_R))
    ).encode()
    t_parse = timings(lambda: parse_predictions(csv, "p.csv", expected_ids=names), args.repeats)
    t_parse_r = timings(lambda: parse_predictions(rcsv, "p.csv", expected_ids=names), args.repeats)

    print_json(
        {
            "benchmark": "metrics.evaluate",
            "ground_truth": ground_truth,
            "n": int(len(gt)),
            "repeats": args.repeats,
            "seconds_median": float(np.median(t_eval)),
            "seconds_min": float(np.min(t_eval)),
            "seconds_median_with_per_sample": float(np.median(t_eval_ps)),
            "parse_csv_euler_seconds_median": float(np.median(t_parse)),
            "parse_csv_matrix_seconds_median": float(np.median(t_parse_r)),
            "csv_euler_bytes": len(csv),
            "csv_matrix_bytes": len(rcsv),
            "mae_mean": result["mae_mean"],
            "geodesic_mean": result["geodesic_mean"],
        }
    )


if __name__ == "__main__":
    main()
