"""A face box, (x0, y0, x1, y1) pixels, as four Python floats (numpy-free, so base.py can use it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import SupportsFloat, cast

Box = tuple[float, float, float, float]


def as_box(values: Iterable[SupportsFloat]) -> Box:
    """The box's numbers as Python floats (numpy scalars included), in order."""
    return cast(Box, tuple(float(v) for v in values))
