"""Textured per-face GLB files.

The vertices are stored in the CAMERA frame (OpenCV: x right, y down, z forward,
mm), so the browser can draw the mesh over its photo with the image's K and no
pose at all; to show it in three.js apply F = diag(1, -1, -1) (a rotation, so
triangle winding and front faces survive). Vertex i is landmark i.

Provenance and counts go in the glTF scene `extras` (trimesh writes
`scene.metadata` there and reads it back into `scene.metadata`); the same dict is
also returned in MeshResult.metadata for callers that store it beside the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import trimesh
from numpy.typing import ArrayLike, NDArray
from PIL import Image

from workers.core import geometry
from workers.core.meshing.delaunay import build_face_mesh
from workers.core.meshing.schemes import MeshingError, get_scheme
from workers.core.meshing.texture import face_texture

MESHER_NAME = "landmark-delaunay"
MESHER_VERSION = "1.0"

STATUS_OK = "ok"
STATUS_NO_LANDMARKS = "no_landmarks"
STATUS_INVALID = "invalid_input"
STATUS_FAILED = "failed"


@dataclass
class MeshResult:
    glb_bytes: bytes | None
    n_vertices: int
    n_faces: int
    status: str  # ok | no_landmarks | invalid_input | failed
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def _json_ready(metadata: dict[str, Any]) -> dict[str, Any]:
    """A plain-JSON copy; trimesh silently drops metadata it cannot serialise."""

    def convert(obj: object) -> Any:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    try:
        out: dict[str, Any] = json.loads(json.dumps(metadata, default=convert))
        return out
    except (TypeError, ValueError) as exc:
        raise MeshingError(f"metadata must be JSON-serialisable: {exc}") from None


def face_mesh_glb(
    vertices: ArrayLike,
    faces: ArrayLike,
    uv: ArrayLike,
    texture_image: Image.Image,
    metadata: dict[str, Any],
    texture_format: str = "JPEG",
) -> bytes:
    """GLB bytes of one textured mesh. uv is (N, 2) in the glTF convention (v = 0 at
    the top of the texture), as texture.face_texture returns it."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    t = np.asarray(uv, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise MeshingError(f"need (N, 3) vertices and (M, 3) faces, got {v.shape} and {f.shape}")
    if t.shape != (len(v), 2):
        raise MeshingError(f"need one UV per vertex: {len(v)} vertices, uv shape {t.shape}")
    if f.min() < 0 or f.max() >= len(v):
        raise MeshingError("a face refers to a vertex that does not exist")
    if not isinstance(texture_image, Image.Image):
        raise MeshingError("texture_image must be a PIL image")
    if texture_format.upper() not in ("JPEG", "PNG"):
        raise MeshingError("texture_format must be JPEG or PNG")
    extras = _json_ready(metadata or {})

    image = texture_image.convert("RGB")
    # trimesh keeps JPEG for images whose .format says JPEG, else writes PNG;
    # JPEG is several times smaller and faster to encode for a photo.
    image.format = texture_format.upper()
    material = trimesh.visual.material.PBRMaterial(  # type: ignore[no-untyped-call]  # trimesh is unannotated
        baseColorTexture=image, metallicFactor=0.0, roughnessFactor=1.0, doubleSided=False
    )
    # trimesh's UVs have v = 0 at the bottom (OBJ style); its glTF writer flips v
    uv_trimesh = np.column_stack([t[:, 0], 1.0 - t[:, 1]])
    mesh = trimesh.Trimesh(
        vertices=v,
        faces=f,
        process=False,
        validate=False,
        visual=trimesh.visual.TextureVisuals(uv=uv_trimesh, material=material),  # type: ignore[no-untyped-call]  # trimesh is unannotated
    )
    scene = trimesh.Scene()
    scene.add_geometry(mesh, geom_name="face", node_name="face")
    scene.metadata.update(extras)
    out: bytes = trimesh.exchange.gltf.export_glb(scene, include_normals=False)  # type: ignore[no-untyped-call]  # trimesh is unannotated
    return out


def _check_intrinsics(K: ArrayLike) -> NDArray[np.float64]:
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise MeshingError("K must be a finite 3x3 intrinsics matrix with fx, fy > 0")
    out: NDArray[np.float64] = K
    return out


def _failure(status: str, message: str, metadata: dict[str, Any]) -> MeshResult:
    return MeshResult(glb_bytes=None, n_vertices=0, n_faces=0, status=status, message=message, metadata=metadata)


def mesh_face(
    image_bgr: NDArray[np.uint8],
    landmarks_2d: ArrayLike | None,
    landmarks_3d: ArrayLike | None,
    scheme: str,
    K: ArrayLike,
    provenance: dict[str, Any] | None = None,
    margin: float = 0.2,
    texture_size: int = 512,
) -> MeshResult:
    """Mesh + texture + GLB for one face. Data problems come back as a status,
    never as an exception: no_landmarks, invalid_input, failed."""
    meta: dict[str, Any] = {
        "mesher": {"name": MESHER_NAME, "version": MESHER_VERSION},
        "scheme": scheme,
        "provenance": dict(provenance or {}),
    }
    if landmarks_2d is None or landmarks_3d is None or np.size(landmarks_2d) == 0 or np.size(landmarks_3d) == 0:
        return _failure(STATUS_NO_LANDMARKS, "the face has no landmarks, so there is nothing to mesh", meta)
    try:
        get_scheme(scheme)
        K = _check_intrinsics(K)
        image = np.asarray(image_bgr)
        if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
            raise MeshingError(f"expected an image (H, W, 3), got shape {image.shape}")
        height, width = image.shape[:2]
        geom = build_face_mesh(landmarks_2d, landmarks_3d, scheme, (width, height))
        p2 = np.asarray(landmarks_2d, dtype=np.float64)[: len(geom.vertices)]
        texture = face_texture(image, p2, margin=margin, max_size=texture_size)
    except MeshingError as exc:
        return _failure(STATUS_INVALID, str(exc), meta)

    reprojection = float(np.abs(geometry.project_points(geom.vertices, K) - p2).max())
    meta.update(
        {
            "frame": "camera",
            "units": "mm",
            "convention": "OpenCV camera frame (x right, y down, z forward); pixel (0,0) = "
            "centre of the top-left pixel; vertex i = landmark i",
            "winding": "counter-clockwise on screen, normals toward the camera",
            "n_landmarks": int(len(geom.vertices)),
            "n_vertices": int(len(geom.vertices)),
            "n_faces": int(len(geom.faces)),
            "image_size": [int(width), int(height)],
            "K": K.tolist(),
            "texture_crop": list(texture.crop),
            "texture_size": int(texture.image.size[0]),
            "max_reprojection_px": round(reprojection, 4),
        }
    )
    try:
        glb = face_mesh_glb(geom.vertices, geom.faces, texture.uv, texture.image, meta)
    except MeshingError as exc:
        return _failure(STATUS_FAILED, str(exc), meta)
    message = f"{len(geom.faces)} triangles over {len(geom.vertices)} landmarks"
    if reprojection > 1.0:
        message += f"; warning: the 3D landmarks project up to {reprojection:.1f} px from the 2D ones with this K"
    return MeshResult(
        glb_bytes=glb,
        n_vertices=len(geom.vertices),
        n_faces=len(geom.faces),
        status=STATUS_OK,
        message=message,
        metadata=meta,
    )
