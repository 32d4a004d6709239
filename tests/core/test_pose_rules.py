"""The one rule for what a pose may be (workers/core/pose_rules.py), and that
every export format holds every pose it allows (issue 24).

The rule comes from the head's geometry: the generic head the labeling page
draws (reference face + skull) and the reference face's 68 landmarks must lie
wholly in front of the camera, with MIN_CLEARANCE_MM to spare, at the pose's
own rotation. The committed hull is measured against the mesh here, so the
rule cannot drift from the head model."""

import io
import json
import zipfile

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from workers.core import geometry
from workers.core.exports import FORMATS, SKIPPED_MANIFEST, InvalidRowsError, write_export
from workers.core.label_rows import LabelRow
from workers.core.meshing.head_mesh import build_head_mesh, head_hull_vertices
from workers.core.pose_rules import (
    HEAD_RADIUS_MM,
    MAX_DEPTH_MM,
    MIN_CLEARANCE_MM,
    SAFE_DEPTH_MM,
    PoseLimits,
    PoseRuleError,
    check_pose,
    check_translation,
    head_hull,
    nearest_head_z,
    pose_problems,
    translation_problem,
    within_pose_limits,
)
from workers.core.proposers.parts.reference_face import load_reference_face

ALL = sorted(FORMATS)


@pytest.fixture(scope="module")
def head_vertices():
    """The vertices of the mesh the labeling page draws (static/meshes/head.glb) and the 68 landmarks."""
    import trimesh

    scene = trimesh.load(REPO_ROOT / "static" / "meshes" / "head.glb", file_type="glb")
    mesh = next(iter(scene.geometry.values()))
    return np.vstack([np.asarray(mesh.vertices, dtype=np.float64), load_reference_face().points68])


