"""`csv` export: label_rows.write_csv (image, face index, Euler angles, R, t,
origin, origin_detail, image_id, face_id; with labels=consensus also
member_count, dispersion_deg) on a binary stream, UTF-8."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from workers.core.label_columns import LabelBatch, write_csv_batches
from workers.core.label_rows import InvalidRow, LabelRow, write_csv
from workers.core.pose_rules import PoseLimits


def write(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,  # unused: every valid pose fits (see exports.Writer)
) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        return write_csv(rows, text, on_progress=on_progress, consensus=meta.get("labels") == "consensus")
    finally:
        text.flush()
        text.detach()  # leave `out` open for the caller


def write_batches(
    batches: Iterable[LabelBatch],
    out: BinaryIO,
    invalid: list[InvalidRow],
    limits: PoseLimits,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """`write` of rows read a batch at a time (label_columns.write_csv_batches), not labels=consensus."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        return write_csv_batches(batches, text, invalid, limits, on_progress)
    finally:
        text.flush()
        text.detach()  # leave `out` open for the caller
