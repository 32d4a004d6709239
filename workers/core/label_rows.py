"""Flat label rows for exports: one face, one pose, every representation.

Column names are shared by every tabular export (CSV here, the API later)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Iterable, TextIO

import numpy as np

from workers.core import geometry

CSV_COLUMNS = (
    ["image", "face_index", "yaw", "pitch", "roll"]
    + [f"r{i}{j}" for i in range(3) for j in range(3)]
    + ["tx", "ty", "tz", "source", "source_detail"]
)


@dataclass
class LabelRow:
    image: str
    face_index: int
    R: np.ndarray  # (3, 3)
    t: np.ndarray | None  # (3,) mm
    source: str  # dataset / proposer / annotator
    source_detail: str = ""  # proposer name@version, annotator username ...


def write_csv(rows: Iterable[LabelRow], out: TextIO, chunk: int = 2048) -> int:
    """Writes the header and one line per row; Euler angles are computed per
    chunk so large exports stay vectorised. Returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            n += _write_batch(writer, batch)
            batch = []
    if batch:
        n += _write_batch(writer, batch)
    return n


def _write_batch(writer, batch: list[LabelRow]) -> int:
    Rs = np.stack([np.asarray(r.R, dtype=np.float64).reshape(3, 3) for r in batch])
    euler = geometry.matrix_to_euler(Rs)
    for row, e, R in zip(batch, euler, Rs):
        t = ["", "", ""] if row.t is None else [repr(float(v)) for v in row.t]
        writer.writerow(
            [row.image, row.face_index, *(f"{v:.6f}" for v in e), *(repr(float(v)) for v in R.reshape(9)), *t,
             row.source, row.source_detail]
        )
    return len(batch)
