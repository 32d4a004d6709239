"""The committed generic head mesh (static/meshes/head.glb + head.json): closed,
outward-facing, in the documented head frame, anatomically sized, and what
tools/build_head_mesh.py produces today."""

import io
import json

import numpy as np
import pytest
import trimesh

from tests.conftest import REPO_ROOT
from workers.core import geometry
from workers.core.meshing.head_mesh import aflw_mean_face68, build_head_mesh
from workers.core.proposers.parts.reference_face import load_reference_face

MESH_DIR = REPO_ROOT / "static" / "meshes"


@pytest.fixture(scope="module")
def head():
    glb = (MESH_DIR / "head.glb").read_bytes()
    info = json.loads((MESH_DIR / "head.json").read_text())
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    assert len(scene.geometry) == 1
    mesh = next(iter(scene.geometry.values()))
    # the loader may merge or reorder nothing we rely on: compare with the JSON
    assert len(mesh.vertices) == info["n_vertices"] and len(mesh.faces) == info["n_faces"]
    return mesh, info, scene.metadata


def test_closed_and_outward(head):
    mesh, info, _ = head
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0  # trimesh: positive for outward normals
    centre = np.array(info["skull"]["centre"])
    tri = mesh.vertices[mesh.faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert np.all(np.einsum("ij,ij->i", normals, tri.mean(1) - centre) > 0)
    assert 1000 <= len(mesh.faces) <= 5000


def test_documented_frame(head):
    mesh, info, meta = head
    named = {k: np.array(v["position"]) for k, v in info["named_vertices"].items()}
    for name, entry in info["named_vertices"].items():
        assert np.allclose(mesh.vertices[entry["index"]], entry["position"], atol=1e-3), name
    face = mesh.vertices[: info["n_face_points"]]
    assert np.argmin(face[:, 2]) == info["named_vertices"]["nose_tip"]["index"]  # the nose points to -z
    eyes_y = max(named["right_eye_outer"][1], named["left_eye_outer"][1])
    assert named["chin"][1] > eyes_y + 60  # y toward the chin
    assert named["left_eye_outer"][0] > named["right_eye_outer"][0] + 70  # x to image-right
    assert named["top_of_head"][1] < eyes_y - 60 and named["back_of_head"][2] > 120
    assert meta["frame"] == info["frame"] and "origin = centroid of the 68" in info["frame"]
    # adult head: breadth ~140-165, length (nose to back) ~200-240, height ~210-245 mm
    size = np.ptp(mesh.vertices, axis=0)
    assert 135 < size[0] < 170 and 205 < size[1] < 250 and 195 < size[2] < 245


def test_face_vertices_are_the_reference_face(head):
    mesh, info, _ = head
    face = load_reference_face()
    assert info["built_from"] == "reference_face" and info["built_from_version"] == face.version
    points = face.points(info["face_scheme"])
    assert np.abs(mesh.vertices[: len(points)] - points).max() < 1e-3
    assert np.allclose(face.points68.mean(axis=0), 0, atol=1e-6)  # the origin


def test_committed_file_is_up_to_date(head):
    mesh, info, _ = head
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_head_mesh", REPO_ROOT / "tools" / "build_head_mesh.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rebuilt, _, rebuilt_info, _hull = tool.build("auto")
    assert len(rebuilt.faces) == len(mesh.faces), "rerun tools/build_head_mesh.py"
    assert np.abs(rebuilt.vertices - mesh.vertices).max() < 1e-3, "rerun tools/build_head_mesh.py"
    assert rebuilt_info["named_vertices"] == info["named_vertices"]


def test_posed_head_projects_where_the_pose_says():
    """A pose from geometry puts the nose tip toward the camera and the chin down
    in the image: the mesh frame agrees with the pose convention."""
    info = json.loads((MESH_DIR / "head.json").read_text())
    named = {k: np.array(v["position"]) for k, v in info["named_vertices"].items()}
    K = geometry.default_intrinsics(640, 480)
    t = np.array([0.0, 0.0, 800.0])
    pts = geometry.project(np.stack([named["nose_tip"], named["chin"], named["left_eye_outer"]]), np.eye(3), t, K)
    assert pts[1, 1] > pts[0, 1] and pts[2, 0] > pts[0, 0]
    # +yaw turns the face toward image-left: the nose tip moves left
    yawed = geometry.project(named["nose_tip"][None], geometry.euler_to_matrix([30, 0, 0]), t, K)
    assert yawed[0, 0] < pts[0, 0] - 10


def test_builds_from_68_points_and_from_the_aflw_fallback(shared_dir):
    face = aflw_mean_face68(shared_dir / "data" / "aflw2000" / "gt_arrays" / "AFLW2000-3D.pts68.npy")
    assert np.allclose(face.mean(axis=0), 0, atol=1e-9)
    assert np.argmin(face[:, 2]) in (30, 31, 32, 33, 34, 35)  # the nose is nearest
    assert face[8, 1] > face[36:48, 1].max() and face[45, 0] > face[36, 0]
    head = build_head_mesh(face)
    mesh = trimesh.Trimesh(head.vertices, head.faces, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert head.n_face_points == 68 and np.allclose(head.vertices[:68], face)
