"""The one rule for what a pose may be (workers/core/pose_rules.py), and that
every export format holds every pose it allows (issue 24).

The minimum depth comes from the head's geometry: the generic head the
labeling page draws (reference face + skull) must lie wholly in front of the
camera for every rotation. Measured here, so the constant cannot drift from
the head model."""

import io
import json
import zipfile

import numpy as np
import pytest

from workers.core import geometry
from workers.core.exports import FORMATS, SKIPPED_MANIFEST, InvalidRowsError, write_export
from workers.core.label_rows import LabelRow
from workers.core.meshing.head_mesh import build_head_mesh
from workers.core.pose_rules import (
    DEPTH_MARGIN_MM,
    HEAD_RADIUS_MM,
    MAX_DEPTH_MM,
    MIN_DEPTH_MM,
    PoseLimits,
    PoseRuleError,
    check_translation,
    pose_problems,
    translation_problem,
    within_depth_limits,
)
from workers.core.proposers.parts.reference_face import load_reference_face

ALL = sorted(FORMATS)


@pytest.fixture(scope="module")
def head_vertices():
    face = load_reference_face()
    return build_head_mesh(face.points68, face.points468).vertices


def random_rotations(n, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return geometry.quaternion_to_matrix(q)


def test_the_minimum_depth_is_the_generic_heads_radius_plus_a_margin(head_vertices):
    radius = np.linalg.norm(head_vertices, axis=1).max()
    assert HEAD_RADIUS_MM - 1 < radius <= HEAD_RADIUS_MM  # the constant is the measured radius, rounded up
    assert MIN_DEPTH_MM == HEAD_RADIUS_MM + DEPTH_MARGIN_MM == 200.0
    # the reference face's landmarks (what the .mat export poses) lie well inside it
    assert np.linalg.norm(load_reference_face().points68, axis=1).max() < HEAD_RADIUS_MM


def test_at_the_minimum_depth_the_whole_head_is_in_front_of_the_camera_whatever_the_rotation(head_vertices):
    Rs = random_rotations(2000, seed=3)
    # plus the worst rotation: the farthest vertex turned straight at the camera
    far = head_vertices[np.argmax(np.linalg.norm(head_vertices, axis=1))]
    axis = np.cross(far, [0, 0, -1.0])
    angle = np.arccos(-far[2] / np.linalg.norm(far))
    Rs = np.concatenate([Rs, geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * angle)[None]])
    Z = np.einsum("nij,vj->nvi", Rs, head_vertices)[..., 2] + MIN_DEPTH_MM
    assert Z.min() >= DEPTH_MARGIN_MM - 1e-6
    assert Z.min() < DEPTH_MARGIN_MM + 1  # the worst rotation reaches the margin: the radius is tight


@pytest.mark.parametrize(
    "z, words",
    [
        (40.0, "too close to the camera (z = 40 mm"),  # issue 24: a .mat could not hold it
        (0.003, "too close to the camera (z = 0.003 mm"),  # a few micrometres
        (MIN_DEPTH_MM - 0.01, "too close to the camera"),
        (0.0, "behind the camera"),
        (-600.0, "behind the camera"),
        (MAX_DEPTH_MM + 1, "too far"),
    ],
)
def test_a_depth_outside_the_limits_is_refused_with_the_reason(z, words):
    t = np.array([0.0, 0.0, z])
    assert words in translation_problem(t)
    with pytest.raises(PoseRuleError, match=words.replace("(", r"\(")):
        check_translation([0.0, 0.0, z])
    assert words in pose_problems(np.eye(3)[None], t[None], np.array([True]))[0]


@pytest.mark.parametrize(
    "t",
    [
        [0.0, 0.0, MIN_DEPTH_MM],
        [0.0, 0.0, MAX_DEPTH_MM],
        [MAX_DEPTH_MM, -MAX_DEPTH_MM, MIN_DEPTH_MM],  # far to the side, as close as allowed
        [-MAX_DEPTH_MM, MAX_DEPTH_MM, MAX_DEPTH_MM],
    ],
)
def test_the_extremes_are_legal(t):
    assert translation_problem(np.array(t)) == ""
    assert pose_problems(np.eye(3)[None], np.array([t]), np.array([True])) == [""]
    check_translation(t)


def test_the_depth_limit_cannot_be_set_under_the_minimum_depth():
    with pytest.raises(ValueError, match="at least the minimum depth"):
        PoseLimits(max_depth_mm=150.0)
    assert PoseLimits(max_depth_mm=MIN_DEPTH_MM).max_depth_mm == MIN_DEPTH_MM


