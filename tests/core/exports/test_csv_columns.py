"""label_columns.write_csv_batches writes what label_rows.write_csv writes over
the same rows (with valid_rows' screening before it): the columns are only a
faster route to the same bytes, and a batch the columns cannot say exactly
(a refused pose, a bad R, a track label) goes the LabelRow way."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest

from workers.core.label_columns import RowsBatch, parse_floats, write_csv_batches
from workers.core.label_rows import ExportError, InvalidRow, LabelRow, valid_rows, write_csv
from workers.core.pose_rules import PoseLimits

from .factories import random_rows


def both(rows: list[LabelRow], batch: int = 7) -> tuple[str, str, list[InvalidRow], list[InvalidRow]]:
    want, got = io.StringIO(), io.StringIO()
    invalid_want: list[InvalidRow] = []
    invalid_got: list[InvalidRow] = []
    write_csv(valid_rows(rows, invalid_want), want)
    batches = [RowsBatch(rows[i : i + batch]) for i in range(0, len(rows), batch)]
    n = write_csv_batches(batches, got, invalid_got)
    assert n == len(rows) - len(invalid_got)
    return got.getvalue(), want.getvalue(), invalid_got, invalid_want


def test_the_same_bytes_for_plain_quoted_and_partial_rows():
    names = [f'dir/im,age "{i}".jpg' if i % 5 == 0 else f"image{i}.jpg" for i in range(40)]
    rows = random_rows(40, seed=3, names=names, t_missing_every=3)
    for i, row in enumerate(rows):
        row.R = np.asarray(row.R).reshape(-1).tolist() if i % 2 else row.R  # flat lists and arrays
        row.sequence, row.frame_index = ("clip", i) if i % 4 == 0 else ("", None)
        row.origin_detail = None if i % 6 == 0 else row.origin_detail
        row.image_id = None if i % 9 == 0 else row.image_id
    got, want, _, _ = both(rows)
    assert got == want and got.count("\n") == len(rows) + 1


def test_refused_and_malformed_rows_go_the_label_row_way():
    rows = random_rows(30, seed=4)
    rows[3] = replace(rows[3], t=np.array([0.0, 0.0, -500.0]))  # behind the camera: refused
    rows[11] = replace(rows[11], R=[[1, 0, 0], [0, 1, 0]])  # not 9 numbers: refused
    rows[17] = replace(rows[17], R=np.asarray(rows[17].R).reshape(3, 3).tolist())  # 3 x 3 lists: fine
    got, want, invalid_got, invalid_want = both(rows)
    assert got == want
    assert [r.to_dict() for r in invalid_got] == [r.to_dict() for r in invalid_want] and len(invalid_got) == 2


def test_a_near_rotation_looser_rules_let_through_still_refuses_naming_the_face():
    """Rules with a loose rotation tolerance pass an R that write_csv's own check
    (ROTATION_TOL) refuses: the ExportError names the same face both ways."""
    rows = random_rows(10, seed=5)
    rows[6] = replace(rows[6], R=np.asarray(rows[6].R, dtype=np.float64).reshape(3, 3) * 1.004)
    loose = PoseLimits(rotation_tol=0.1)
    with pytest.raises(ExportError) as want:
        write_csv(valid_rows(rows, [], loose), io.StringIO())
    with pytest.raises(ExportError) as got:
        write_csv_batches([RowsBatch(rows)], io.StringIO(), [], loose)
    assert str(got.value) == str(want.value) and rows[6].image in str(got.value)


def test_parse_floats_takes_one_layout_of_size_numbers_or_gives_up():
    assert parse_floats(["[1, 2, 3]", "[4.5, 5e-3, 6]"], 3).tolist() == [[1, 2, 3], [4.5, 0.005, 6]]
    assert parse_floats(["[[1, 0, 0], [0, 1, 0], [0, 0, 1]]"], 9).tolist() == [[1, 0, 0, 0, 1, 0, 0, 0, 1]]
    assert parse_floats([], 3).shape == (0, 3)
    for texts in (["[1, 2]", "[3, 4, 5, 6]"], ["[1, 2, 3]", "null"], ['[1, 2, "x"]'], ["[1, [2, 3], 4]"], ["{}"]):
        assert parse_floats(texts, 3) is None, texts
