"""A batch of label rows as columns: what the CSV writer needs of a batch of
faces, as arrays and lists, so that a batch is checked and formatted with a
few numpy calls and one %-format instead of a LabelRow and a tuple per face.

An export reads its rows a batch of faces at a time (annotator/exports/selectors.py);
a `LabelBatch` offers the batch both ways: `columns()` (None when the batch holds
anything the columns cannot say exactly: then its `rows()` go the LabelRow way,
label_rows.write_csv's, and give the same text). `write_csv_batches` writes the
same bytes as write_csv over the same rows: the columns are only a faster route
to them (tests/core/exports/test_csv_columns.py holds the two side by side)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol, TextIO

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.label_rows import (
    CSV_COLUMNS,
    NEEDS_QUOTES,
    ROTATION_TOL,
    InvalidRow,
    LabelRow,
    batch_text,
    csv_field,
    pose_batch,
    screen,
)
from workers.core.pose_rules import PoseLimits, pose_problems


@dataclass
class LabelColumns:
    """n label rows as columns (the LabelRow fields the CSV writes)."""

    image: list[str]
    face_index: list[int]
    R: NDArray[np.float64]  # (n, 9) row-major
    t: NDArray[np.float64]  # (n, 3); anything where has_t is False
    has_t: NDArray[np.bool_]  # (n,)
    origin: list[str]
    origin_detail: list[str | None]
    image_id: list[int | None]
    face_id: list[int | None]
    sequence: list[str]
    frame_index: list[int | None]

    def __len__(self) -> int:
        return len(self.image)

    @classmethod
    def of_rows(cls, rows: list[LabelRow]) -> LabelColumns | None:
        """The columns of LabelRows; None when their R or t are not all plain
        numbers of the same layout, or a row is something the columns do not
        carry (a track_label, consensus figures): those go the LabelRow way."""
        if any(row.track_label or row.member_count is not None or row.R is None for row in rows):
            return None
        has_t = np.array([row.t is not None for row in rows], dtype=bool)
        try:
            R = np.array([row.R for row in rows], dtype=np.float64).reshape(len(rows), 9)
            t = np.ones((len(rows), 3))
            if has_t.any():
                t[has_t] = np.array([row.t for row in rows if row.t is not None], dtype=np.float64).reshape(-1, 3)
        except (TypeError, ValueError, OverflowError):
            return None
        return cls(
            image=[row.image for row in rows],
            face_index=[row.face_index for row in rows],
            R=R,
            t=t,
            has_t=has_t,
            origin=[row.origin for row in rows],
            origin_detail=[row.origin_detail for row in rows],
            image_id=[row.image_id for row in rows],
            face_id=[row.face_id for row in rows],
            sequence=[row.sequence for row in rows],
            frame_index=[row.frame_index for row in rows],
        )


class LabelBatch(Protocol):
    def rows(self) -> list[LabelRow]: ...

    def columns(self) -> LabelColumns | None: ...


@dataclass(frozen=True)
class RowsBatch:
    """LabelRows as a LabelBatch: its columns made from the rows."""

    label_rows: list[LabelRow]

    def rows(self) -> list[LabelRow]:
        return self.label_rows

    def columns(self) -> LabelColumns | None:
        return LabelColumns.of_rows(self.label_rows)


def parse_floats(texts: list[str], size: int) -> NDArray[np.float64] | None:
    """JSON texts of `size` numbers each (e.g. R as 9 numbers or 3 x 3) -> an (n, size)
    array, decoded with one json.loads for the whole batch and converted as the
    writers convert a chunk's values (label_rows.stack_field); None when they do not
    all have one layout of `size` numbers (the rows' own checks then say why)."""
    try:
        values = np.array(json.loads("[" + ",".join(texts) + "]"), dtype=np.float64)
        return values.reshape(len(texts), size)
    except (TypeError, ValueError, OverflowError):  # (json's JSONDecodeError is a ValueError)
        return None


def write_csv_batches(
    batches: Iterable[LabelBatch],
    out: TextIO,
    invalid: list[InvalidRow],
    limits: PoseLimits = PoseLimits(),
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """The CSV export (label_rows.write_csv's header and lines) of batches: rows
    whose pose breaks the rules are appended to `invalid` (as valid_rows does);
    a bad R raises ExportError naming the face (as pose_batches does). Returns
    the number of lines written."""
    csv.writer(out, lineterminator="\n").writerow(list(CSV_COLUMNS))
    n = 0
    for batch in batches:
        cols = batch.columns()
        text = None if cols is None else _columns_text(cols, limits)
        if cols is None or text is None:  # the LabelRow way: the same checks and text, row by row
            rows = batch.rows()
            good = screen(rows, invalid, limits) if rows else []
            text = batch_text(pose_batch(good)) if good else ""
            n += len(good)
        else:
            n += len(cols)
        out.write(text)
        if on_progress is not None:
            on_progress(n)
    return n


_LINE = "%s,%d,%.6f,%.6f,%.6f," + ",".join(["%r"] * 9) + ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n"


def _columns_text(c: LabelColumns, limits: PoseLimits) -> str | None:
    """The batch's CSV lines, or None when any row needs the LabelRow way (a
    pose the rules refuse, a non-finite value): that way names it exactly."""
    n = len(c)
    if n == 0:
        return ""
    R, t, has_t = c.R.reshape(n, 3, 3), c.t, c.has_t
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(c.R).all() and np.isfinite(t[has_t]).all()
    if not finite or any(pose_problems(R, np.where(has_t[:, None], t, 1.0), has_t, limits)):
        return None
    # pose_batches' own check (its fixed tolerance, not the configurable limits')
    orth = np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max(axis=(1, 2))
    if not ((orth < ROTATION_TOL) & (np.abs(np.linalg.det(R) - 1) < ROTATION_TOL)).all():
        return None
    euler = geometry.matrix_to_euler(R)
    texts = "\0".join(chain(c.image, c.origin, map(str, c.origin_detail), c.sequence))
    quote = csv_field if NEEDS_QUOTES.search(texts) else None

    def text(values: list[Any]) -> list[Any]:
        return [csv_field(v) for v in values] if quote else ["" if v is None else v for v in values]

    # t as three %s fields: str(float) is its repr (write_csv's text), "" where the row has none
    t_cols = [t[:, k].tolist() for k in range(3)]
    if not has_t.all():
        missing = np.flatnonzero(~has_t).tolist()
        for col in t_cols:
            for i in missing:
                col[i] = ""
    columns = [
        text(c.image),
        c.face_index,
        *(euler[:, k].tolist() for k in range(3)),
        *(c.R[:, k].tolist() for k in range(9)),
        *t_cols,
        text(c.origin),
        text(c.origin_detail),
        ["" if v is None else v for v in c.image_id],
        ["" if v is None else v for v in c.face_id],
        text(c.sequence),
        ["" if v is None else v for v in c.frame_index],
        [""] * n,  # track_label: only labels=track has one (that export goes the LabelRow way)
    ]
    return (_LINE * n) % tuple(chain.from_iterable(zip(*columns)))
