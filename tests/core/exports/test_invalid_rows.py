"""One bad stored row never breaks an export of the others: every format
refuses with the list of EVERY face that breaks the pose rules, or, asked to
skip them, writes the rest and names what it skipped (a manifest in zips)."""

import io
import json
import zipfile

import numpy as np
import pytest

from workers.core.exports import FORMATS, SKIPPED_MANIFEST, InvalidRowsError, write_export
from workers.core.label_rows import valid_rows
from workers.core.pose_rules import PoseLimits

from .factories import META, random_rows

ALL = sorted(FORMATS)
BREAKAGES = {
    "t = 1e308": lambda row: setattr(row, "t", np.array([1e308, 1e308, 1e308])),
    "behind the camera": lambda row: setattr(row, "t", np.array([0.0, 0.0, -400.0])),
    "R scaled": lambda row: setattr(row, "R", 2 * np.asarray(row.R)),
    "R six numbers": lambda row: setattr(row, "R", [1, 0, 0, 0, 1, 0]),
    "R missing": lambda row: setattr(row, "R", None),
}


def _broken_rows(seed=61):
    rows = random_rows(8, seed=seed, faces_per_image=(1, 3))
    victims = [rows[1], rows[4], rows[-1]]
    for row, name in zip(victims, ["t = 1e308", "behind the camera", "R scaled"]):
        BREAKAGES[name](row)
    return rows, victims


@pytest.mark.parametrize("fmt", ALL)
def test_the_export_refuses_listing_every_offending_face(fmt):
    rows, victims = _broken_rows()
    with pytest.raises(InvalidRowsError) as err:
        write_export(fmt, rows, io.BytesIO(), META)
    assert [(r.image, r.face_index) for r in err.value.invalid] == [(v.image, v.face_index) for v in victims]
    for v in victims:
        assert f"{v.image} face {v.face_index}" in str(err.value)
    assert "3 face(s) cannot be written" in str(err.value)
    reasons = [r.reason for r in err.value.invalid]
    assert "too far" in reasons[0] and "behind the camera" in reasons[1] and "not a rotation" in reasons[2]


@pytest.mark.parametrize("fmt", ALL)
def test_skipping_writes_the_others_and_names_the_skipped(fmt):
    rows, victims = _broken_rows()
    good = [r for r in rows if all(r is not v for v in victims)]
    skipped = []
    out = io.BytesIO()
    n = write_export(fmt, rows, out, META, skipped=skipped)
    assert n == len(good) and [(r.image, r.face_index) for r in skipped] == [(v.image, v.face_index) for v in victims]
    # the file holds exactly what an export of the good rows alone holds (but its timestamps)
    clean = io.BytesIO()
    assert write_export(fmt, good, clean, META) == n
    if FORMATS[fmt].extension == ".zip":
        with zipfile.ZipFile(out) as zf, zipfile.ZipFile(clean) as zc:
            assert sorted(zf.namelist()) == sorted(zc.namelist() + [SKIPPED_MANIFEST])
            manifest = json.loads(zf.read(SKIPPED_MANIFEST))
            assert manifest["skipped"] == 3
            assert [(f["image"], f["face_index"]) for f in manifest["faces"]] == [
                (v.image, v.face_index) for v in victims
            ]
            for name in zc.namelist():
                assert zf.read(name) == zc.read(name)
    else:
        assert out.getvalue() == clean.getvalue()


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_breakage_is_screened_with_its_reason(breakage):
    rows = random_rows(3, seed=62, faces_per_image=(1, 2))
    BREAKAGES[breakage](rows[1])
    invalid = []
    kept = list(valid_rows(rows, invalid))
    assert kept == [rows[0], rows[2]] and len(invalid) == 1 and invalid[0].face_index == rows[1].face_index
    assert invalid[0].reason


def test_the_depth_limit_is_a_parameter():
    rows = random_rows(4, seed=63, faces_per_image=(1, 2))
    depths = [float(r.t[2]) for r in rows]
    invalid = []
    kept = list(valid_rows(rows, invalid, PoseLimits(max_depth_mm=float(np.median(depths)))))
    assert len(kept) + len(invalid) == 4 and len(invalid) == sum(d > np.median(depths) for d in depths)


def test_rows_without_t_are_fine():
    rows = random_rows(4, seed=64, faces_per_image=(1, 2))
    rows[0].t = None
    invalid = []
    assert len(list(valid_rows(rows, invalid))) == 4 and not invalid
