"""A calibrated confidence per proposal.

Features of one face (all known without ground truth):
  - spread_deg: RMS geodesic distance of the kept members to the fused rotation
    (members that disagree mean at least one of them is wrong); 0 for one model;
  - dropped: how many members were dropped as outliers for this face;
  - residual: the landmark fit's RMS reprojection error over the face size, in
    percent (FaceMesh landmarks that no rigid face explains: occlusion,
    expression, a profile where the outline slides);
  - twin_deg: how far apart the landmark fit's two readings of the face are
    (FaceMesh on the crop and on its mirror image, default.py): FaceMesh unsure
    of a face reads it differently each time;
  - prior_deg: the error the kept members' accuracy tables predict for a face in
    this regime (fusion.combined_mae: frontal, pitched, turned, profile).
expected_error = max(c . [1, spread_deg, dropped, residual, twin_deg], prior_deg):
c >= 0 fitted by non-negative least squares against the mean angle error (so
more disagreement or a worse fit never raises the confidence); the prior is a
floor, not fitted (the real samples hold no face of the regimes where it matters
most: a landmark fit at profile says so even without any such sample).
confidence = exp(-expected_error / ERROR_SCALE_DEG), in (0, 1].

CALIBRATION is fitted on all the real samples (their leave-one-out fused
errors); the figures the bench prints for it are leave-one-out (each face's
confidence from a calibration fitted without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import nnls

ERROR_SCALE_DEG = 5.0  # a face expected 5 deg off gets confidence 1/e
# [intercept, per deg of spread, per dropped member, per % residual, per deg of twin];
# bench/proposer_accuracy.py key leave_one_out.confidence.calibration_all_faces
CALIBRATION = (0.0, 0.0, 0.0, 0.61, 0.475)  # fused (its leave-one-out errors)
# landmarks-fit alone (spread and dropped are 0): key leave_one_out.confidence_landmarks_fit
CALIBRATION_LANDMARKS_FIT = (0.0, 0.0, 0.0, 0.0, 0.974)
N_FITTED = len(CALIBRATION)


def features(
    spread_deg: float, dropped: int, residual: float | None, prior_deg: float = 0.0, twin_deg: float | None = None
) -> NDArray[np.float64]:
    """The fitted features (N_FITTED of them) followed by the prior."""
    return np.array(
        [
            1.0,
            float(spread_deg),
            float(dropped),
            0.0 if residual is None else 100.0 * float(residual),
            0.0 if twin_deg is None else float(twin_deg),
            float(prior_deg),
        ]
    )


def fit_calibration(X: ArrayLike, mean_errors: ArrayLike) -> NDArray[np.float64]:
    """X (N, >= N_FITTED) features, mean_errors (N,) degrees -> coefficients, >= 0,
    one per fitted feature (the prior, a floor, has none)."""
    coef, _ = nnls(np.asarray(X, dtype=np.float64)[:, :N_FITTED], np.asarray(mean_errors, dtype=np.float64))
    return np.asarray(coef, dtype=np.float64)


def expected_error(x: ArrayLike, calibration: Sequence[float] = CALIBRATION) -> float:
    values = np.asarray(x, dtype=np.float64)
    fitted = float(np.dot(values[: len(calibration)], calibration))
    return max(fitted, float(values[N_FITTED])) if len(values) > N_FITTED else fitted


def confidence(expected_error_deg: float) -> float:
    return float(np.exp(-max(expected_error_deg, 0.0) / ERROR_SCALE_DEG))


def curve(confidences: ArrayLike, errors: ArrayLike, parts: int = 3) -> list[dict[str, Any]]:
    """Is it calibrated? Faces sorted by confidence and split into `parts` equal
    groups, low to high: each group's confidence range and mean error (degrees).
    Calibrated: the mean error falls from group to group."""
    c = np.asarray(confidences, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    order = np.argsort(c, kind="stable")
    out: list[dict[str, Any]] = []
    for part in np.array_split(order, min(parts, len(order))):
        if len(part):
            out.append(
                {
                    "confidence": [float(c[part].min()), float(c[part].max())],
                    "faces": int(len(part)),
                    "mean_error_deg": float(e[part].mean()),
                }
            )
    return out