def test_a_guessed_position_is_moved_along_its_ray_into_the_limits():
    K = geometry.default_intrinsics(320, 240)
    t = geometry.translation_from_box((0, 0, 320, 240), K)  # a face filling the image: 150 mm
    assert t[2] == pytest.approx(150.0)
    moved = within_depth_limits(t)
    assert moved[2] == pytest.approx(MIN_DEPTH_MM) and translation_problem(moved) == ""
    np.testing.assert_allclose(geometry.project_points(moved[None], K), geometry.project_points(t[None], K))
    far = np.array([10.0, 20.0, 3 * MAX_DEPTH_MM])
    assert within_depth_limits(far)[2] == pytest.approx(MAX_DEPTH_MM)
    inside = np.array([1.0, 2.0, 600.0])
    np.testing.assert_array_equal(within_depth_limits(inside), inside)


def extreme_rows():
    """Legal poses at the corners of the rules: the minimum and the maximum
    depth, far to the side, upside down, turned away (the back of the head to
    the camera), with and without K, with and without t."""
    turned_away = geometry.axis_angle_to_matrix([0.0, np.pi, 0.0])  # the skull faces the camera
    poses = [
        (np.eye(3), [0, 0, MIN_DEPTH_MM]),
        (turned_away, [0, 0, MIN_DEPTH_MM]),
        (geometry.euler_to_matrix([0, 89.9, 179.9]), [0, 0, MIN_DEPTH_MM]),  # chin up, upside down
        (geometry.euler_to_matrix([-89.9, -89.9, -179.9]), [0, 0, MAX_DEPTH_MM]),
        (geometry.euler_to_matrix([45, 30, 60]), [MAX_DEPTH_MM, MAX_DEPTH_MM, MIN_DEPTH_MM]),
        (turned_away, [-MAX_DEPTH_MM, -MAX_DEPTH_MM, MAX_DEPTH_MM]),
    ]
    rows = []
    for i, (R, t) in enumerate(poses):
        for with_K in (True, False):
            rows.append(
                LabelRow(
                    f"img{i}{'k' if with_K else ''}.jpg",
                    0,
                    R,
                    np.array(t, dtype=np.float64),
                    "annotator",
                    "bob",
                    image_id=len(rows) + 1,
                    face_id=len(rows) + 1,
                    width=320,
                    height=240,
                    K=geometry.default_intrinsics(320, 240) if with_K else None,
                    box=(100.0, 60.0, 220.0, 200.0),
                )
            )
    return rows


@pytest.mark.parametrize("fmt", ALL)
def test_every_format_holds_every_legal_pose(fmt):
    rows = extreme_rows()
    out = io.BytesIO()
    assert write_export(fmt, rows, out, {"dataset": "x"}) == len(rows)
    if FORMATS[fmt].extension == ".zip":
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
            assert SKIPPED_MANIFEST not in zf.namelist()


def test_a_face_the_mat_cannot_hold_is_named_and_skipped_on_request():
    """A row without t whose box (wider than the image) puts the guessed head
    so close that the reference landmarks fall behind the camera: not a stored
    pose, so the rules pass it, but the .mat cannot hold it. It is reported per
    face (the export is refused listing it, or the others are written)."""
    rows = extreme_rows()[:3]
    rows[1].t = None
    rows[1].K = geometry.default_intrinsics(320, 240)
    rows[1].box = (-2000.0, 0.0, 2000.0, 240.0)  # 4000 px wide under f = 320: z = 12 mm
    with pytest.raises(InvalidRowsError) as caught:
        write_export("aflw2000_mat", rows, io.BytesIO(), {})
    [bad] = caught.value.invalid
    assert bad.face_id == rows[1].face_id and "not writable as aflw2000_mat" in bad.reason
    assert "in front of the camera" in bad.reason
    skipped = []
    out = io.BytesIO()
    assert write_export("aflw2000_mat", rows, out, {}, skipped=skipped) == 2
    assert [r.face_id for r in skipped] == [rows[1].face_id]
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert json.loads(zf.read(SKIPPED_MANIFEST))["faces"][0]["face_id"] == rows[1].face_id
        assert sorted(n for n in zf.namelist() if n.endswith(".mat")) == ["img0k.mat", "img1k.mat"]
        assert "2 .mat files" in zf.read("README.txt").decode()
    # the formats that hold any pose write it (with the guessed t)
    for fmt in ("json", "csv", "coco", "biwi_pose"):
        assert write_export(fmt, rows, io.BytesIO(), {}) == 3
