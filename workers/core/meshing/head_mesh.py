"""The generic head mesh the labeling page renders, built from the reference face.

Frame (POSE_CONVENTIONS.md head frame): x to image-right, y to the chin, z to the
back of the head, millimetres; origin = centroid of the 68 reference landmarks.
A pose (R, t) of a face therefore places this mesh directly: X_cam = R X + t.

Construction (no download, no hand-made vertices):
1. Face: the reference face's points (468 FaceMesh points when available, else
   the 68 iBUG points) are mesh vertices, exactly, in their order: vertex i is
   reference point i.
2. Skull: an axis-aligned ellipsoid behind the face, sized from the face with
   adult head proportions:
   - half-breadth a = 0.525 x the distance between the jaw-line ends (0 and 16,
     which sit near the ears: head breadth ~152 mm vs ~145 mm between them);
   - height: the top of the head lies 2.0 x (nasion 27 -> menton 8) above the
     menton (vertex-menton ~225 mm vs nasion-menton ~112 mm), the ellipsoid spans
     top to menton: b = half of that, centre half-way;
   - half-length c = 1.3 a (head length / breadth ~195 / 152);
   - depth: the ellipsoid passes through the brow centre (mid-point of 19, 24)
     so the forehead continues the face.
   Skull vertices are a Fibonacci sphere of directions from the ellipsoid
   centre C, minus those that fall inside the face outline (seen from C) or too
   close to a face vertex; each sits on the ellipsoid, pulled toward the face by
   the face-outline offsets (inverse-distance weighted, fading with angle), so
   the skull meets the face without a step.
3. Triangles: the convex hull of all vertex directions from C (a Delaunay
   triangulation of the sphere: closed, every edge shared by two triangles),
   oriented outward, then each vertex moved out to its radius. The surface is
   star-shaped around C, so the triangulation stays closed and outward-facing;
   build_head_mesh checks that every triangle faces away from C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import ConvexHull, cKDTree

from workers.core.meshing.delaunay import points_in_polygon
from workers.core.meshing.schemes import IBUG68, MEDIAPIPE468, MeshingError

HEAD_MESH_VERSION = "1"
SKIN_RGBA = (224, 190, 165, 255)

# Anthropometric ratios (adult averages; see the module docstring)
BREADTH_PER_JAW_WIDTH = 0.525
HEIGHT_PER_NASION_MENTON = 2.0
LENGTH_PER_BREADTH = 1.3


@dataclass
class HeadMesh:
    vertices: NDArray[np.float64]  # (V, 3) head frame, mm
    faces: NDArray[np.int32]  # (F, 3) outward (counter-clockwise seen from outside)
    n_face_points: int  # vertices [0, n_face_points) are the reference face points
    centre: NDArray[np.float64]  # ellipsoid centre C
    axes: NDArray[np.float64]  # ellipsoid half-axes (a, b, c)
    named: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"index", "position"}
    built_from: str = ""  # what the face points came from (the reference face, a mean face ...)


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def fibonacci_sphere(n: int) -> NDArray[np.float64]:
    """n nearly uniform unit vectors."""
    i = np.arange(n) + 0.5
    y = 1 - 2 * i / n
    r = np.sqrt(1 - y * y)
    phi = np.pi * (3 - np.sqrt(5)) * i
    return np.stack([r * np.cos(phi), y, r * np.sin(phi)], axis=1)


def fit_skull(points68: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ellipsoid centre and half-axes from the 68 reference points (docstring)."""
    p = np.asarray(points68, dtype=np.float64)
    a = BREADTH_PER_JAW_WIDTH * np.linalg.norm(p[16] - p[0])
    menton_y, nasion_y = p[8, 1], p[27, 1]
    top_y = menton_y - HEIGHT_PER_NASION_MENTON * (menton_y - nasion_y)
    b = (menton_y - top_y) / 2
    cy = (menton_y + top_y) / 2
    c = LENGTH_PER_BREADTH * a
    brow = (p[19] + p[24]) / 2
    along = np.clip((brow[1] - cy) / b, -0.99, 0.99)
    cz = brow[2] + c * np.sqrt(1 - along**2)
    return np.array([0.0, cy, cz]), np.array([a, b, c])


