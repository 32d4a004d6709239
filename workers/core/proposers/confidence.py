"""A calibrated confidence per proposal.

Features of one fused face (all known without ground truth):
  - spread_deg: RMS geodesic distance of the kept members to the fused rotation
    (members that disagree mean at least one of them is wrong);
  - dropped: how many members were dropped as outliers for this face;
  - residual: the landmark fit's RMS reprojection error over the face size, in
    percent (FaceMesh landmarks that no rigid face explains: occlusion,
    expression, a profile where the outline slides).
expected_error = c . [1, spread_deg, dropped, residual], c >= 0 fitted by
non-negative least squares against the mean angle error beyond the prior (so more disagreement
or a worse fit never raises the confidence); confidence = exp(-expected_error
/ ERROR_SCALE_DEG), in (0, 1].

CALIBRATION is fitted on all the real samples (their leave-one-out fused
errors); the figures the bench prints for it are leave-one-out (each face's
confidence from a calibration fitted without it).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy.optimize import nnls

ERROR_SCALE_DEG = 5.0  # a face expected 5 deg off gets confidence 1/e
# [intercept, per deg of spread, per dropped member, per % residual]; see
# bench/proposer_accuracy.py key leave_one_out.confidence.calibration_all_faces
CALIBRATION = (0.0, 0.089, 0.0, 1.189)


def features(spread_deg: float, dropped: int, residual: Optional[float], prior_deg: float = 0.0) -> np.ndarray:
    return np.array([1.0, float(spread_deg), float(dropped), 0.0 if residual is None else 100.0 * float(residual),
                     float(prior_deg)])


def fit_calibration(X: np.ndarray, mean_errors: np.ndarray) -> np.ndarray:
    """X (N, 5) features, mean_errors (N,) degrees -> coefficients (4,), >= 0
    (the prior, X[:, 4], is a floor and has none)."""
    coef, _ = nnls(np.asarray(X, dtype=np.float64)[:, :4], np.asarray(mean_errors, dtype=np.float64))
    return coef


def expected_error(x: np.ndarray, calibration: Sequence[float] = CALIBRATION) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(max(np.dot(x[:4], calibration), x[4]))


def confidence(expected_error_deg: float) -> float:
    return float(np.exp(-max(expected_error_deg, 0.0) / ERROR_SCALE_DEG))
