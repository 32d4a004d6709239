"""Random label rows for the export tests, and independent math to check the
files with: scipy's Rotation and hand-written projections, never the code
under test (only geometry.euler_to_matrix makes the poses, as the brief asks)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from workers.core import geometry
from workers.core.label_rows import LabelRow
from workers.core.proposers.parts.reference_face import load_reference_face

META = {"dataset": "demo", "labels": "best", "exported_at": "2025-06-01T12:00:00+00:00"}


def random_pose(rng) -> tuple[np.ndarray, np.ndarray]:
    """R from random angles (|yaw| up to 99 deg, so past the Euler range's
    edge) and t well in front of the camera, mm."""
    euler = [rng.uniform(-99, 99), rng.uniform(-80, 80), rng.uniform(-80, 80)]
    R = geometry.euler_to_matrix(euler)
    t = np.array([rng.uniform(-150, 150), rng.uniform(-150, 150), rng.uniform(400, 3000)])
    return R, t


def random_K(rng, w: int, h: int) -> np.ndarray:
    fx = rng.uniform(0.6, 3.0) * w
    return np.array(
        [[fx, 0, rng.uniform(0.4, 0.6) * w], [0, fx * rng.uniform(0.95, 1.05), rng.uniform(0.4, 0.6) * h], [0, 0, 1]]
    )


def projection(X: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixels, pinhole written out."""
    return np.stack([K[0, 0] * X[:, 0] / X[:, 2] + K[0, 2], K[1, 1] * X[:, 1] / X[:, 2] + K[1, 2]], 1)


def random_rows(
    n_images: int,
    seed: int = 0,
    faces_per_image=(1, 3),
    names=None,
    with_K=True,
    with_landmarks=False,
    t_missing_every: int = 0,
    image_ids=True,
) -> list[LabelRow]:
    """Rows for n_images images with 1-2 faces each. Landmarks, when asked
    for, are a perturbed reference face at the row's pose (iBUG-68), stored as
    dataset ground truth (landmarks_match_pose=True) on even faces only."""
    rng = np.random.default_rng(seed)
    ref = load_reference_face().points68
    rows = []
    for i in range(n_images):
        w, h = int(rng.integers(40, 160)), int(rng.integers(40, 160))
        K = random_K(rng, w, h) if with_K else None
        name = names[i] if names else f"set{i % 2}/image{i:05d}.jpg"
        for k in range(int(rng.integers(*faces_per_image))):
            R, t = random_pose(rng)
            x0, y0 = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
            row = LabelRow(
                name,
                k,
                R,
                t,
                "annotator",
                f"user{k}",
                image_id=i + 1 if image_ids else None,
                face_id=len(rows) + 1,
                width=w,
                height=h,
                K=K,
                box=(x0, y0, x0 + rng.uniform(5, w / 2), y0 + rng.uniform(5, h / 2)),
                provenance={
                    "origin": "annotator",
                    "author": f"user{k}",
                    "status": "accepted",
                    "version": int(rng.integers(1, 5)),
                    "score": float(rng.uniform()),
                },
            )
            if t_missing_every and len(rows) % t_missing_every == 0:
                row.t = None
            if with_landmarks:
                L3 = (ref + rng.normal(0, 2.0, ref.shape)) @ R.T + t
                row.landmarks_3d = L3
                row.landmarks_2d = projection(L3, K if K is not None else geometry.default_intrinsics(w, h))
                row.landmark_scheme = "ibug68"
                row.landmarks_match_pose = k % 2 == 0
            rows.append(row)
    return rows


def scipy_euler(R) -> np.ndarray:
    """[yaw, pitch, roll] degrees from scipy: intrinsic 'XYZ' gives
    R = Rx(a) Ry(b) Rz(c), and the project's R = Rx(-pitch) Ry(yaw) Rz(roll)."""
    a, b, c = Rotation.from_matrix(np.asarray(R)).as_euler("XYZ", degrees=True)
    return np.array([b, -a, c])


def scipy_matrix_from_wxyz(q) -> np.ndarray:
    w, x, y, z = q
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def angle_difference(a, b) -> np.ndarray:
    return (np.asarray(a) - np.asarray(b) + 180) % 360 - 180


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (90, 120, 150)).save(buf, format="PNG")
    return buf.getvalue()
