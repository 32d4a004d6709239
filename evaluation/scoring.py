"""Metrics of predictions on a benchmark, stored on an entry.

Metrics come from workers.core.metrics.evaluate on the benchmark's ground
truth (the dataset's own labels, Annotation origin=ground_truth). Per-angle errors
compare the Euler angles of both rotations decomposed the same way
(geometry.matrix_to_euler, yaw in [-90, 90]); for |yaw| < 90 these are the
dataset's own angles. Samples without a prediction are counted as missing
(coverage) and never enter an average silently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.benchmarks import ground_truth_by_name
from evaluation.errors import EvaluationRequestError
from evaluation.models import Benchmark, Entry
from workers.core.metrics import evaluate

MAX_MISSING_LISTED = 50


@dataclass
class GroundTruth:
    names: list[str]
    R: np.ndarray  # (N, 3, 3)


def load_ground_truth(benchmark: Benchmark) -> GroundTruth:
    gt = ground_truth_by_name(benchmark.dataset)
    missing = [n for n in benchmark.sample_names if n not in gt]
    if missing:
        raise EvaluationRequestError(
            f"the ground truth of {len(missing)} benchmark sample(s) is gone (e.g. {missing[0]!r}); "
            "rebuild the benchmark"
        )
    R = np.array([gt[n]["R"] for n in benchmark.sample_names], dtype=np.float64).reshape(-1, 3, 3)
    return GroundTruth(list(benchmark.sample_names), R)


def compute_metrics(benchmark: Benchmark, gt: GroundTruth, index, pred_R) -> dict:
    """Metrics of predictions for the samples at `index` (positions in the
    benchmark's sample list). -> {'summary', 'details', 'per_sample', 'coverage'}."""

    index = np.asarray(index, dtype=np.int64)
    pred_R = np.asarray(pred_R, dtype=np.float64).reshape(-1, 3, 3)
    order = np.argsort(index, kind="stable")
    index, pred_R = index[order], pred_R[order]
    expected = len(gt.names)
    coverage = {
        "matched": int(index.size),
        "expected": expected,
        "missing": expected - int(index.size),
        "fraction": index.size / expected if expected else 0.0,
    }
    if index.size == 0:
        return {"summary": {"count": 0, "coverage": coverage}, "details": {}, "per_sample": {}, "coverage": coverage}
    m = evaluate(pred_R, gt.R[index], benchmark.error_definition, per_sample=True)
    per_sample = m.pop("per_sample")
    per_sample["index"] = index.tolist()
    details = {"yaw_bins": m.pop("yaw_bins"), "curves": m.pop("curves")}
    m["coverage"] = coverage
    return {"summary": m, "details": details, "per_sample": per_sample, "coverage": coverage}


def store_metrics(entry: Entry, benchmark: Benchmark, result: dict, missing_names: list[str]) -> None:
    s = result["summary"]
    entry.summary, entry.details, entry.per_sample = s, result["details"], result["per_sample"]
    entry.expected, entry.matched = result["coverage"]["expected"], result["coverage"]["matched"]
    entry.missing_sample = missing_names[:MAX_MISSING_LISTED]
    for key in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean"):
        setattr(entry, key, s.get(key))
