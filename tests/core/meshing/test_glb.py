"""GLB export: loads back with trimesh, and a hand-written GLB reader (the glTF
2.0 binary layout, independent of trimesh) checks UVs, the v direction and the
embedded texture against the photo."""

import io
import json
import struct

import numpy as np
import pytest
import trimesh
from PIL import Image

from tests.core.meshing.aflw_helpers import load_sample, sample_paths
from tests.core.meshing.test_texture import gradient_image, sample_bilinear
from workers.core import geometry
from workers.core.meshing import face_mesh_glb, face_texture, mesh_face
from workers.core.proposers.parts.reference_face import load_reference_face

COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
DTYPES = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}


def read_glb(data: bytes):
    """(gltf json, {attribute: array}, indices, image bytes) of the first primitive."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON"
    gltf = json.loads(data[20 : 20 + json_len])
    bin_start = 20 + json_len
    bin_len, bin_type = struct.unpack_from("<I4s", data, bin_start)
    assert bin_type == b"BIN\x00"
    blob = data[bin_start + 8 : bin_start + 8 + bin_len]

    def view_bytes(view_index):
        view = gltf["bufferViews"][view_index]
        start = view.get("byteOffset", 0)
        return blob[start : start + view["byteLength"]]

    def accessor(index):
        acc = gltf["accessors"][index]
        raw = view_bytes(acc["bufferView"])
        n = COMPONENTS[acc["type"]]
        arr = np.frombuffer(
            raw, dtype=DTYPES[acc["componentType"]], count=acc["count"] * n, offset=acc.get("byteOffset", 0)
        )
        return arr.reshape(acc["count"], n) if n > 1 else arr

    prim = gltf["meshes"][0]["primitives"][0]
    attributes = {name: accessor(i) for name, i in prim["attributes"].items()}
    indices = accessor(prim["indices"]).reshape(-1, 3)
    material = gltf["materials"][prim["material"]]
    tex_index = material["pbrMetallicRoughness"]["baseColorTexture"]["index"]
    image = gltf["images"][gltf["textures"][tex_index]["source"]]
    return gltf, attributes, indices, view_bytes(image["bufferView"]), image["mimeType"]


def _gradient_face():
    """A face-like triangle fan on the gradient image, with camera-frame points."""
    rng = np.random.default_rng(5)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 20))
    p2 = np.concatenate([[[125, 120]], 125 + 80 * np.c_[np.cos(angles), np.sin(angles)]])
    K = geometry.default_intrinsics(250, 240)
    from workers.core.meshing import backproject

    p3 = backproject(p2, rng.uniform(590, 610, len(p2)), K)
    faces = np.array([[0, i % 20 + 1, (i + 1) % 20 + 1] for i in range(20)])
    return p2, p3, faces


def test_uvs_and_texture_survive_the_glb_exactly():
    p2, p3, faces = _gradient_face()
    tex = face_texture(gradient_image(), p2)
    glb = face_mesh_glb(p3, faces, tex.uv, tex.image, {"note": "test"}, texture_format="PNG")
    gltf, attrs, indices, image_bytes, mime = read_glb(glb)
    assert mime == "image/png"
    assert np.allclose(attrs["POSITION"], p3, atol=1e-3)
    assert np.array_equal(indices, faces)
    uv = attrs["TEXCOORD_0"].astype(np.float64)
    assert np.allclose(uv, tex.uv, atol=1e-6)  # stored in glTF's v-down convention
    rgb = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
    got = sample_bilinear(rgb, uv[:, 0], uv[:, 1])  # glTF: v = 0 is the top row
    assert np.abs(got[:, 2] - p2[:, 0]).max() < 0.01 and np.abs(got[:, 1] - p2[:, 1]).max() < 0.01
    assert gltf["scenes"][0]["extras"]["note"] == "test"


def test_jpeg_texture_matches_the_photo():
    p2, p3, faces = _gradient_face()
    result = mesh_face(gradient_image(), p2, p3, "mediapipe468", geometry.default_intrinsics(250, 240))
    assert result.status == "invalid_input"  # 21 points are not a FaceMesh: refused, not crashed
    tex = face_texture(gradient_image(), p2)
    glb = face_mesh_glb(p3, faces, tex.uv, tex.image, {})
    _, attrs, _, image_bytes, mime = read_glb(glb)
    assert mime == "image/jpeg"
    rgb = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
    uv = attrs["TEXCOORD_0"].astype(np.float64)
    got = sample_bilinear(rgb, uv[:, 0], uv[:, 1])
    assert np.abs(got[:, 2] - p2[:, 0]).max() < 4 and np.abs(got[:, 1] - p2[:, 1]).max() < 4


def test_real_samples_mesh_and_load_back(aflw_samples_dir):
    provenance = {"landmarks_provenance": "aflw2000-3d ground truth", "proposer": None, "proposer_version": None}
    for path in sample_paths(aflw_samples_dir):
        image, p2, p3, K = load_sample(path)
        result = mesh_face(image, p2, p3, "ibug68", K, provenance=provenance)
        assert result.ok, (path.name, result.status, result.message)
        assert result.n_vertices == 68 and 80 <= result.n_faces <= 120

        scene = trimesh.load(io.BytesIO(result.glb_bytes), file_type="glb")
        assert len(scene.geometry) == 1
        mesh = next(iter(scene.geometry.values()))
        assert len(mesh.vertices) == 68 and len(mesh.faces) == result.n_faces
        texture = mesh.visual.material.baseColorTexture
        assert texture is not None and min(texture.size) >= 64
        meta = scene.metadata
        assert meta["provenance"] == provenance
        assert meta["scheme"] == "ibug68" and meta["frame"] == "camera" and meta["units"] == "mm"
        assert meta["n_faces"] == result.n_faces and meta["n_vertices"] == 68
        assert meta["mesher"]["name"] and meta["mesher"]["version"]

        # the stored (float32) camera-frame vertices still land on the landmarks
        _, attrs, _indices, _, _ = read_glb(result.glb_bytes)
        K_stored = np.array(meta["K"])
        assert np.abs(geometry.project_points(attrs["POSITION"].astype(np.float64), K_stored) - p2).max() < 1.0
        uv = attrs["TEXCOORD_0"]
        assert np.all((uv >= 0) & (uv <= 1))
        # UVs place each landmark where it is in the crop of the photo
        x0, y0, side = meta["texture_crop"]
        assert np.allclose(uv * side + [x0 - 0.5, y0 - 0.5], p2, atol=0.05)


@pytest.mark.parametrize("lm2d, lm3d", [(None, None), (np.zeros((0, 2)), np.zeros((0, 3))), (np.zeros((68, 2)), None)])
def test_no_landmarks_status(lm2d, lm3d):
    result = mesh_face(np.zeros((100, 100, 3), np.uint8), lm2d, lm3d, "ibug68", np.eye(3), provenance={"proposer": "x"})
    assert result.status == "no_landmarks" and result.glb_bytes is None
    assert result.n_faces == 0 and "no landmarks" in result.message
    assert result.metadata["provenance"] == {"proposer": "x"}


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(scheme="dlib5"), "unknown landmark scheme"),
        (dict(K=np.zeros((3, 3))), "intrinsics"),
        (dict(image=np.zeros((0, 0, 3), np.uint8)), "image"),
        (dict(provenance={"bad": object()}), "JSON"),
    ],
)
def test_bad_input_gives_a_status(change, message):
    p2, p3, _ = _gradient_face()
    pts = load_reference_face().points68
    K = geometry.default_intrinsics(250, 240)
    p3 = geometry.transform(pts, np.eye(3), [0, 0, 900])
    p2 = geometry.project_points(p3, K)
    args = dict(image=gradient_image(), scheme="ibug68", K=K, provenance={})
    args.update(change)
    result = mesh_face(args["image"], p2, p3, args["scheme"], args["K"], args["provenance"])
    assert result.status in ("invalid_input", "failed") and message in result.message
    assert result.glb_bytes is None


def test_facemesh_with_iris_points_is_accepted():
    pts = load_reference_face().points468
    K = geometry.default_intrinsics(640, 480)
    p3 = geometry.transform(pts, geometry.euler_to_matrix([20, -10, 5]), [10, 0, 700])
    p3 = np.concatenate([p3, p3[[468 - 1] * 10]])  # 478: the iris points FaceMesh can append
    p2 = geometry.project_points(p3, K)
    result = mesh_face(np.full((480, 640, 3), 90, np.uint8), p2, p3, "mediapipe468", K)
    assert result.ok and result.n_vertices == 468 and 800 <= result.n_faces <= 900
