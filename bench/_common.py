"""What every bench script shares: where the real data and weights are, timing,
latency summaries, and the one JSON document a script prints.

Scripts run as `python bench/NAME.py`; each puts the repository on sys.path
before importing this module (`from bench._common import ...`)."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """../shared (or $HEADPOSE_SHARED_DIR): real data and weights."""
    return Path(os.environ.get("HEADPOSE_SHARED_DIR", ROOT.parent / "shared"))


def weights_dir() -> Path:
    """The weights dir as the app's settings choose it ($HEADPOSE_WEIGHTS_DIR, else shared/weights)."""
    return Path(os.environ.get("HEADPOSE_WEIGHTS_DIR") or shared_dir() / "weights")


def aflw_samples_dir() -> Path:
    return shared_dir() / "data" / "aflw2000" / "samples"


def timings(fn, repeats: int) -> list[float]:
    """Seconds of each of `repeats` calls of fn()."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def seconds_per_call(fn, min_seconds: float):
    """(mean seconds per call, last result) of fn() called until min_seconds have
    passed, after one untimed warm-up call (lazy graphs, torch kernels)."""
    fn()
    runs, start = 0, time.perf_counter()
    while True:
        out = fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / runs, out


def median_min_s(seconds: list[float], digits: int = 4) -> dict:
    return {"median_s": round(statistics.median(seconds), digits), "min_s": round(min(seconds), digits)}


def percentile(values, q):
    """Linear interpolation between the closest ranks (numpy's default)."""
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def latency_summary(ms, digits: int = 3, with_max: bool = False) -> dict:
    """n, p50, p95, mean (and max) of latencies in milliseconds."""
    out = {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), digits),
        "p95_ms": round(percentile(ms, 95), digits),
        "mean_ms": round(statistics.fmean(ms), digits),
    }
    if with_max:
        out["max_ms"] = round(max(ms), digits)
    return out


def print_json(result) -> None:
    """A bench's figures: one JSON document on stdout."""
    print(json.dumps(result, indent=1))
