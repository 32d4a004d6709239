"""6DoF fit of 2D landmarks to a 3D reference face (perspective-n-point).

`fit_pose` finds R, t (X_cam = R X_head + t, mm) minimising the weighted squared
reprojection error sum_i w_i |pi(K (R X_i + t)) - u_i|^2: EPnP (OpenCV) gives the
start, then our own Levenberg-Marquardt on (rotation increment, t) with the
analytic Jacobian refines it to the exact minimum. OpenCV's iterative solver
cannot weight points, and weights matter: the jaw contour of a landmark detector
slides along the silhouette as the head turns, so it is down-weighted.

Scale ambiguity: one image cannot tell a small near face from a large far one.
The reference face has a mean adult size (outer eye corners about 86 mm apart),
so t is right only for an average-sized head and scales with the true size (a
face 10 % smaller than the reference is really 10 % nearer). R does not depend
on it (the perspective change across a face is small). With an unknown camera the
focal length is a guess too (default_intrinsics), and t_z scales with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry


class FitError(ValueError):
    pass


@dataclass
class FitResult:
    R: NDArray[np.float64]  # (3, 3) head -> camera
    t: NDArray[np.float64]  # (3,) mm
    rms_px: float  # weighted RMS reprojection error, pixels
    iterations: int
    converged: bool


def _project(X_cam: NDArray[np.float64], K: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = X_cam @ K.T
    return p[:, :2] / p[:, 2:3], p


def _residuals(
    R: NDArray[np.float64],
    t: NDArray[np.float64],
    X: NDArray[np.float64],
    u: NDArray[np.float64],
    K: NDArray[np.float64],
    sw: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    Xc = X @ R.T + t
    uv, _ = _project(Xc, K)
    return ((uv - u) * sw[:, None]).ravel(), Xc


def _lm(
    R: NDArray[np.float64],
    t: NDArray[np.float64],
    X: NDArray[np.float64],
    u: NDArray[np.float64],
    K: NDArray[np.float64],
    sw: NDArray[np.float64],
    max_iter: int = 100,
    tol: float = 1e-15,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, int, bool]:
    r, Xc = _residuals(R, t, X, u, K, sw)
    cost = float(r @ r)  # r is 1-D: a number (numpy's stubs type a matmul as an array)
    lam = 1e-3
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 -- read after the loop: the iterations run
        RX = X @ R.T
        J = _jacobian_rx(RX, Xc, K, sw)
        A = J.T @ J
        g = J.T @ r
        improved = False
        for _ in range(20):
            H = A + lam * np.diag(np.diag(A) + 1e-12)
            try:
                step = -np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            R_new = geometry.axis_angle_to_matrix(step[:3]) @ R
            t_new = t + step[3:]
            r_new, Xc_new = _residuals(R_new, t_new, X, u, K, sw)
            if np.all(Xc_new[:, 2] > 0) and r_new @ r_new <= cost:
                small = np.abs(step).max() < 1e-13 * (1 + np.abs(t).max()) or cost - r_new @ r_new <= tol * max(
                    cost, 1e-300
                )
                R, t, r, Xc, cost = R_new, t_new, r_new, Xc_new, float(r_new @ r_new)
                lam = max(lam / 10, 1e-12)
                improved = True
                break
            lam *= 10
        if not improved or small:
            converged = True
            break
    return R, t, cost, it, converged


def _jacobian_rx(
    RX: NDArray[np.float64], Xc: NDArray[np.float64], K: NDArray[np.float64], sw: NDArray[np.float64]
) -> NDArray[np.float64]:
    p = Xc @ K.T
    z = p[:, 2]
    u = p[:, 0] / z
    v = p[:, 1] / z
    du = (K[0][None, :] - u[:, None] * K[2][None, :]) / z[:, None]
    dv = (K[1][None, :] - v[:, None] * K[2][None, :]) / z[:, None]
    J = np.empty((len(Xc), 2, 6))
    # Xc = exp([d]x) R X + t  ->  d Xc / d d = -[R X]_x ;  grad . (d x a) = d . (a x grad)
    J[:, 0, :3] = np.cross(RX, du)
    J[:, 1, :3] = np.cross(RX, dv)
    J[:, 0, 3:] = du
    J[:, 1, 3:] = dv
    return (J * sw[:, None, None]).reshape(-1, 6)


def _initial_pose(
    X: NDArray[np.float64], u: NDArray[np.float64], K: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    for flag in (cv2.SOLVEPNP_EPNP, cv2.SOLVEPNP_SQPNP):
        try:
            ok, rvec, tvec = cv2.solvePnP(X.astype(np.float64), u.astype(np.float64), K, np.zeros(5), flags=flag)
        except cv2.error:
            continue
        if ok and tvec[2, 0] > 0 and np.all(np.isfinite(rvec)) and np.all(np.isfinite(tvec)):
            return geometry.axis_angle_to_matrix(rvec[:, 0]), tvec[:, 0].astype(np.float64)
    return None


def fit_pose(
    points_2d: ArrayLike,
    model_3d: ArrayLike,
    K: ArrayLike,
    weights: ArrayLike | None = None,
    init: tuple[ArrayLike, ArrayLike] | None = None,
    max_iter: int = 100,
) -> FitResult:
    """Fit (R, t) so that model_3d (N, 3 head frame mm) projects onto points_2d
    (N, 2 pixels) through K. weights (N,) >= 0, default 1. init: (R, t) start."""
    u = np.asarray(points_2d, dtype=np.float64)
    X = np.asarray(model_3d, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != 2 or X.shape != (len(u), 3):
        raise FitError(f"need (N, 2) image points and (N, 3) model points, got {u.shape} and {X.shape}")
    if K.shape != (3, 3) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise FitError("K must be 3x3 with positive focal lengths")
    w = np.ones(len(u)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(u),) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise FitError("weights must be (N,) finite and >= 0")
    keep = (w > 0) & np.all(np.isfinite(u), axis=1)
    if keep.sum() < 6:
        raise FitError(f"need at least 6 usable points, got {int(keep.sum())}")
    u, X, w = u[keep], X[keep], w[keep]
    sw = np.sqrt(w / w.mean())

    if init is None:
        start = _initial_pose(X, u, K)
        if start is None:
            raise FitError("no initial pose found (degenerate landmarks?)")
    else:
        start = (np.asarray(init[0], dtype=np.float64), np.asarray(init[1], dtype=np.float64))
    R, t = start
    if np.any((X @ R.T + t)[:, 2] <= 0):
        raise FitError("initial pose puts the face behind the camera")
    R, t, cost, it, conv = _lm(R, t, X, u, K, sw, max_iter=max_iter)
    R = geometry.nearest_rotation(R)
    return FitResult(R=R, t=t, rms_px=float(np.sqrt(cost / len(u))), iterations=it, converged=conv)
