"""AFLW2000-3D: imageXXXXX.jpg + imageXXXXX.mat, reader and writer.

Keys used: ``Pose_Para`` (1, 7) = [pitch, yaw, roll, tx, ty, tz, s], radians;
``pt3d_68`` (3, 68) = landmark x, y in image pixels (y down) and a depth z in
pixels; ``pt2d`` (2, 21) kept as is (invisible points stored as (-1, 452)).

Rotation: R = geometry.euler_to_matrix([yaw, pitch, roll], degrees=False), the
convention of POSE_CONVENTIONS.md, which is F @ angle2matrix_3ddfa @ F.

Camera model. The labels come from a weak-perspective 3DMM fit (x_img = s R X + t
with the BFM face model). We model it as a pinhole camera with a long focal length
    f = 10 * max(w, h),  principal point ((w - 1) / 2, (h - 1) / 2),
so the perspective distortion over a face is under 1 %. With k = s * 1000 pixels
per millimetre, the depth level z = 0 of pt3d_68 sits at Z0 = f / k, where a
millimetre across the face spans k pixels as in the weak-perspective fit.

Units, checked on the 10 real samples: BFM coordinates are micrometres. The
3D distance between the jaw-line ends (landmarks 0 and 16) divided by s is
135-148 mm (median ~145 mm), a plausible adult face width; read as millimetres it
would be 0.14 mm, as centimetres 14 m.

Depth sign, checked on the same samples: pt3d_68 z grows toward the viewer. The
nose tip (landmark 30) has the largest z on every sample (+35..+81 px) and the jaw
ends the smallest; with +yaw (face turned to image-left) the jaw end on the image
right (landmark 16) comes forward (yaw 45.5 deg: z16 = -0.9 px, z0 = -106.6 px).
The z values are centred near the model origin (landmark mean +0..+17 px) and do
not include Pose_Para's tz (about -60..-113 px), so tz plays no part here.

3D landmarks in the camera frame, mm, for pt3d_68 columns (u, v, z):
    Z = Z0 - z / k,  X = (u - cx) Z / f,  Y = (v - cy) Z / f
so they project back exactly onto (u, v). t = centroid of those 68 points
(the project's head origin for ground-truth imports).

Writer (`write_mat`): inverts that model. For a pose (R, t), 68 camera-frame
landmarks and an intrinsic matrix K: angles from geometry.matrix_to_euler(R);
k = 1000 s = fx / Z0 with Z0 = t_z unless `scale` (s) is given; pt3d_68 x, y =
the landmarks projected with K, z = k (Z0 - Z); tx, ty = the projection of t with
ty in the y-up image frame ((h - 1) - v, h - 1 = 2 cy); tz = k (Z0 - t_z), the
pt3d depth of t. With K equal to this module's model K for the image size, reading
the file back returns R, t and the landmarks (1e-9 relative). Original files' tx,
ty refer to the BFM origin, which 68 landmarks cannot recover, so only pt3d_68,
the angles and s survive a read/write round trip of a real file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import numpy as np
import scipy.io
from numpy.typing import ArrayLike, NDArray

from .. import bounded_numbers, geometry
from .archive import Limits, SourceLike, opened, paired, suffix
from .images import IMAGE_SUFFIXES, image_size
from .records import MAX_PIXEL_COORDINATE, FaceLabel, FormatError, Record, Sample, SampleError

FOCAL_FACTOR = 10.0
UM_PER_MM = 1000.0
BOX_MARGIN = 0.05
# Bounds on Pose_Para, far outside the real files (angles within ±pi, s about 0.001,
# tx, ty, tz a few hundred pixels): beyond them a file is a per-file error.
MAX_ANGLE_RAD = 2 * np.pi  # one turn
MAX_SCALE = 1.0  # s: a thousand times the real ones (the pose rules judge the depth it gives)
POSE_PARA_NAMES = ("pitch", "yaw", "roll", "tx", "ty", "tz", "s")


class AFLWFormatError(FormatError):
    pass


def model_intrinsics(width: int, height: int) -> NDArray[np.float64]:
    f = FOCAL_FACTOR * max(width, height)
    return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)


def _array(mat: dict[str, Any], key: str, size: int, name: str) -> NDArray[np.float64]:
    if key not in mat:
        raise AFLWFormatError(f"{name}: no {key} in the .mat file")
    a = np.asarray(mat[key])
    if a.dtype == object or not np.issubdtype(a.dtype, np.number) or a.size != size:
        raise AFLWFormatError(f"{name}: {key} should hold {size} numbers, found shape {a.shape} ({a.dtype})")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise AFLWFormatError(f"{name}: {key} contains non-finite values")
    return a


def load_mat(data: bytes, name: str = "file.mat") -> dict[str, Any]:
    try:
        out: dict[str, Any] = scipy.io.loadmat(io.BytesIO(data))
        return out
    except Exception as exc:  # scipy raises many unrelated types on garbage input
        raise AFLWFormatError(f"{name}: cannot read the .mat file ({type(exc).__name__}: {exc})") from None


def landmarks_camera(pt3d: NDArray[np.float64], s: float, K: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 68) pt3d_68 -> (68, 3) camera-frame mm, per the module docstring."""
    k = s * UM_PER_MM
    f, cx, cy = K[0, 0], K[0, 2], K[1, 2]
    u, v, z = pt3d
    Z = f / k - z / k
    return np.stack([(u - cx) * Z / f, (v - cy) * Z / K[1, 1], Z], -1)