def random_rotations(n, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return geometry.quaternion_to_matrix(q)


def brute_nearest_z(R, t, vertices):
    return np.einsum("nij,vj->nvi", R, vertices)[..., 2].min(axis=1) + np.asarray(t)[:, 2]


TURNED_AWAY = geometry.axis_angle_to_matrix([0.0, np.pi, 0.0])  # the back of the skull faces the camera
YAW_90 = geometry.euler_to_matrix([90.0, 0.0, 0.0])  # the right ear toward the camera


def test_the_committed_hull_is_the_hull_of_todays_head(head_vertices):
    face = load_reference_face()
    rebuilt = head_hull_vertices(build_head_mesh(face.points68, face.points468), face.points68)
    assert head_hull().shape == rebuilt.shape, "rerun tools/build_head_mesh.py"
    assert np.abs(head_hull() - rebuilt).max() <= 1e-3, "rerun tools/build_head_mesh.py"
    # it holds every vertex the page draws and every landmark the .mat export places: seen from
    # any direction, none of them reaches farther than the hull (to the committed rounding)
    u = random_rotations(500, seed=1)[:, 2]
    assert np.all((u @ head_vertices.T).max(1) <= (u @ head_hull().T).max(1) + 2e-3)
    info = json.loads((REPO_ROOT / "static" / "meshes" / "head.json").read_text())
    hull_info = json.loads((REPO_ROOT / "workers" / "core" / "assets" / "head_hull.json").read_text())
    assert hull_info["mesh"]["glb_sha256"] == info["glb_sha256"]


def test_the_nearest_point_is_the_meshs_nearest_point_for_any_pose(head_vertices):
    Rs = random_rotations(3000, seed=3)
    ts = np.random.default_rng(4).uniform([-500, -500, 0], [500, 500, 900], size=(3000, 3))
    np.testing.assert_allclose(nearest_head_z(Rs, ts), brute_nearest_z(Rs, ts, head_vertices), atol=2e-3)
    assert nearest_head_z(np.eye(3), [0, 0, 0]) == pytest.approx(-43.2, abs=0.1)  # the nose tip
    assert nearest_head_z(TURNED_AWAY, [0, 0, 0]) == pytest.approx(-182.4, abs=0.1)  # the back of the skull


def test_the_safe_depth_is_the_heads_radius_plus_the_clearance(head_vertices):
    radius = np.linalg.norm(head_vertices, axis=1).max()
    assert HEAD_RADIUS_MM - 1 < radius <= HEAD_RADIUS_MM  # the constant is the measured radius, rounded up
    assert SAFE_DEPTH_MM == HEAD_RADIUS_MM + MIN_CLEARANCE_MM == 204.0
    # at the safe depth every rotation is legal, and the worst one (the farthest point toward the camera) is tight
    far = head_vertices[np.argmax(np.linalg.norm(head_vertices, axis=1))]
    axis = np.cross(far, [0, 0, -1.0])
    angle = np.arccos(-far[2] / np.linalg.norm(far))
    worst = geometry.axis_angle_to_matrix(axis / np.linalg.norm(axis) * angle)
    Rs = np.concatenate([random_rotations(2000, seed=5), worst[None]])
    z = nearest_head_z(Rs, np.tile([0.0, 0.0, SAFE_DEPTH_MM], (len(Rs), 1)))
    assert z.min() >= MIN_CLEARANCE_MM and z.min() < MIN_CLEARANCE_MM + 1
    assert pose_problems(Rs, np.tile([0.0, 0.0, SAFE_DEPTH_MM], (len(Rs), 1)), np.ones(len(Rs), bool)) == [""] * len(Rs)


def test_a_close_up_is_legal_when_its_whole_head_is_in_front():
    """Issue 24: a frontal face 120 mm from the camera (a tight crop) is a head;
    the same position with the head turned is one only while no part of it
    reaches the camera."""
    t = [0.0, 0.0, 120.0]
    assert check_pose(np.eye(3), t)[1].tolist() == t
    check_pose(YAW_90, t)  # the ear 75 mm from the head origin: 45 mm in front
    with pytest.raises(PoseRuleError, match=r"The head would cross the camera plane \(its nearest point is at z = -62"):
        check_pose(TURNED_AWAY, t)
    near = [0.0, 0.0, 80.0]  # the nose 37 mm in front; turned 90 degrees, the ear 4.6 mm: too close
    check_pose(np.eye(3), near)
    with pytest.raises(
        PoseRuleError, match=r"The head would be too close to the camera \(its nearest point is at z = 4.6"
    ):
        check_pose(YAW_90, near)
    R = np.stack([np.eye(3), YAW_90, TURNED_AWAY, np.eye(3), YAW_90])
    ts = np.array([t, t, t, near, near])
    problems = pose_problems(R, ts, np.ones(5, bool))
    assert problems[0] == problems[1] == problems[3] == ""
    assert "cross the camera plane" in problems[2] and "at least 10 mm in front of the camera" in problems[2]
    assert "too close to the camera (its nearest point is at z = 4.6 mm" in problems[4]


@pytest.mark.parametrize(
    "z, words",
    [
        (40.0, "head would cross the camera plane (its nearest point is at z = -3.2 mm"),  # issue 24
        (0.003, "cross the camera plane (its nearest point is at z = -43.2 mm"),  # a few micrometres
        (53.0, "too close to the camera (its nearest point is at z = 9.8 mm"),  # the nose 9.8 mm away
    ],
)
def test_a_head_reaching_the_camera_is_refused_with_the_reason(z, words):
    t = np.array([0.0, 0.0, z])
    assert translation_problem(t) == ""  # some rotation might fit there; this one does not
    with pytest.raises(PoseRuleError, match=words.replace("(", r"\(")):
        check_pose(np.eye(3), [0.0, 0.0, z])
    assert words in pose_problems(np.eye(3)[None], t[None], np.array([True]))[0]


@pytest.mark.parametrize(
    "z, words",
    [(0.0, "behind the camera"), (-600.0, "behind the camera"), (MAX_DEPTH_MM + 1, "too far")],
)
def test_a_depth_outside_the_limits_is_refused_with_the_reason(z, words):
    t = np.array([0.0, 0.0, z])
    assert words in translation_problem(t)
    with pytest.raises(PoseRuleError, match=words):
        check_translation([0.0, 0.0, z])
    with pytest.raises(PoseRuleError, match=words):
        check_pose(np.eye(3), [0.0, 0.0, z])
    assert words in pose_problems(np.eye(3)[None], t[None], np.array([True]))[0]


@pytest.mark.parametrize(
    "t",
    [
        [0.0, 0.0, SAFE_DEPTH_MM],
        [0.0, 0.0, MAX_DEPTH_MM],
        [MAX_DEPTH_MM, -MAX_DEPTH_MM, SAFE_DEPTH_MM],  # far to the side, as close as any rotation may
        [-MAX_DEPTH_MM, MAX_DEPTH_MM, MAX_DEPTH_MM],
    ],
)
def test_the_extremes_are_legal(t):
    assert translation_problem(np.array(t)) == ""
    for R in (np.eye(3), TURNED_AWAY, YAW_90):
        assert pose_problems(R[None], np.array([t]), np.array([True])) == [""]
        check_pose(R, t)


def test_the_depth_limit_cannot_be_set_under_the_safe_depth():
    with pytest.raises(ValueError, match="a head turned away from the camera could never be stored"):
        PoseLimits(max_depth_mm=200.0)
    assert PoseLimits(max_depth_mm=SAFE_DEPTH_MM).max_depth_mm == SAFE_DEPTH_MM


def test_a_guessed_position_is_moved_along_its_ray_only_as_far_as_its_rotation_needs():
    K = geometry.default_intrinsics(320, 240)
    t = geometry.translation_from_box((0, 0, 320, 240), K)  # a face filling the image: 150 mm
    assert t[2] == pytest.approx(150.0)
    np.testing.assert_array_equal(within_pose_limits(np.eye(3), t), t)  # a frontal head fits there
    for R in (TURNED_AWAY, YAW_90):
        moved = within_pose_limits(R, t * 0.3)  # 45 mm: too close for either
        assert nearest_head_z(R, moved) == pytest.approx(MIN_CLEARANCE_MM + 1)  # the clearance and 1 mm of slack
        check_pose(R, moved)
        np.testing.assert_allclose(geometry.project_points(moved[None], K), geometry.project_points(t[None], K))
    far = np.array([10.0, 20.0, 3 * MAX_DEPTH_MM])
    assert within_pose_limits(np.eye(3), far)[2] == pytest.approx(MAX_DEPTH_MM)
    inside = np.array([1.0, 2.0, 600.0])
    np.testing.assert_array_equal(within_pose_limits(TURNED_AWAY, inside), inside)


def nearest_legal(R, t):
    """t moved along its ray until the head's nearest point is MIN_CLEARANCE_MM (+ 1 um) from the camera."""
    t = np.asarray(t, dtype=np.float64)
    behind = t[2] - nearest_head_z(R, t)
    return (t * (behind + MIN_CLEARANCE_MM + 1e-3) / t[2]).tolist()


def extreme_rows():
    """Legal poses at the corners of the rules: each head as near as its
    rotation allows (its nearest point MIN_CLEARANCE_MM from the camera), the
    maximum depth, far to the side, upside down, turned away (the back of the
    head to the camera), with and without K, with and without t."""
    poses = [(R, nearest_legal(R, [0.0, 0.0, 1.0])) for R in (np.eye(3), TURNED_AWAY, YAW_90)]
    poses += [
        (
            geometry.euler_to_matrix([0, 89.9, 179.9]),
            nearest_legal(geometry.euler_to_matrix([0, 89.9, 179.9]), [0, 0, 1]),
        ),
        (geometry.euler_to_matrix([-89.9, -89.9, -179.9]), [0, 0, MAX_DEPTH_MM]),
        (geometry.euler_to_matrix([45, 30, 60]), [MAX_DEPTH_MM, MAX_DEPTH_MM, SAFE_DEPTH_MM]),
        (TURNED_AWAY, [-MAX_DEPTH_MM, -MAX_DEPTH_MM, MAX_DEPTH_MM]),
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
