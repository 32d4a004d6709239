"""The registry and bad rows: every format refuses a face it cannot write
truthfully, and says which face."""

import io

import numpy as np
import pytest

from workers.core import geometry
from workers.core.exports import FORMATS, ExportError, write_export
from workers.core.formats.records import FormatError

from .factories import META, random_rows

ALL = sorted(FORMATS)


def test_registry_names_are_the_public_api():
    assert set(FORMATS) == {"json", "jsonl", "csv", "aflw2000_mat", "biwi_pose", "coco"}
    for name, fmt in FORMATS.items():
        assert fmt.name == name and fmt.extension.startswith(".") and "/" in fmt.content_type
        assert fmt.description and callable(fmt.writer)


def test_unknown_format_lists_the_formats():
    with pytest.raises(ValueError, match=r"unknown export format 'xml'.*json.*csv.*aflw2000_mat.*biwi_pose.*coco"):
        write_export("xml", [], io.BytesIO(), META)


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("bad", ["scaled", "reflection", "nan", "shape"])
def test_a_non_rotation_names_the_face(fmt, bad):
    rows = random_rows(6, seed=51, faces_per_image=(2, 3))
    victim = rows[5]
    R = np.asarray(victim.R)
    victim.R = {
        "scaled": 1.5 * R,
        "reflection": R @ np.diag([1, 1, -1]),
        "nan": np.where(np.eye(3) > 0, np.nan, R),
        "shape": R[:2],
    }[bad]
    with pytest.raises(ExportError) as err:
        write_export(fmt, rows, io.BytesIO(), META)
    assert f"{victim.image} face {victim.face_index}" in str(err.value)
    assert "R " in str(err.value) or "R contains" in str(err.value)
    assert isinstance(err.value, FormatError)  # the project's "bad input, message for a person" error


@pytest.mark.parametrize("fmt", ALL)
def test_non_finite_t_names_the_face(fmt):
    rows = random_rows(3, seed=52)
    rows[-1].t = np.array([0.0, np.inf, 500.0])
    with pytest.raises(ExportError, match=f"{rows[-1].image} face {rows[-1].face_index}: t contains non-finite"):
        write_export(fmt, rows, io.BytesIO(), META)


@pytest.mark.parametrize("fmt", ["aflw2000_mat", "biwi_pose"])
def test_zip_formats_need_a_camera_or_an_image_size(fmt):
    rows = random_rows(1, seed=53, with_K=False, faces_per_image=(1, 2))
    rows[0].width = rows[0].height = 0
    with pytest.raises(ExportError, match="face 0: the image size is unknown"):
        write_export(fmt, rows, io.BytesIO(), META)


def test_aflw_refuses_a_face_behind_the_camera():
    rows = random_rows(1, seed=54, faces_per_image=(1, 2))
    rows[0].t = np.array([0.0, 0.0, -500.0])
    with pytest.raises(ExportError, match=f"{rows[0].image} face 0: .*in front of the camera"):
        write_export("aflw2000_mat", rows, io.BytesIO(), META)


def test_meta_cannot_overwrite_the_format_fields():
    with pytest.raises(ValueError, match="format"):
        write_export("json", [], io.BytesIO(), {"format": "mine"})


def test_unserialisable_provenance_names_the_face():
    rows = random_rows(1, seed=55, faces_per_image=(1, 2))
    rows[0].provenance = {"when": object()}
    for fmt in ("json", "coco"):
        with pytest.raises(ExportError, match=f"{rows[0].image} face 0: cannot be written as JSON"):
            write_export(fmt, rows, io.BytesIO(), META)


def test_translation_from_box_places_a_150mm_face_across_the_box():
    rng = np.random.default_rng(56)
    for _ in range(20):
        K = np.array(
            [
                [rng.uniform(300, 2000), 0, rng.uniform(100, 400)],
                [0, rng.uniform(300, 2000), rng.uniform(100, 400)],
                [0, 0, 1],
            ]
        )
        x0, y0 = rng.uniform(0, 300, 2)
        box = (x0, y0, x0 + rng.uniform(20, 300), y0 + rng.uniform(20, 300))
        t = geometry.translation_from_box(box, K)
        # t projects to the box centre, and a 150 mm segment at depth t_z spans the box width
        u, v = K[0, 0] * t[0] / t[2] + K[0, 2], K[1, 1] * t[1] / t[2] + K[1, 2]
        assert abs(u - (box[0] + box[2]) / 2) < 1e-9 and abs(v - (box[1] + box[3]) / 2) < 1e-9
        assert abs(K[0, 0] * 150.0 / t[2] - (box[2] - box[0])) < 1e-9
        assert np.allclose(geometry.translation_from_box(box, K, face_width_mm=300.0), 2 * t)
    with pytest.raises(geometry.GeometryInputError):
        geometry.translation_from_box((0, 0, np.nan, 10), K)