def landmark_box(
    points: NDArray[np.float64], width: int, height: int, margin: float = BOX_MARGIN
) -> tuple[float, float, float, float]:
    """Min/max box of (N, 2) points grown by `margin` of its size per side,
    clamped to the pixel centres [0, w-1] x [0, h-1]."""
    lo, hi = points.min(0), points.max(0)
    pad = (hi - lo) * margin
    lo, hi = lo - pad, hi + pad
    return (
        float(np.clip(lo[0], 0, width - 1)),
        float(np.clip(lo[1], 0, height - 1)),
        float(np.clip(hi[0], 0, width - 1)),
        float(np.clip(hi[1], 0, height - 1)),
    )


def hopenet_crop(pt2d: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """The HopeNet/6DRepNet AFLW2000 crop from the (21, 2) pt2d points, invisible
    (-1, 452) points included, as DATA.md describes. Not clamped."""
    x0, y0 = pt2d.min(0)
    x1, y1 = pt2d.max(0)
    w, h = x1 - x0, y1 - y0
    x0 -= 0.4 * w
    y0 -= 0.4 * h
    x1 += 0.4 * (x1 - x0)
    y1 += 0.12 * h
    return (float(x0), float(y0), float(x1), float(y1))


def _check_pose_para(pp: NDArray[np.float64], name: str) -> None:
    """Angles within one turn, tx, ty, tz within MAX_PIXEL_COORDINATE px, 0 < s <= MAX_SCALE."""
    if pp[6] <= 0:
        raise AFLWFormatError(f"{name}: Pose_Para scale s = {pp[6]:g} must be positive")
    bounds = [MAX_ANGLE_RAD] * 3 + [MAX_PIXEL_COORDINATE] * 3 + [MAX_SCALE]
    try:
        for what, v, bound in zip(POSE_PARA_NAMES, pp.tolist(), bounds):
            bounded_numbers.real(v, f"{name}: Pose_Para {what}", low=-bound, high=bound)
    except bounded_numbers.NumberError as exc:
        raise AFLWFormatError(str(exc)) from None


def _check_pixels(a: NDArray[np.float64], key: str, name: str) -> None:
    if np.abs(a).max() > MAX_PIXEL_COORDINATE:
        raise AFLWFormatError(f"{name}: {key} holds values beyond ±{MAX_PIXEL_COORDINATE:g} px")


def parse_labels(mat: dict[str, Any], width: int, height: int, name: str = "file.mat") -> FaceLabel:
    pp = _array(mat, "Pose_Para", 7, name).reshape(7)
    pt3d = _array(mat, "pt3d_68", 3 * 68, name).reshape(3, 68) if "pt3d_68" in mat else None
    if pt3d is None:
        raise AFLWFormatError(f"{name}: no pt3d_68 in the .mat file")
    _check_pose_para(pp, name)
    _check_pixels(pt3d, "pt3d_68", name)
    pitch, yaw, roll, s = pp[0], pp[1], pp[2], pp[6]
    K = model_intrinsics(width, height)
    R = geometry.euler_to_matrix([yaw, pitch, roll], degrees=False)
    lm3d = landmarks_camera(pt3d, s, K)
    if np.any(lm3d[:, 2] <= 0):
        raise AFLWFormatError(
            f"{name}: landmarks fall behind the camera (depth {pt3d[2].max():g} px too large for s = {s:g})"
        )
    lm2d = pt3d[:2].T.copy()
    extra = {
        "pose_para": pp,
        "euler_deg": np.rad2deg([yaw, pitch, roll]),
        "pt3d_68": pt3d,
        "dataset_format": "aflw2000",
    }
    if "pt2d" in mat:
        pt2d = _array(mat, "pt2d", 2 * 21, name).reshape(2, 21).T.copy()
        _check_pixels(pt2d, "pt2d", name)
        extra["pt2d"] = pt2d
    return FaceLabel(
        box=landmark_box(lm2d, width, height), R=R, t=lm3d.mean(0), landmarks_2d=lm2d, landmarks_3d=lm3d, extra=extra
    )


def read_pair(image_name: str, image_bytes: bytes, mat_bytes: bytes, mat_name: str) -> Sample:
    w, h = image_size(image_bytes, image_name)
    face = parse_labels(load_mat(mat_bytes, mat_name), w, h, mat_name)
    return Sample(name=image_name, image_bytes=image_bytes, width=w, height=h, K=model_intrinsics(w, h), faces=[face])


def _stem(name: str) -> str:
    p = PurePosixPath(name)
    return str(p.with_suffix(""))


def iter_samples(source: SourceLike, limits: Limits | None = None) -> Iterator[Record]:
    """Yields a `Sample` per image + .mat pair (same folder, same stem), a
    `SampleError` per unpaired, unreadable or unsupported file."""
    with opened(source, limits) as src:
        yield from src.rejected
        images, mats = {}, {}
        for name in src.names():
            ext = suffix(name)
            if ext in IMAGE_SUFFIXES:
                images[_stem(name)] = name
            elif ext == ".mat":
                mats[_stem(name)] = name
            else:
                yield SampleError(
                    name,
                    f"{name}: unsupported file type '{ext or 'none'}' in an AFLW2000 dataset (expected image + .mat pairs)",
                )
        for pair in paired(
            images,
            mats,
            lambda stem, img: f"{img}: no matching .mat file ({stem}.mat)",
            lambda stem, mat: f"{mat}: no matching image ({stem}.jpg)",
        ):
            if isinstance(pair, SampleError):
                yield pair
                continue
            _, img, mat = pair
            try:
                yield read_pair(img, src.read(img), src.read(mat), mat)
            except FormatError as exc:
                yield SampleError(img, str(exc))


def count(source: SourceLike, limits: Limits | None = None) -> int:
    """Number of records `iter_samples` yields, without reading any file body."""
    with opened(source, limits) as src:
        stems, other = set(), 0
        for name in src.names():
            if suffix(name) in IMAGE_SUFFIXES or suffix(name) == ".mat":
                stems.add(_stem(name))  # one record per pair, paired or not
            else:
                other += 1
        return len(src.rejected) + other + len(stems)


def write_mat(
    dest: str | os.PathLike[str] | BinaryIO,
    R: ArrayLike,
    t: ArrayLike,
    landmarks_3d: ArrayLike,
    K: ArrayLike,
    pt2d: ArrayLike | None = None,
    scale: float | None = None,
) -> NDArray[np.float64]:
    """Write an AFLW2000-style .mat (see the module docstring); returns Pose_Para (7,).

    R (3, 3) rotation, t (3,) mm, landmarks_3d (68, 3) camera-frame mm, K (3, 3);
    pt2d (21, 2) optional (stored as (2, 21)); scale: the Pose_Para s to use
    instead of fx / (1000 t_z)."""
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(3)
    L = np.asarray(landmarks_3d, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if not geometry.is_rotation(R):
        raise AFLWFormatError("write_mat: R is not a rotation matrix")
    if L.shape != (68, 3) or not np.all(np.isfinite(L)) or not np.all(np.isfinite(t)):
        raise AFLWFormatError(f"write_mat: landmarks_3d must be finite (68, 3), got {L.shape}")
    if np.any(L[:, 2] <= 0) or t[2] <= 0:
        raise AFLWFormatError("write_mat: landmarks and t must lie in front of the camera (Z > 0)")
    fx = K[0, 0]
    k = fx / t[2] if scale is None else float(scale) * UM_PER_MM
    if not np.isfinite(k) or k <= 0:
        raise AFLWFormatError(f"write_mat: scale must be positive, got {k / UM_PER_MM:g}")
    Z0 = fx / k
    uv = geometry.project_points(L, K)
    pt3d = np.stack([uv[:, 0], uv[:, 1], k * (Z0 - L[:, 2])])
    ut, vt = geometry.project_points(t[None], K)[0]
    yaw, pitch, roll = geometry.matrix_to_euler(R, degrees=False)
    pose_para = np.array([pitch, yaw, roll, ut, 2 * K[1, 2] - vt, k * (Z0 - t[2]), k / UM_PER_MM])
    out = {"Pose_Para": pose_para[None], "pt3d_68": pt3d}
    if pt2d is not None:
        p = np.asarray(pt2d, dtype=np.float64)
        if p.shape != (21, 2):
            raise AFLWFormatError(f"write_mat: pt2d must be (21, 2), got {p.shape}")
        out["pt2d"] = p.T.copy()
    scipy.io.savemat(dest, out)
    return pose_para
