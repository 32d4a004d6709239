"""Confidence: more disagreement or a worse fit never raises it; the calibration
is a non-negative least-squares fit (checked against an independent solver)."""

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from workers.core.proposers.parts import confidence


def test_confidence_falls_as_any_feature_grows():
    base = confidence.expected_error(confidence.features(2.0, 0, 0.02, twin_deg=1.0))
    for worse in (
        confidence.features(6.0, 0, 0.02, twin_deg=1.0),
        confidence.features(2.0, 1, 0.02, twin_deg=1.0),
        confidence.features(2.0, 0, 0.05, twin_deg=1.0),
        confidence.features(2.0, 0, 0.02, twin_deg=4.0),
        confidence.features(2.0, 0, 0.02, prior_deg=9.0, twin_deg=1.0),
    ):
        assert confidence.expected_error(worse) >= base
        for cal in (confidence.CALIBRATION, confidence.CALIBRATION_LANDMARKS_FIT):
            assert confidence.expected_error(worse, cal) >= confidence.expected_error(
                confidence.features(2.0, 0, 0.02, twin_deg=1.0), cal
            )
    assert confidence.confidence(0.0) == 1.0
    assert confidence.confidence(5.0) == pytest.approx(np.exp(-1))
    assert confidence.confidence(1.0) > confidence.confidence(4.0) > 0
    assert all(c >= 0 for c in confidence.CALIBRATION + confidence.CALIBRATION_LANDMARKS_FIT)


def test_the_calibration_is_a_non_negative_least_squares_fit():
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(30), rng.uniform(0, 8, 30), rng.integers(0, 2, 30), rng.uniform(0, 4, 30)])
    y = X @ [0.5, 0.3, 0.0, 1.1] + rng.normal(0, 0.2, 30)
    y[::7] -= 3 * X[::7, 2]  # a pull toward a negative coefficient, which must stay at 0
    coef = confidence.fit_calibration(X, y)
    ref = lsq_linear(X, y, bounds=(0, np.inf)).x
    np.testing.assert_allclose(coef, ref, atol=1e-6)
    assert np.all(coef >= 0)
