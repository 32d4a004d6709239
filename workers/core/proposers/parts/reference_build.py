"""How the project's 3D reference face is built (reference_face.py describes the
result); tools/build_reference_face.py runs it and writes the asset, the bench
runs it leave-one-out (build_from(..., exclude=[held-out sample])).

Reads the real data only where a caller passes its folder (never at run time).
Steps (see workers/core/proposers/reference_face.py for the frame):
1. pts68 -> camera orientation (x right, y down, z = -depth: 3DDFA's depth points
   to the viewer); drop faces whose 3D landmarks are degenerate.
2. Generalized Procrustes (rotation + scale, no reflection) -> unit-size mean.
3. Orientation + mm: each real sample's centred landmarks un-rotated by its
   ground-truth R (Pose_Para, AFLW convention via geometry.euler_to_matrix) and
   divided by s*1000 px/mm (BFM units are micrometres) give its face in the head
   frame in mm; the GPA mean is similarity-aligned onto their average, then
   mirrored and averaged (left-right symmetry removes residual yaw/roll).
4. ibug68_from_mesh468: for each iBUG point the FaceMesh vertex with the smallest
   mean distance (relative to face size) to the ground-truth 2D landmark over the
   AFLW samples, FaceMesh run through the app's own detection.
5. 468 points: FaceMesh 3D landmarks on every real face found, similarity-aligned
   to the 68-point face through the non-jaw part of the subset, Procrustes-averaged,
   aligned once more, symmetrised with a mirror matching of the vertices.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry

VERSION = "2"  # 2: the real samples no longer in the GPA shape mean (leave-one-out honest)

# iBUG 68 left-right mirror permutation (0-based)
IBUG_MIRROR = np.array(
    list(range(16, -1, -1))
    + list(range(26, 16, -1))
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)
JAW = np.arange(17)
FIT_WEIGHT_OUTLINE = 0.25  # jaw (68) / face oval (468): slides along the silhouette

Similarity = tuple[float, NDArray[np.float64], NDArray[np.float64]]
"""(s, R, t): X -> s R X + t."""
Sample = dict[str, Any]
"""A real AFLW2000 sample: name, jpg path, R, s and pts (68, 3) camera frame."""


def aflw_to_camera(pts: ArrayLike) -> NDArray[np.float64]:
    """(..., 3, 68) AFLW px (x, y down, depth toward viewer) -> (..., 68, 3) x right, y down, z away."""
    p = np.swapaxes(np.asarray(pts, dtype=np.float64), -1, -2).copy()
    p[..., 2] *= -1
    return p


def similarity(
    A: NDArray[np.float64], B: NDArray[np.float64], w: ArrayLike | None = None, scale: bool = True
) -> Similarity:
    """(s, R, t) minimising sum w |s R A_i + t - B_i|^2 (Umeyama, no reflection)."""
    wa = np.ones(len(A)) if w is None else np.asarray(w, dtype=np.float64)
    wa = wa / wa.sum()
    ma, mb = wa @ A, wa @ B
    A0, B0 = A - ma, B - mb
    H = (A0 * wa[:, None]).T @ B0
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    D = np.diag([1.0, 1.0, d])
    R = Vt.T @ D @ U.T
    s = (S * np.diag(D)).sum() / (wa @ (A0**2).sum(1)) if scale else 1.0
    return s, R, mb - s * R @ ma


def apply(sRt: Similarity, X: NDArray[np.float64]) -> NDArray[np.float64]:
    s, R, t = sRt
    return s * X @ R.T + t


def generalized_procrustes(
    shapes: NDArray[np.float64], weights: ArrayLike | None = None, iters: int = 30
) -> NDArray[np.float64]:
    """(N, P, 3) -> unit-RMS-size centred mean after rotation+scale alignment."""

    def norm(X: NDArray[np.float64]) -> NDArray[np.float64]:
        X = X - X.mean(0)
        out: NDArray[np.float64] = X / np.sqrt((X**2).sum(1).mean())
        return out

    mean = norm(shapes[0])
    for _ in range(iters):
        aligned = np.array([apply(similarity(S, mean, weights), S) for S in shapes])
        new = norm(aligned.mean(0))
        new = apply(similarity(new, mean, scale=False), new)  # keep the mean from drifting in rotation
        done = np.abs(new - mean).max() < 1e-10
        mean = new
        if done:
            break
    return mean


def symmetrize(P: NDArray[np.float64], mirror: NDArray[np.integer[Any]]) -> NDArray[np.float64]:
    M = P * np.array([-1.0, 1.0, 1.0])
    out: NDArray[np.float64] = (P + M[mirror]) / 2
    return out


def load_samples(samples_dir: str | os.PathLike[str]) -> list[Sample]:
    import scipy.io as sio

    out: list[Sample] = []
    for mat in sorted(glob.glob(str(Path(samples_dir) / "*.mat"))):
        m = sio.loadmat(mat)
        pitch, yaw, roll, _, _, _, s = m["Pose_Para"][0].astype(np.float64)
        R = geometry.euler_to_matrix(np.rad2deg([yaw, pitch, roll]))
        out.append(
            {"name": Path(mat).stem, "jpg": mat[:-4] + ".jpg", "R": R, "s": s, "pts": aflw_to_camera(m["pt3d_68"])}
        )
    if not out:
        raise SystemExit(f"no samples in {samples_dir}")
    return out


def sample_head_shapes(samples: list[Sample]) -> NDArray[np.float64]:
    """Each sample's 68 points in the head frame, mm (un-rotated by its ground truth)."""
    return np.array([((d["pts"] - d["pts"].mean(0)) @ d["R"]) / (d["s"] * 1000.0) for d in samples])


