"""Deprecated path, kept while annotator/ imports it: the confidence calibration is a building
block, workers.core.proposers.parts.confidence."""

from workers.core.proposers.parts.confidence import (
    CALIBRATION,
    CALIBRATION_LANDMARKS_FIT,
    ERROR_SCALE_DEG,
    N_FITTED,
    confidence,
    curve,
    expected_error,
    features,
    fit_calibration,
)

__all__ = [
    "CALIBRATION",
    "CALIBRATION_LANDMARKS_FIT",
    "ERROR_SCALE_DEG",
    "N_FITTED",
    "confidence",
    "curve",
    "expected_error",
    "features",
    "fit_calibration",
]
