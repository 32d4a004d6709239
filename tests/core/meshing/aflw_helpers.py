"""The 10 real AFLW2000-3D samples as (image_bgr, landmarks_2d, landmarks_3d, K).

Uses the project's reader (workers/core/formats/aflw2000.py) when it imports;
otherwise reads pt3d_68 with the same documented camera model: f = 10 max(w, h),
principal point ((w-1)/2, (h-1)/2), 1000 s pixels per mm, depth toward the viewer.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import scipy.io


def _own_reader(mat: dict, width: int, height: int):
    f = 10.0 * max(width, height)
    K = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])
    u, v, z = np.asarray(mat["pt3d_68"], dtype=np.float64)
    k = float(mat["Pose_Para"][0, 6]) * 1000.0
    Z = (f - z) / k
    lm3d = np.stack([(u - K[0, 2]) * Z / f, (v - K[1, 2]) * Z / f, Z], 1)
    return np.stack([u, v], 1), lm3d, K


def load_sample(mat_path: Path):
    image = cv2.imread(str(mat_path.with_suffix(".jpg")), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read the image of {mat_path}"
    height, width = image.shape[:2]
    mat = scipy.io.loadmat(str(mat_path))
    try:
        from workers.core.formats.aflw2000 import model_intrinsics, parse_labels

        label = parse_labels(mat, width, height, mat_path.name)
        lm2d, lm3d, K = label.landmarks_2d, label.landmarks_3d, model_intrinsics(width, height)
    except ImportError:
        lm2d, lm3d, K = _own_reader(mat, width, height)
    return image, np.asarray(lm2d, float), np.asarray(lm3d, float), np.asarray(K, float)


def sample_paths(samples_dir: Path):
    paths = sorted(Path(samples_dir).glob("image*.mat"))
    assert len(paths) == 10, f"expected the 10 AFLW2000 samples in {samples_dir}, found {len(paths)}"
    return paths
