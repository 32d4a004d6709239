"""Synthetic head-motion sequences with a known truth, for tests and bench/.

A smooth trajectory (yaw / pitch / roll sinusoids and a drifting translation),
then "detector" proposals: the truth plus small rotation noise, a fraction of
blunders (a random rotation tens of degrees off) and missing frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .. import geometry


@dataclass
class SyntheticSequence:
    truth_R: NDArray[np.float64]  # (N, 3, 3)
    truth_t: NDArray[np.float64]  # (N, 3) mm
    proposals: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None]  # (R, t) or None per frame
    blunders: NDArray[np.bool_]  # (N,)


def trajectory(n: int, fps: float = 25.0, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    s = np.arange(n) / fps
    amp = rng.uniform([30, 10, 8], [60, 25, 20])
    freq = rng.uniform([0.15, 0.2, 0.1], [0.35, 0.4, 0.3])
    phase = rng.uniform(0, 2 * np.pi, 3)
    euler = amp * np.sin(2 * np.pi * freq * s[:, None] + phase)
    t = np.stack([40 * np.sin(0.3 * s), 20 * np.cos(0.2 * s), 700 + 50 * np.sin(0.1 * s)], -1)
    return geometry.euler_to_matrix(euler), t


def random_rotation_about(R: NDArray[np.float64], deg: float, rng: np.random.Generator) -> NDArray[np.float64]:
    axis = rng.normal(size=3)
    return R @ geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.deg2rad(deg))


def make_sequence(
    n: int = 300,
    fps: float = 25.0,
    noise_deg: float = 2.0,
    blunder_rate: float = 0.05,
    missing_rate: float = 0.05,
    seed: int = 0,
) -> SyntheticSequence:
    rng = np.random.default_rng(seed)
    truth_R, truth_t = trajectory(n, fps, seed)
    proposals: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None] = []
    blunders = np.zeros(n, dtype=bool)
    for i in range(n):
        if rng.random() < missing_rate:
            proposals.append(None)
            continue
        if rng.random() < blunder_rate:
            blunders[i] = True
            R = random_rotation_about(truth_R[i], rng.uniform(40, 120), rng)
        else:
            R = random_rotation_about(truth_R[i], abs(rng.normal(0, noise_deg)), rng)
        proposals.append((R, truth_t[i] + rng.normal(0, 5.0, 3)))
    return SyntheticSequence(truth_R, truth_t, proposals, blunders)