def shape_mean(pts68_all: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    """(unit-size GPA mean shape, number of faces used) of the non-degenerate faces."""
    keep = np.all(np.isfinite(pts68_all), axis=(1, 2))
    size = np.sqrt(((pts68_all - pts68_all.mean(1, keepdims=True)) ** 2).sum(2).mean(1))
    keep &= size > 5
    return generalized_procrustes(pts68_all[keep]), int(keep.sum())


def orient_points68(mean_unit: NDArray[np.float64], samples: list[Sample]) -> NDArray[np.float64]:
    """The GPA mean put into the head frame, in mm, by the samples' ground truth."""
    target = sample_head_shapes(samples).mean(0)
    ref = apply(similarity(mean_unit, target), mean_unit)
    ref = symmetrize(ref - ref.mean(0), IBUG_MIRROR)
    out: NDArray[np.float64] = ref - ref.mean(0)
    return out


def real_face_images(samples: list[Sample]) -> list[tuple[str, NDArray[Any]]]:
    import cv2
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg
    import skimage.data as sd

    imgs: list[tuple[str, NDArray[Any]]] = [(d["name"], cv2.imread(d["jpg"])) for d in samples]
    imgs.append(("astronaut", cv2.cvtColor(sd.astronaut(), cv2.COLOR_RGB2BGR)))  # type: ignore[no-untyped-call]  # skimage.data is unannotated
    imgs.append(("camera", cv2.cvtColor(sd.camera(), cv2.COLOR_GRAY2BGR)))  # type: ignore[no-untyped-call]  # skimage.data is unannotated
    gh = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    imgs.append(("grace_hopper", cv2.cvtColor(gh, cv2.COLOR_RGB2BGR)))
    lfw = sd.lfw_subset()[:100]  # type: ignore[no-untyped-call]  # unannotated; the first 100 are faces
    imgs += [(f"lfw{i}", cv2.cvtColor((im * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)) for i, im in enumerate(lfw)]
    return imgs


def mesh_outputs(images: Iterable[tuple[str, ArrayLike]]) -> dict[str, NDArray[np.float64]]:
    from workers.core.proposers.parts.detection import detect_faces

    out: dict[str, NDArray[np.float64]] = {}
    for name, img in images:
        faces = detect_faces(img, min_score=0.3)
        if faces and faces[0].landmarks is not None:
            out[name] = faces[0].landmarks
    return out


def build_mapping(
    samples: list[Sample], meshes: dict[str, NDArray[np.float64]]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    dists: list[NDArray[np.float64]] = []
    for d in samples:
        if d["name"] not in meshes:
            continue
        gt = d["pts"][:, :2]
        size = np.sqrt(((gt - gt.mean(0)) ** 2).sum(1).mean())
        lm = meshes[d["name"]][:, :2]
        dists.append(np.linalg.norm(lm[None] - gt[:, None], axis=2) / size)
    D = np.mean(dists, axis=0)
    idx = D.argmin(1)
    return idx, D[np.arange(68), idx]


def build_points468(
    meshes: dict[str, NDArray[np.float64]], ref68: NDArray[np.float64], idx68: NDArray[np.intp]
) -> tuple[NDArray[np.float64], NDArray[np.intp], int]:
    non_jaw = np.setdiff1d(np.arange(68), JAW)
    aligned_list = []
    for lm in meshes.values():
        sRt = similarity(lm[idx68[non_jaw]], ref68[non_jaw])
        aligned_list.append(apply(sRt, lm))
    aligned = np.array(aligned_list)
    mean = aligned.mean(0)
    for _ in range(10):  # Procrustes iterations on all 468, then back to the 68 frame
        aligned = np.array([apply(similarity(S, mean), S) for S in aligned])
        mean = aligned.mean(0)
        mean = apply(similarity(mean[idx68[non_jaw]], ref68[non_jaw]), mean)
    mirror = mesh_mirror(mean)
    mean = symmetrize(mean, mirror)
    mean = apply(similarity(mean[idx68[non_jaw]], ref68[non_jaw]), mean)
    return mean, mirror, len(aligned)


def mesh_mirror(P: NDArray[np.float64]) -> NDArray[np.intp]:
    from scipy.optimize import linear_sum_assignment

    M = P * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(P[:, None] - M[None], axis=2)
    _, col = linear_sum_assignment(cost)
    out: NDArray[np.intp] = col
    return out


def fit_weights() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from mediapipe.python.solutions import face_mesh_connections as fmc

    w68 = np.ones(68)
    w68[JAW] = FIT_WEIGHT_OUTLINE
    oval = sorted({i for e in fmc.FACEMESH_FACE_OVAL for i in e})
    w468 = np.ones(468)
    w468[oval] = FIT_WEIGHT_OUTLINE
    return w68, w468


def read_inputs(shared: Path) -> dict[str, Any]:
    """What every build needs, read once: the real samples, the GPA mean of the
    AFLW2000-3D shapes other than the real samples' (so that no held-out sample
    shapes the reference) and FaceMesh's output on every real face."""
    gt = shared / "data" / "aflw2000"
    samples = load_samples(gt / "samples")
    pts_all = aflw_to_camera(np.load(gt / "gt_arrays" / "AFLW2000-3D.pts68.npy"))
    names = [line.strip() for line in (gt / "gt_arrays" / "file_list.txt").read_text().split() if line.strip()]
    own = {d["name"] for d in samples}
    if len(names) != len(pts_all):
        raise SystemExit(f"file_list.txt names {len(names)} faces, the landmarks array holds {len(pts_all)}")
    keep = np.array([Path(n).stem not in own for n in names])
    gpa_mean, n68 = shape_mean(pts_all[keep])
    return {"samples": samples, "gpa_mean": gpa_mean, "n68": n68, "meshes": mesh_outputs(real_face_images(samples))}


def build(shared: Path, exclude: Iterable[str] = ()) -> dict[str, NDArray[Any]]:
    return build_from(read_inputs(shared), exclude)


def build_from(inputs: dict[str, Any], exclude: Iterable[str] = ()) -> dict[str, NDArray[Any]]:
    """The reference face arrays from every real sample except those named in
    `exclude` (leave-one-out: bench/proposer_accuracy.py builds one per held-out face)."""
    exclude = set(exclude)
    samples = [d for d in inputs["samples"] if d["name"] not in exclude]
    meshes = {k: v for k, v in inputs["meshes"].items() if k not in exclude}
    ref68 = orient_points68(inputs["gpa_mean"], samples)
    idx68, map_err = build_mapping(samples, meshes)
    ref468, mirror, n468 = build_points468(meshes, ref68, idx68)
    w68, w468 = fit_weights()
    meta = {
        "version": VERSION,
        "units": "mm",
        "frame": "head: x image-right, y chin, z back of head; origin centroid of points68",
        "points68_from": f"GPA mean of {inputs['n68']} AFLW2000-3D pts68 faces (the real samples left out), "
        f"oriented/scaled by {len(samples)} samples' Pose_Para",
        "points468_from": f"FaceMesh 3D output on {n468} real faces aligned via the iBUG subset",
        "samples_used": sorted(d["name"] for d in samples),
        "mapping_mean_error_rel": float(map_err.mean()),
        "outline_weight": FIT_WEIGHT_OUTLINE,
    }
    return {
        "points68": ref68.astype(np.float32),
        "points468": ref468.astype(np.float32),
        "ibug68_from_mesh468": idx68.astype(np.int16),
        "weights68": w68.astype(np.float32),
        "weights468": w468.astype(np.float32),
        "mesh_mirror": mirror.astype(np.int16),
        "meta": np.array(json.dumps(meta)),
    }
