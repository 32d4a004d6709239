"""Validation of poses crossing into the database (one place for the rules)."""
import math

import numpy as np

from workers.core import geometry


class PoseError(ValueError):
    """A pose that cannot be stored; the message says why."""


def clean_rotation(R, tol: float = 1e-3) -> list[float]:
    """9 floats of a rotation. Input rounded by JSON or float32 (the browser)
    is snapped to the nearest rotation; anything farther is refused."""
    try:
        M = np.asarray(R, dtype=np.float64).reshape(3, 3)
    except (TypeError, ValueError):
        raise PoseError("R must be 9 numbers (a 3x3 rotation, row-major).") from None
    if not np.all(np.isfinite(M)):
        raise PoseError("R contains NaN or infinity.")
    if not geometry.is_rotation(M, tol=tol):
        raise PoseError("R is not a rotation matrix (it must be orthonormal with determinant +1).")
    return [float(v) for v in geometry.nearest_rotation(M).reshape(9)]


def clean_translation(t, allow_none: bool = True) -> list[float] | None:
    if t is None:
        if allow_none:
            return None
        raise PoseError("t is required.")
    try:
        v = [float(x) for x in t]
    except (TypeError, ValueError):
        raise PoseError("t must be 3 numbers (millimetres).") from None
    if len(v) != 3:
        raise PoseError("t must be 3 numbers (millimetres).")
    if not all(math.isfinite(x) for x in v):
        raise PoseError("t contains NaN or infinity.")
    return v


def flat(M) -> list[float]:
    return [float(v) for v in np.asarray(M, dtype=np.float64).reshape(-1)]
