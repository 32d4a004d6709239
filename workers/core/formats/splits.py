"""Benchmark splits as plain name lists.

- `aflw2000_p1`: AFLW2000 protocol 1, test only; drops a sample if any of
  |yaw|, |pitch|, |roll| is over 99 degrees (6DRepNet, FSA-Net, img2pose).
- `biwi_p1`: every BIWI frame is a test frame (train on 300W-LP).
- `biwi_p2`: 70/30 by sequence. The original split was an unseeded permutation,
  so ours records its seed and both sequence lists; numpy default_rng(seed)
  makes it reproducible. floor(0.7 n) sequences train (16 of 24).
- `custom_split`: explicit name lists, unknown names are an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .records import FormatError

P1_MAX_ABS_DEG = 99.0


class SplitError(FormatError):
    pass


@dataclass
class Split:
    name: str
    train: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    seed: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


def within_max_abs_angle(euler: ArrayLike, max_abs_deg: float) -> NDArray[np.bool_]:
    """The angle filter, defined once: euler (N, 3) [yaw, pitch, roll] degrees ->
    (N,) bool, True where every |angle| is at most max_abs_deg. AFLW2000
    protocol 1's split and any benchmark's angle filter both use it."""
    out: NDArray[np.bool_] = np.all(np.abs(np.asarray(euler, dtype=np.float64).reshape(-1, 3)) <= max_abs_deg, axis=1)
    return out


def aflw2000_p1(names: Sequence[str], euler: ArrayLike, max_abs_deg: float = P1_MAX_ABS_DEG) -> Split:
    """names (N,), euler (N, 3) [yaw, pitch, roll] degrees -> test = kept names."""
    e = np.asarray(euler, dtype=np.float64).reshape(-1, 3)
    if len(e) != len(names):
        raise SplitError(f"{len(names)} names but {len(e)} angle rows")
    if not np.all(np.isfinite(e)):
        raise SplitError("angles contain non-finite values")
    keep = within_max_abs_angle(e, max_abs_deg)
    return Split(
        "aflw2000_p1",
        test=[n for n, k in zip(names, keep) if k],
        info={"max_abs_deg": max_abs_deg, "dropped": [n for n, k in zip(names, keep) if not k]},
    )


def biwi_p1(names: Sequence[str]) -> Split:
    return Split("biwi_p1", test=list(names))


def biwi_p2(sequence_ids: Iterable[str], seed: int, train_fraction: float = 0.7) -> Split:
    """-> Split whose train/test are sorted sequence ids."""
    seqs = sorted({str(s) for s in sequence_ids})
    if len(seqs) < 2:
        raise SplitError(f"a split by sequence needs at least 2 sequences, got {len(seqs)}")
    if not 0 < train_fraction < 1:
        raise SplitError("train_fraction must be between 0 and 1")
    n_train = min(max(math.floor(train_fraction * len(seqs)), 1), len(seqs) - 1)
    order = np.random.default_rng(int(seed)).permutation(len(seqs))
    train = sorted(seqs[i] for i in order[:n_train])
    test = sorted(seqs[i] for i in order[n_train:])
    return Split(
        "biwi_p2", train=train, test=test, seed=int(seed), info={"train_fraction": train_fraction, "sequences": seqs}
    )


def frames_by_sequence(
    names: Sequence[str], split: Split, sequence_of: Callable[[str], str]
) -> tuple[list[str], list[str]]:
    """Frame names -> (train names, test names) by the sequence lists of `split`."""
    train, test = set(split.train), set(split.test)
    out_train: list[str] = []
    out_test: list[str] = []
    for n in names:
        s = sequence_of(n)
        if s in train:
            out_train.append(n)
        elif s in test:
            out_test.append(n)
        else:
            raise SplitError(f"{n}: sequence {s} is in neither list of the split")
    return out_train, out_test


def read_name_list(text: str) -> list[str]:
    """One name per line; blank lines and '#' comments skipped."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def custom_split(
    available: Iterable[str], test: Iterable[str], train: Iterable[str] | None = None, name: str = "custom"
) -> Split:
    known = set(available)
    test, train = list(test), list(train or [])
    unknown = [n for n in test + train if n not in known]
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise SplitError(f"{len(unknown)} unknown file name(s) in the split: {shown}")
    both = set(test) & set(train)
    if both:
        raise SplitError(f"{len(both)} name(s) are in both train and test, e.g. {sorted(both)[0]}")
    return Split(name, train=train, test=test)