def ellipsoid_radius(directions: NDArray[np.float64], axes: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / np.sqrt(np.sum((directions / axes) ** 2, axis=1))
    return out


def _azimuthal(directions: NDArray[np.float64], pole: NDArray[np.float64]) -> NDArray[np.float64]:
    """Azimuthal equidistant map around `pole`: a face outline that spans almost a
    hemisphere stays a simple polygon (a gnomonic map would blow up near 90 deg)."""
    pole = _unit(pole)
    helper = np.array([0.0, 1.0, 0.0]) if abs(pole[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = _unit(np.cross(helper, pole))
    e2 = np.cross(pole, e1)
    cos_t = np.clip(directions @ pole, -1, 1)
    theta = np.arccos(cos_t)
    x, y = directions @ e1, directions @ e2
    norm = np.hypot(x, y)
    norm = np.where(norm < 1e-12, 1.0, norm)
    return np.stack([theta * x / norm, theta * y / norm], axis=1)


def build_head_mesh(
    points68: NDArray[np.float64],
    points468: NDArray[np.float64] | None = None,
    n_skull: int = 1600,
    blend_angle: float = 0.5,
    built_from: str = "",
) -> HeadMesh:
    """Closed head mesh in the head frame; see the module docstring."""
    p68 = np.asarray(points68, dtype=np.float64)
    if p68.shape != (68, 3) or not np.all(np.isfinite(p68)):
        raise MeshingError(f"points68 must be (68, 3) finite mm, got {p68.shape}")
    if points468 is not None:
        face = np.asarray(points468, dtype=np.float64)
        if face.shape != (468, 3) or not np.all(np.isfinite(face)):
            raise MeshingError(f"points468 must be (468, 3) finite mm, got {face.shape}")
        scheme = MEDIAPIPE468
    else:
        face, scheme = p68, IBUG68
    centre, axes = fit_skull(p68)

    face_dirs = _unit(face - centre)
    face_r = np.linalg.norm(face - centre, axis=1)
    outline = np.asarray(scheme.outline)
    pole = _unit(face_dirs.mean(axis=0))
    skull_dirs = fibonacci_sphere(n_skull)

    plane_face = _azimuthal(face_dirs, pole)
    plane_skull = _azimuthal(skull_dirs, pole)
    inside = points_in_polygon(plane_skull, plane_face[outline])
    spacing = np.sqrt(4 * np.pi / n_skull)
    near, _ = cKDTree(face_dirs).query(skull_dirs)
    # chord distance ~ angle at these scales; half a spacing avoids slivers
    keep = ~inside & (near > 0.5 * spacing)
    skull_dirs = skull_dirs[keep]

    # offsets of the outline from the ellipsoid, spread onto the nearby skull
    out_dirs = face_dirs[outline]
    out_offset = face_r[outline] - ellipsoid_radius(out_dirs, axes)
    k = min(4, len(outline))
    dist, idx = cKDTree(out_dirs).query(skull_dirs, k=k)
    weights = 1.0 / np.maximum(dist, 1e-6) ** 2
    offset = np.sum(weights * out_offset[idx], axis=1) / np.sum(weights, axis=1)
    fade = np.clip(1 - dist[:, 0] / blend_angle, 0, 1)
    fade = fade * fade * (3 - 2 * fade)  # smoothstep: no crease where the blend ends
    skull_r = ellipsoid_radius(skull_dirs, axes) + fade * offset

    dirs = np.concatenate([face_dirs, skull_dirs])
    radii = np.concatenate([face_r, skull_r])
    faces = ConvexHull(dirs).simplices.astype(np.int64)
    vertices = centre + dirs * radii[:, None]

    normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    hull_normals = np.cross(dirs[faces[:, 1]] - dirs[faces[:, 0]], dirs[faces[:, 2]] - dirs[faces[:, 0]])
    inward = np.sum(hull_normals * dirs[faces].mean(axis=1), axis=1) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    normals[inward] = -normals[inward]
    outward = np.sum(normals * (vertices[faces].mean(axis=1) - centre), axis=1)
    if np.any(outward <= 0):
        raise MeshingError(
            f"{int(np.sum(outward <= 0))} head triangles face the centre: the face is "
            "not star-shaped around the skull centre"
        )

    named = {}
    for name, i in scheme.named.items():
        named[name] = {"index": int(i), "position": vertices[i].round(4).tolist()}
    extremes = {
        "top_of_head": int(np.argmin(vertices[:, 1])),
        "back_of_head": int(np.argmax(vertices[:, 2])),
        "right_side": int(np.argmin(vertices[:, 0])),
        "left_side": int(np.argmax(vertices[:, 0])),
    }
    for name, i in extremes.items():
        named[name] = {"index": i, "position": vertices[i].round(4).tolist()}
    return HeadMesh(
        vertices=vertices,
        faces=faces.astype(np.int32),
        n_face_points=len(face),
        centre=centre,
        axes=axes,
        named=named,
        built_from=built_from,
    )


def head_hull_vertices(head: HeadMesh, points68: NDArray[np.float64]) -> NDArray[np.float64]:
    """The vertices of the convex hull of the mesh and the 68 reference
    landmarks (head frame, mm), in index order: what the pose rules need to
    find the head's nearest point to the camera for any pose
    (workers/core/pose_rules.py; tools/build_head_mesh.py writes them)."""
    points = np.vstack([head.vertices, np.asarray(points68, dtype=np.float64)])
    out: NDArray[np.float64] = points[np.sort(ConvexHull(points).vertices)]
    return out


def head_mesh_glb(head: HeadMesh, metadata: dict[str, Any]) -> bytes:
    """GLB of the head: smooth normals, one plain skin-coloured material."""
    import trimesh  # local: the face meshing path does not need it at import time

    from workers.core.meshing.glb import _json_ready

    mesh = trimesh.Trimesh(vertices=head.vertices, faces=head.faces, process=False, validate=False)
    mesh.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(  # type: ignore[no-untyped-call]  # trimesh is unannotated
            baseColorFactor=SKIN_RGBA, metallicFactor=0.0, roughnessFactor=0.8
        )
    )
    scene = trimesh.Scene()
    scene.add_geometry(mesh, geom_name="head", node_name="head")
    scene.metadata.update(_json_ready(metadata))
    out: bytes = trimesh.exchange.gltf.export_glb(scene, include_normals=True)  # type: ignore[no-untyped-call]  # trimesh is unannotated
    return out


def aflw_mean_face68(pts68_path: Path, eye_corner_mm: float = 86.0) -> NDArray[np.float64]:
    """Fallback 68-point face when the project's reference face is missing: the
    generalized Procrustes mean of the AFLW2000-3D landmarks (image x, y down,
    depth toward the viewer -> negated to point away), put in the head frame by
    the eyes (x from the right eye to the left) and the eyes-to-mouth direction
    (y), scaled to `eye_corner_mm` between the outer eye corners (36, 45)."""
    pts = np.load(pts68_path).astype(np.float64)  # (N, 3, 68)
    shapes = np.transpose(pts, (0, 2, 1)) * np.array([1.0, 1.0, -1.0])
    shapes -= shapes.mean(axis=1, keepdims=True)
    shapes /= np.linalg.norm(shapes, axis=(1, 2), keepdims=True)
    mean = shapes[0]
    for _ in range(5):
        m = np.einsum("nki,kj->nij", shapes, mean)  # per-shape cross-covariance
        U, _, Vt = np.linalg.svd(m)
        d = np.sign(np.linalg.det(U @ Vt))
        U[:, :, 2] *= d[:, None]  # proper rotations only
        aligned = np.einsum("nki,nij->nkj", shapes, U @ Vt)
        mean = aligned.mean(axis=0)
        mean /= np.linalg.norm(mean)
    right_eye, left_eye = mean[36:42].mean(0), mean[42:48].mean(0)
    x = _unit(left_eye - right_eye)
    y = mean[48:68].mean(0) - (right_eye + left_eye) / 2
    y = _unit(y - (y @ x) * x)
    z = np.cross(x, y)
    face = mean @ np.stack([x, y, z], axis=1)
    face -= face.mean(axis=0)
    out: NDArray[np.float64] = face * eye_corner_mm / np.linalg.norm(face[45] - face[36])
    return out
