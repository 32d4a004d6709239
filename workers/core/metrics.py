"""Head-pose benchmark metrics, vectorised numpy (../shared/docs/POSE_CONVENTIONS.md).

Inputs are batches of camera-frame rotations R (N, 3, 3), X_cam = R @ X_head + t,
or AFLW2000 Euler angles (N, 3) [yaw, pitch, roll] in degrees.

Per-angle error definitions (both are always reported, see `evaluate`):
- 'plain'   : |d| with d = pred - gt (HopeNet, FSA-Net). A prediction of -179 for a
              ground truth of 179 counts as 358 degrees wrong.
- 'wrapped' : min(|d|, |d+360|, |d-360|, |d+180|, |d-180|) (6DRepNet). The +-360
              terms undo the wrap-around (358 -> 2). The +-180 terms are lenient:
              an angle that is off by exactly 180 counts as 0, and no error can
              exceed 90, so a face predicted upside down scores well on that angle.
- 'wide'    : for yaw beyond +-90 (WHENet's range, the back of the head): both
              poses' angles taken from their rotations with yaw in (-180, 180]
              and pitch in [-90, 90] (geometry.matrix_to_euler_wide), then
              min(|d|, |d+360|, |d-360|). A head at yaw 150 predicted at 140
              counts 10 on yaw (not 0 / 180 / 180 as with the [-90, 90] angles),
              and 179 against -179 counts 2. Reported beside the other two.

Vector errors (6DRepNet's "MAEV") are the angles between matching COLUMNS of R_gt
and R_pred: column k is head axis k (x right, y chin, z back of head) expressed in
the camera frame. 6DRepNet indexes rows of its own matrix, which is
F @ R_cam^T @ F (F = diag(1,-1,-1)) of ours; its rows are therefore our columns up
to a sign shared by prediction and ground truth, so the numbers agree with its
code (the `axes='rows'` option of `vector_errors` exists only for comparison).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry

ANGLE_NAMES = ("yaw", "pitch", "roll")
DEFINITIONS = ("plain", "wrapped", "wide")
DEFAULT_THRESHOLDS = (5.0, 10.0, 15.0)
# Bins of ground-truth |yaw|: [0,30), [30,60), [60,90), [90, inf).
YAW_BIN_EDGES = (0.0, 30.0, 60.0, 90.0)
DEFAULT_CURVE_POINTS = 500


class MetricsError(ValueError):
    """Inputs that cannot be evaluated (shape, size, non-finite values, names)."""


def euler_to_rotations(euler: ArrayLike) -> NDArray[np.float64]:
    """(N, 3) [yaw, pitch, roll] degrees -> (N, 3, 3) camera-frame rotations."""
    e = np.asarray(euler, dtype=np.float64)
    if e.ndim != 2 or e.shape[1] != 3:
        raise MetricsError(f"Euler angles must have shape (N, 3), got {e.shape}")
    return geometry.euler_to_matrix(e)


def as_pose_arrays(x: ArrayLike, name: str = "poses") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Any accepted pose batch -> (R (N,3,3), euler (N,3) degrees).

    (N, 3, 3) rotations or (N, 9) row-major rotations: Euler angles come from
    geometry.matrix_to_euler (yaw in [-90, 90]). (N, 3) Euler angles are kept as
    given for the per-angle errors, as the published evaluation codes compare the
    dataset's own angles, and converted to R for geodesic and vector errors."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricsError(f"{name}: not a numeric array ({exc})") from None
    R: NDArray[np.float64] | None
    euler: NDArray[np.float64] | None
    if a.ndim == 3 and a.shape[1:] == (3, 3):
        R = a
        euler = None
    elif a.ndim == 2 and a.shape[1] == 9:
        R = a.reshape(-1, 3, 3)
        euler = None
    elif a.ndim == 2 and a.shape[1] == 3:
        R = None
        euler = a
    else:
        raise MetricsError(
            f"{name}: expected rotations (N, 3, 3) or (N, 9), or Euler angles (N, 3); got shape {a.shape}"
        )
    if a.shape[0] == 0:
        raise MetricsError(f"{name}: no samples")
    bad = ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise MetricsError(f"{name}: {idx.size} sample(s) contain NaN or inf, first at index {int(idx[0])}")
    if R is None:
        assert euler is not None  # the Euler-angles branch above
        R = geometry.euler_to_matrix(euler)
    else:
        euler = geometry.matrix_to_euler(R)
    assert euler is not None  # set on every branch above
    return R, euler


def angle_errors(pred_euler: ArrayLike, gt_euler: ArrayLike, definition: str = "plain") -> NDArray[np.float64]:
    """(N, 3) absolute per-angle errors in degrees under 'plain' or 'wrapped'."""
    if definition not in DEFINITIONS:
        raise MetricsError(f"unknown angle error definition {definition!r}; use one of {DEFINITIONS}")
    p = np.asarray(pred_euler, dtype=np.float64)
    g = np.asarray(gt_euler, dtype=np.float64)
    if p.shape != g.shape:
        raise MetricsError(f"prediction shape {p.shape} does not match ground truth {g.shape}")
    if definition == "wide":
        p = geometry.matrix_to_euler_wide(geometry.euler_to_matrix(p))
        g = geometry.matrix_to_euler_wide(geometry.euler_to_matrix(g))
        d = p - g
        out: NDArray[np.float64] = np.abs(d[..., None] + np.array([0.0, 360.0, -360.0])).min(axis=-1)
        return out
    d = p - g
    if definition == "plain":
        out = np.abs(d)
        return out
    shifts = np.array([0.0, 360.0, -360.0, 180.0, -180.0])
    out = np.abs(d[..., None] + shifts).min(axis=-1)
    return out


def geodesic_errors(pred_R: ArrayLike, gt_R: ArrayLike) -> NDArray[np.float64]:
    """(N,) angle of the relative rotation, degrees (arccos((tr(Rp^T Rg) - 1) / 2))."""
    return geometry.geodesic_distance(pred_R, gt_R)


def vector_errors(pred_R: ArrayLike, gt_R: ArrayLike, axes: str = "columns") -> NDArray[np.float64]:
    """(N, 3) angles in degrees between matching axis vectors of the two rotations.

    axes='columns' (the reported metric): head axes in the camera frame.
    axes='rows': camera axes in the head frame, i.e. 6DRepNet's indexing applied
    to our matrices (not what its published numbers measure; see module doc)."""
    P = np.asarray(pred_R, dtype=np.float64)
    G = np.asarray(gt_R, dtype=np.float64)
    if axes == "columns":
        P, G = np.swapaxes(P, -1, -2), np.swapaxes(G, -1, -2)
    elif axes != "rows":
        raise MetricsError(f"axes must be 'columns' or 'rows', got {axes!r}")
    # atan2(|a x b|, a.b) keeps precision at small angles where arccos does not
    cross = np.linalg.norm(np.cross(P, G), axis=-1)
    dot = np.sum(P * G, axis=-1)
    out: NDArray[np.float64] = np.rad2deg(np.arctan2(cross, dot))
    return out


def cumulative_curve(errors: ArrayLike, max_points: int | None = DEFAULT_CURVE_POINTS) -> dict[str, list[float]]:
    """Sorted errors and the fraction of samples at or below each, for plotting.

    With more than max_points samples the sorted list is sub-sampled evenly; the
    largest error (fraction 1.0) is always kept."""
    e = np.sort(np.asarray(errors, dtype=np.float64).ravel())
    n = e.size
    idx = np.arange(n)
    if max_points is not None and n > max_points:
        idx = np.unique(np.linspace(0, n - 1, max(int(max_points), 2)).round().astype(int))
    return {"errors": e[idx].tolist(), "fraction": ((idx + 1) / n).tolist()}


def _mae_block(err: NDArray[np.float64], suffix: str) -> dict[str, float]:
    m = err.mean(axis=0)
    out = {f"mae_{name}{suffix}": float(v) for name, v in zip(ANGLE_NAMES, m)}
    out[f"mae_mean{suffix}"] = float(m.mean())
    return out


def _threshold_key(t: float) -> str:
    return f"{t:g}".replace(".", "_")


def _yaw_bins(
    abs_yaw: NDArray[np.float64], err: NDArray[np.float64], geo: NDArray[np.float64], edges: Sequence[float]
) -> list[dict[str, Any]]:
    lows = [float(e) for e in edges]
    highs: list[float | None] = [*lows[1:], None]
    bounds = list(zip(lows, highs))
    which = np.searchsorted(np.asarray(lows), abs_yaw, side="right") - 1
    rows: list[dict[str, Any]] = []
    for k, (lo, hi) in enumerate(bounds):  # a handful of bins, not samples
        sel = which == k
        n = int(sel.sum())
        row: dict[str, Any] = {
            "label": f"{lo:g}-{hi:g}" if hi is not None else f"over {lo:g}",
            "lo": lo,
            "hi": hi,
            "count": n,
        }
        if n:
            m = err[sel].mean(axis=0)
            row.update({f"mae_{a}": float(v) for a, v in zip(ANGLE_NAMES, m)})
            row["mae_mean"] = float(m.mean())
            row["geodesic_mean"] = float(geo[sel].mean())
        else:
            row.update({f"mae_{a}": None for a in ANGLE_NAMES + ("mean",)})
            row["geodesic_mean"] = None
        rows.append(row)
    return rows


def evaluate(
    pred_R: ArrayLike,
    gt_R: ArrayLike,
    definition: str = "plain",
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    yaw_bin_edges: Sequence[float] = YAW_BIN_EDGES,
    curve_points: int | None = DEFAULT_CURVE_POINTS,
    per_sample: bool = False,
) -> dict[str, Any]:
    """All benchmark figures for matched predictions and ground truth (JSON-ready).

    pred_R, gt_R: rotations (N,3,3) / (N,9) or Euler (N,3) [yaw, pitch, roll] deg,
    row i of one matching row i of the other. `definition` picks the per-angle
    error of the primary keys.

    Keys (degrees unless a fraction or count):
      angle_error_definition, count,
      mae_yaw, mae_pitch, mae_roll, mae_mean        primary definition;
      mae_{yaw,pitch,roll,mean}_plain / _wrapped / _wide   every definition;
      geodesic_mean, geodesic_median, geodesic_max;
      maev_x, maev_y, maev_z, maev_mean              vector errors (columns);
      acc_5, acc_10, acc_15 (one per threshold)      fraction with geodesic error <= t;
      acc_euler_5, ...                               fraction with all three primary
                                                     angle errors <= t;
      yaw_bins    list of {label, lo, hi, count, mae_*, geodesic_mean} by
                  ground-truth |yaw| (lo <= |yaw| < hi; the last bin is open;
                  ground truth given as rotations: its wide-range yaw, so the
                  back of the head lands in the last bin);
      curves      {"geodesic": cumulative_curve, "angle_mean": cumulative_curve of
                  the per-sample mean of the three primary angle errors};
      per_sample  (only when per_sample=True) lists: {yaw,pitch,roll}_gt,
                  {yaw,pitch,roll}_pred, err_{yaw,pitch,roll,mean} (primary),
                  geodesic.
    """
    if definition not in DEFINITIONS:
        raise MetricsError(f"unknown angle error definition {definition!r}; use one of {DEFINITIONS}")
    Rp, ep = as_pose_arrays(pred_R, "predictions")
    Rg, eg = as_pose_arrays(gt_R, "ground truth")
    if Rp.shape[0] != Rg.shape[0]:
        raise MetricsError(f"{Rp.shape[0]} predictions but {Rg.shape[0]} ground-truth samples")

    errs = {d: angle_errors(ep, eg, d) for d in DEFINITIONS}
    err = errs[definition]
    geo = geodesic_errors(Rp, Rg)
    vec = vector_errors(Rp, Rg, "columns")
    per_mean = err.mean(axis=1)

    out: dict[str, Any] = {"angle_error_definition": definition, "count": int(Rp.shape[0])}
    out.update(_mae_block(err, ""))
    for d in DEFINITIONS:
        out.update(_mae_block(errs[d], f"_{d}"))
    out.update(
        {
            "geodesic_mean": float(geo.mean()),
            "geodesic_median": float(np.median(geo)),
            "geodesic_max": float(geo.max()),
            "vector_axes": "columns",
        }
    )
    vm = vec.mean(axis=0)
    out.update({f"maev_{a}": float(v) for a, v in zip("xyz", vm)})
    out["maev_mean"] = float(vm.mean())
    worst = err.max(axis=1)
    for t in thresholds:
        out[f"acc_{_threshold_key(t)}"] = float(np.mean(geo <= t))
    for t in thresholds:
        out[f"acc_euler_{_threshold_key(t)}"] = float(np.mean(worst <= t))
    gt_is_euler = np.ndim(gt_R) == 2 and np.shape(gt_R)[1] == 3
    gt_yaw = eg[:, 0] if gt_is_euler else geometry.matrix_to_euler_wide(Rg)[:, 0]
    out["yaw_bins"] = _yaw_bins(np.abs(gt_yaw), err, geo, yaw_bin_edges)
    out["curves"] = {
        "geodesic": cumulative_curve(geo, curve_points),
        "angle_mean": cumulative_curve(per_mean, curve_points),
    }
    if per_sample:
        ps = {f"{a}_gt": eg[:, i].tolist() for i, a in enumerate(ANGLE_NAMES)}
        ps.update({f"{a}_pred": ep[:, i].tolist() for i, a in enumerate(ANGLE_NAMES)})
        ps.update({f"err_{a}": err[:, i].tolist() for i, a in enumerate(ANGLE_NAMES)})
        ps["err_mean"] = per_mean.tolist()
        ps["geodesic"] = geo.tolist()
        out["per_sample"] = ps
    return out
