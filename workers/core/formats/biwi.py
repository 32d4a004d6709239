"""BIWI Kinect Head Pose: the original layout, the FSA-Net .npz files, the
protocol-1 frame list; plus writers for pose.txt and rgb.cal.

(a) Original layout: ``[hpdb/]NN/frame_XXXXX_rgb.png`` + ``frame_XXXXX_pose.txt``
and one ``NN/rgb.cal`` per sequence. Depth frames, depth.cal and the .obj head
models are known companions and skipped silently.

pose.txt: lines 1-3 a rotation M, line 5 the head centre c (mm, depth camera).
The reference readers (HopeNet, FSA-Net, img2pose) compute, with R = M^T,
    roll = -atan2(R10, R00), yaw = -atan2(-R20, hypot(R21, R22)), pitch = atan2(R21, R22)
i.e. R = Rz(-roll) Ry(-yaw) Rx(pitch), so
    M = R^T = Rx(-pitch) Ry(yaw) Rz(roll) = geometry.euler_to_matrix([yaw, pitch, roll]).
Those angles are the published BIWI labels and are in the project's (AFLW)
convention, so M itself is the head pose in the depth camera frame in our
convention: X_depth = M X_head + c. We rebuild it as euler_to_matrix(reference
angles), which equals M up to the file's rounding and is exactly orthonormal.
The head origin is BIWI's head centre, not the project's 68-landmark centroid
(BIWI has no landmarks); ``extra['head_origin'] = 'biwi_head_centre'`` says so.

rgb.cal: non-empty lines are K (3 rows), distortion (1 row), R_e (3 rows),
t_e (1 row) and optionally the image size. The BIWI readme calls (R_e, t_e) the
pose of the RGB camera relative to the depth camera; read like our own poses
(X_ref = R X_obj + t) that is X_depth = R_e X_rgb + t_e, hence
    R_rgb = R_e^T M,  t_rgb = R_e^T (c - t_e).
``extrinsics='depth_to_rgb'`` selects the other reading (X_rgb = R_e X_depth + t_e)
should a dataset copy need it; the two differ by about 2 x 25 mm of baseline and
the small R_e angle. The reference angles (what benchmarks compare with) are in
``extra['reference_euler']`` and stay the depth-frame ones.

Box: the image box of a sphere of `HEAD_RADIUS_MM` around the head centre,
computed exactly from the tangent planes, clamped to the image.

(b) FSA-Net npz (BIWI_train.npz, BIWI_test.npz, BIWI_noTrack.npz):
``image`` (N, H, W, 3) uint8 BGR, ``pose`` (N, 3) [yaw, pitch, roll] deg. Always
loaded with allow_pickle=False, after checking each member's .npy header, so an
object (pickled) array is a clear error and nothing is unpickled. Rows become
samples named ``BIWI_test.npz#000123`` with K = default_intrinsics(W, H), R from
the angles and t = None (unknown).

(c) `read_protocol1_list`: '<path ending NN/frame_XXXXX_rgb.png> pitch yaw roll'.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import bounded_numbers, geometry
from .archive import Limits, SourceLike, opened, paired, suffix
from .images import encode_png, image_size
from .records import (
    MAX_FRAME_INDEX,
    MAX_IMAGE_SIDE,
    MAX_PIXEL_COORDINATE,
    FaceLabel,
    FormatError,
    FrameOf,
    Record,
    Sample,
    SampleError,
)

HEAD_RADIUS_MM = 100.0
MAX_EXTRINSIC_MM = 10_000.0  # rgb.cal's t: the RGB camera sits centimetres from the depth camera
MAX_ANGLE_DEG = 360.0  # an .npz pose angle beyond one turn is no head pose
# The Kinect (v1) RGB stream BIWI was recorded from runs at 30 frames per second;
# the file numbers count those frames (a few are missing in some sequences).
BIWI_FPS = 30.0
_FRAME_RE = re.compile(r"(?:^|/)(\d+)/frame_(\d+)_rgb\.(png|jpg|jpeg)$", re.IGNORECASE)
_POSE_RE = re.compile(r"(?:^|/)(\d+)/frame_(\d+)_pose\.txt$", re.IGNORECASE)
_COMPANIONS = re.compile(r"(_depth\.bin|depth\.cal|\.obj|_depth\.png|_depthmask\.png)$", re.IGNORECASE)
EXTRINSICS = ("rgb_in_depth", "depth_to_rgb")


class BiwiFormatError(FormatError):
    pass


# ---------- text files ----------


def _rows(text: str, name: str) -> list[list[float]]:
    """Finite decimal numbers, a list per non-blank line."""
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append([bounded_numbers.parse_real(x, f"{name}: line {i}") for x in line.split()])
        except bounded_numbers.NumberError as exc:
            raise BiwiFormatError(str(exc)) from None
    return rows


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BiwiFormatError(f"{name}: not a text file") from None


def reference_euler(M: NDArray[np.float64]) -> NDArray[np.float64]:
    """[yaw, pitch, roll] degrees from a pose.txt matrix, as the reference readers compute them."""
    R = np.asarray(M, dtype=np.float64).T
    roll = -np.arctan2(R[1, 0], R[0, 0])
    yaw = -np.arctan2(-R[2, 0], np.sqrt(R[2, 1] ** 2 + R[2, 2] ** 2))
    pitch = np.arctan2(R[2, 1], R[2, 2])
    return np.rad2deg([yaw, pitch, roll])


def parse_pose_txt(data: bytes, name: str = "pose.txt") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """-> (M (3, 3), head centre (3,) mm, depth camera frame)."""
    rows = _rows(_decode(data, name), name)
    if len(rows) != 4 or any(len(r) != 3 for r in rows):
        raise BiwiFormatError(
            f"{name}: expected 3 rows of a 3x3 matrix and a centre row of 3 numbers, "
            f"found rows of {[len(r) for r in rows]}"
        )
    a = np.array(rows)
    if not np.all(np.isfinite(a)):
        raise BiwiFormatError(f"{name}: contains non-finite values")
    M, c = a[:3], a[3]
    if not geometry.is_rotation(M):
        raise BiwiFormatError(
            f"{name}: matrix is not a rotation (orthonormality error "
            f"{np.abs(M @ M.T - np.eye(3)).max():.3g}, det {np.linalg.det(M):.4g})"
        )
    return M, c


def parse_rgb_cal(data: bytes, name: str = "rgb.cal") -> dict[str, Any]:
    """-> {'K', 'dist', 'R', 't', 'size' (w, h) or None}. Bounded: focal lengths
    in (0, MAX_PIXEL_COORDINATE] px, the principal point within
    ±MAX_PIXEL_COORDINATE px, |t| <= MAX_EXTRINSIC_MM, the image size whole
    pixels in 1..MAX_IMAGE_SIDE."""
    rows = _rows(_decode(data, name), name)
    shapes = [len(r) for r in rows]
    if len(rows) < 8 or shapes[:3] != [3, 3, 3] or shapes[4:8] != [3, 3, 3, 3]:
        raise BiwiFormatError(
            f"{name}: expected K (3 rows of 3), distortion, R (3 rows of 3) and t (3); found rows of {shapes}"
        )
    K, R, t = np.array(rows[:3]), np.array(rows[4:7]), np.array(rows[7])
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(t)) and K[0, 0] > 0 and K[1, 1] > 0):
        raise BiwiFormatError(f"{name}: invalid intrinsics or translation")
    try:
        for what, v in (("fx", K[0, 0]), ("fy", K[1, 1])):
            bounded_numbers.real(v, f"{name}: focal length {what} (px)", low=1e-6, high=MAX_PIXEL_COORDINATE)
        for what, v in (("cx", K[0, 2]), ("cy", K[1, 2])):
            bounded_numbers.real(
                v, f"{name}: principal point {what} (px)", low=-MAX_PIXEL_COORDINATE, high=MAX_PIXEL_COORDINATE
            )
        for axis, v in zip("xyz", t):
            bounded_numbers.real(v, f"{name}: t {axis} (mm)", low=-MAX_EXTRINSIC_MM, high=MAX_EXTRINSIC_MM)
        size = None
        if len(rows) > 8 and len(rows[8]) == 2:
            size = tuple(_pixels(v, f"{name}: image {what}") for v, what in zip(rows[8], ("width", "height")))
    except bounded_numbers.NumberError as exc:
        raise BiwiFormatError(str(exc)) from None
    if not geometry.is_rotation(R):
        raise BiwiFormatError(f"{name}: extrinsic matrix is not a rotation")
    return {"K": K, "dist": np.array(rows[3]), "R": R, "t": t, "size": size}


def _pixels(v: float, what: str) -> int:
    """A whole number of pixels, 1..MAX_IMAGE_SIDE (read as a float: 640.0 is 640)."""
    if not float(v).is_integer():
        raise bounded_numbers.NumberError(f"{what} = {v:g} is not a whole number of pixels")
    return bounded_numbers.integer(int(v), what, low=1, high=MAX_IMAGE_SIDE)


def _fmt(values: Iterable[float]) -> str:
    return " ".join(repr(float(v)) for v in values) + " \n"


def write_pose_txt(dest: str | os.PathLike[str] | BinaryIO, M: ArrayLike, centre: ArrayLike) -> None:
    """BIWI pose.txt from the depth-frame rotation M (= euler_to_matrix of the
    reference angles) and the head centre in mm; full float precision, so
    `parse_pose_txt` reads back the same numbers."""
    M = np.asarray(M, dtype=np.float64)
    c = np.asarray(centre, dtype=np.float64).reshape(3)
    if not geometry.is_rotation(M):
        raise BiwiFormatError("write_pose_txt: M is not a rotation")
    text = "".join(_fmt(r) for r in M) + "\n" + _fmt(c) + "\n"
    _write(dest, text)


def write_rgb_cal(
    dest: str | os.PathLike[str] | BinaryIO,
    K: ArrayLike,
    R: ArrayLike,
    t: Iterable[float],
    size: tuple[int, int] = (640, 480),
    dist: Iterable[float] = (0, 0, 0, 0),
) -> None:
    text = (
        "".join(_fmt(r) for r in np.asarray(K, float))
        + "\n"
        + _fmt(dist)
        + "\n"
        + "".join(_fmt(r) for r in np.asarray(R, float))
        + "\n"
        + _fmt(t)
        + "\n"
        + f"{int(size[0])} {int(size[1])}\n"
    )
    _write(dest, text)


def _write(dest: str | os.PathLike[str] | BinaryIO, text: str) -> None:
    if hasattr(dest, "write"):
        dest.write(text.encode())
    else:
        Path(dest).write_text(text)


# ---------- frames ----------


def depth_to_rgb_pose(
    R_depth: ArrayLike, t_depth: ArrayLike, cal: dict[str, Any], extrinsics: str = "rgb_in_depth"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    Re, te = cal["R"], cal["t"]
    if extrinsics == "rgb_in_depth":
        return Re.T @ R_depth, Re.T @ (np.asarray(t_depth) - te)
    if extrinsics == "depth_to_rgb":
        return Re @ R_depth, Re @ np.asarray(t_depth) + te
    raise ValueError(f"extrinsics must be one of {EXTRINSICS}")


def rgb_to_depth_pose(
    R_rgb: ArrayLike, t_rgb: ArrayLike, cal: dict[str, Any], extrinsics: str = "rgb_in_depth"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse of `depth_to_rgb_pose` (for export back to pose.txt)."""
    Re, te = cal["R"], cal["t"]
    if extrinsics == "rgb_in_depth":
        return Re @ R_rgb, Re @ np.asarray(t_rgb) + te
    if extrinsics == "depth_to_rgb":
        return Re.T @ R_rgb, Re.T @ (np.asarray(t_rgb) - te)
    raise ValueError(f"extrinsics must be one of {EXTRINSICS}")


def sphere_box(centre: ArrayLike, radius: float, K: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """Exact image bounding box (x0, y0, x1, y1) of a sphere (camera frame, mm)."""
    C = np.asarray(centre, dtype=np.float64)
    if C[2] <= radius:
        raise BiwiFormatError(f"head centre at depth {C[2]:.0f} mm is too close to or behind the camera")
    out = []
    d = C[2] ** 2 - radius**2
    for axis in (0, 1):
        c = C[axis]
        root = radius * np.sqrt(c**2 + d)
        # planes x = a z through the camera centre tangent to the sphere
        lo, hi = (c * C[2] - root) / d, (c * C[2] + root) / d
        out.append((K[axis, axis] * lo + K[axis, 2], K[axis, axis] * hi + K[axis, 2]))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def _clamp_box(box: tuple[float, float, float, float], w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (
        float(np.clip(x0, 0, w - 1)),
        float(np.clip(y0, 0, h - 1)),
        float(np.clip(x1, 0, w - 1)),
        float(np.clip(y1, 0, h - 1)),
    )


def frame_label(
    M: NDArray[np.float64],
    centre: ArrayLike,
    cal: dict[str, Any],
    width: int,
    height: int,
    extrinsics: str = "rgb_in_depth",
    sequence: str | None = None,
) -> FaceLabel:
    euler = reference_euler(M)
    R_depth = geometry.euler_to_matrix(euler)
    R, t = depth_to_rgb_pose(R_depth, centre, cal, extrinsics)
    box = _clamp_box(sphere_box(t, HEAD_RADIUS_MM, cal["K"]), width, height)
    return FaceLabel(
        box=box,
        R=R,
        t=t,
        extra={
            "dataset_format": "biwi",
            "sequence": sequence,
            "reference_euler": euler,
            "R_depth": R_depth,
            "t_depth": np.asarray(centre, dtype=np.float64),
            "extrinsics": extrinsics,
            "head_origin": "biwi_head_centre",
        },
    )


def frame_key(name: str) -> str | None:
    """'.../12/frame_00003_rgb.png' -> '12/frame_00003_rgb.png' (None if not a BIWI frame)."""
    m = _FRAME_RE.search(name)
    return None if m is None else f"{m.group(1)}/frame_{m.group(2)}_rgb.{m.group(3)}"


def biwi_frame(name: str, folder: str) -> FrameOf:
    """A BIWI frame's place in its sequence: the `NN` folder, numbered as its
    file (0..MAX_FRAME_INDEX, the database's integer: a larger one is a BiwiFormatError)."""
    match = _FRAME_RE.search(name)
    assert match is not None, name  # callers pass the names the frame pattern selected
    try:
        number = bounded_numbers.parse_integer(match.group(2), "frame number", low=0, high=MAX_FRAME_INDEX)
    except bounded_numbers.NumberError as exc:
        raise BiwiFormatError(f"{name}: {exc}") from None
    return FrameOf(
        sequence=sequence_of(name), frame_index=number, timestamp_s=number / BIWI_FPS, fps=BIWI_FPS, input_name=folder
    )


def sequence_of(name: str) -> str:
    m = _FRAME_RE.search(name)
    if m is None:
        raise BiwiFormatError(f"{name}: not a BIWI frame name (NN/frame_XXXXX_rgb.png)")
    return m.group(1)


_Layout = tuple[dict[tuple[str, str], str], dict[tuple[str, str], str], dict[str, str], list[str], list[str]]


def _layout(names: list[str]) -> _Layout:
    """Frames and poses by (folder, number), rgb.cal by folder, .npz files, other files."""
    frames: dict[tuple[str, str], str] = {}
    poses: dict[tuple[str, str], str] = {}
    cals: dict[str, str] = {}
    npzs: list[str] = []
    other: list[str] = []
    for n in names:
        p = PurePosixPath(n)
        if m := _FRAME_RE.search(n):
            frames[(str(p.parent), m.group(2))] = n
        elif m := _POSE_RE.search(n):
            poses[(str(p.parent), m.group(2))] = n
        elif p.name.lower() == "rgb.cal":
            cals[str(p.parent)] = n
        elif suffix(n) == ".npz":
            npzs.append(n)
        elif not _COMPANIONS.search(n):
            other.append(n)
    return frames, poses, cals, npzs, other


def iter_samples(
    source: SourceLike, limits: Limits | None = None, extrinsics: str = "rgb_in_depth"
) -> Iterator[Record]:
    """Original-layout frames and every .npz in `source` (a folder, a zip, or a
    single .npz file path)."""
    if extrinsics not in EXTRINSICS:
        raise ValueError(f"extrinsics must be one of {EXTRINSICS}")
    if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".npz") and Path(source).is_file():
        yield from iter_npz(source, name=Path(source).name, limits=limits)
        return
    with opened(source, limits) as src:
        yield from src.rejected
        frames, poses, cals, npzs, other = _layout(src.names())
        for n in other:
            yield SampleError(n, f"{n}: unsupported file type '{suffix(n) or 'none'}' in a BIWI dataset")
        cal_cache: dict[str, dict[str, Any] | Exception] = {}
        for pair in paired(
            frames,
            poses,
            lambda key, img: f"{img}: no matching pose file (frame_{key[1]}_pose.txt)",
            lambda key, pose: f"{pose}: no matching image (frame_{key[1]}_rgb.png)",
        ):
            if isinstance(pair, SampleError):
                yield pair
                continue
            key, img, pose = pair
            seq_dir = key[0]
            try:
                if seq_dir not in cal_cache:
                    if seq_dir not in cals:
                        cal_cache[seq_dir] = BiwiFormatError(
                            f"{seq_dir}/rgb.cal is missing; the frames of this sequence cannot be placed in the RGB camera"
                        )
                    else:
                        try:
                            cal_cache[seq_dir] = parse_rgb_cal(src.read(cals[seq_dir]), cals[seq_dir])
                        except FormatError as exc:
                            cal_cache[seq_dir] = exc
                cal = cal_cache[seq_dir]
                if isinstance(cal, Exception):
                    raise cal
                data = src.read(img)
                w, h = image_size(data, img)
                M, c = parse_pose_txt(src.read(pose), pose)
                face = frame_label(M, c, cal, w, h, extrinsics, sequence=sequence_of(img))
                yield Sample(
                    name=img,
                    image_bytes=data,
                    width=w,
                    height=h,
                    K=cal["K"].copy(),
                    faces=[face],
                    frame=biwi_frame(img, seq_dir),
                )
            except FormatError as exc:
                yield SampleError(img, str(exc) if img in str(exc) or pose in str(exc) else f"{img}: {exc}")
        for n in npzs:
            try:
                data = src.read(n)
            except FormatError as exc:
                yield SampleError(n, str(exc))
                continue
            yield from iter_npz(io.BytesIO(data), name=n, limits=limits)


def count(source: SourceLike, limits: Limits | None = None) -> int:
    if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".npz") and Path(source).is_file():
        return npz_count(source)
    with opened(source, limits) as src:
        frames, poses, _cals, npzs, other = _layout(src.names())
        n = len(src.rejected) + len(other) + len(set(frames) | set(poses))
        for name in npzs:
            try:
                path = getattr(src, "root", None)
                n += npz_count(path / name if path is not None else io.BytesIO(src.read(name)))
            except FormatError:
                n += 1
        return n


# ---------- npz ----------

NpzFile = str | os.PathLike[str] | IO[bytes]
"""An .npz file: a path or an open binary file."""


def _read_npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    fmt = np.lib.format
    version = fmt.read_magic(f)  # type: ignore[no-untyped-call]  # numpy.lib.format is unannotated
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(f)  # type: ignore[no-untyped-call]  # unannotated
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(f)  # type: ignore[no-untyped-call]  # unannotated
    else:  # (3, 0): utf-8 field names; no public reader for it
        shape, _, dtype = fmt._read_array_header(f, version)  # type: ignore[attr-defined]  # no public reader
    return shape, dtype


def _npz_headers(file: NpzFile, name: str, limits: Limits) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """member name -> (shape, dtype) from the .npy headers, without loading data."""
    try:
        zf = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BiwiFormatError(f"{name}: not a readable .npz file ({exc})") from None
    heads: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    total = 0
    with zf:
        for info in zf.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                with zf.open(info) as f:
                    shape, dtype = _read_npy_header(f)
            except Exception as exc:
                raise BiwiFormatError(f"{name}: member {info.filename} is not a .npy array ({exc})") from None
            if dtype.hasobject:
                raise BiwiFormatError(
                    f"{name}: array '{key}' holds Python objects (pickled data); refused. "
                    "Save plain numeric arrays (np.savez without object dtype)."
                )
            total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            heads[key] = (shape, dtype)
    if total > limits.max_total_bytes:
        raise BiwiFormatError(f"{name}: arrays total {total:,} bytes, over the limit of {limits.max_total_bytes:,}")
    return heads


def _npz_shapes(file: NpzFile, name: str, limits: Limits) -> tuple[tuple[int, ...], tuple[int, ...]]:
    heads = _npz_headers(file, name, limits)
    for key in ("image", "pose"):
        if key not in heads:
            raise BiwiFormatError(
                f"{name}: no '{key}' array (expected image (N,H,W,3) uint8 BGR and pose (N,3) [yaw, pitch, roll] deg)"
            )
    (ishape, idtype), (pshape, pdtype) = heads["image"], heads["pose"]
    if len(ishape) != 4 or ishape[3] != 3 or idtype != np.uint8:
        raise BiwiFormatError(f"{name}: 'image' must be (N, H, W, 3) uint8, found {ishape} {idtype}")
    if pshape != (ishape[0], 3) or not np.issubdtype(pdtype, np.number):
        raise BiwiFormatError(f"{name}: 'pose' must be ({ishape[0]}, 3) numbers, found {pshape} {pdtype}")
    return ishape, pshape


def npz_count(file: NpzFile) -> int:
    try:
        out: int = _npz_shapes(file, "npz", Limits())[0][0]
        return out
    except FormatError:
        return 1


def iter_npz(file: NpzFile, name: str = "BIWI.npz", limits: Limits | None = None) -> Iterator[Record]:
    limits = limits or Limits()
    try:
        (n, h, w, _), _ = _npz_shapes(file, name, limits)
        if hasattr(file, "seek"):
            file.seek(0)
        with np.load(file, allow_pickle=False) as z:
            images, poses = z["image"], np.asarray(z["pose"], dtype=np.float64)
    except FormatError as exc:
        yield SampleError(name, str(exc))
        return
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        yield SampleError(name, f"{name}: cannot load the arrays ({exc})")
        return
    K = geometry.default_intrinsics(w, h)
    base = PurePosixPath(name).name
    for i in range(n):
        row = f"{base}#{i:06d}"
        euler = poses[i]
        if not np.all(np.isfinite(euler)):
            yield SampleError(row, f"{row}: pose contains non-finite values")
            continue
        if np.any(np.abs(euler) > MAX_ANGLE_DEG):
            yield SampleError(row, f"{row}: pose angles {euler.tolist()} go beyond ±{MAX_ANGLE_DEG:g} degrees")
            continue
        png = encode_png(images[i][..., ::-1])  # stored BGR
        face = FaceLabel(
            box=(0.0, 0.0, float(w - 1), float(h - 1)),
            R=geometry.euler_to_matrix(euler),
            t=None,
            extra={"dataset_format": "biwi_npz", "reference_euler": euler.copy(), "row": i},
        )
        yield Sample(name=row, image_bytes=png, width=w, height=h, K=K.copy(), faces=[face])


# ---------- protocol-1 list ----------


def read_protocol1_list(path: str | os.PathLike[str]) -> tuple[list[str], NDArray[np.float64]]:
    """-> (names 'NN/frame_XXXXX_rgb.png', (N, 3) [yaw, pitch, roll] degrees).
    The file's columns are pitch, yaw, roll."""
    names, rows = [], []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split()
            key = frame_key(parts[0]) if parts else None
            if len(parts) != 4 or key is None:
                raise BiwiFormatError(f"{path}: line {i}: expected '<.../NN/frame_XXXXX_rgb.png> pitch yaw roll'")
            try:
                pitch, yaw, roll = (float(v) for v in parts[1:])
            except ValueError:
                raise BiwiFormatError(f"{path}: line {i}: angles are not numbers") from None
            if not np.all(np.isfinite([pitch, yaw, roll])):
                raise BiwiFormatError(f"{path}: line {i}: non-finite angle")
            names.append(key)
            rows.append((yaw, pitch, roll))
    if len(set(names)) != len(names):
        raise BiwiFormatError(f"{path}: a frame is listed twice")
    return names, np.array(rows, dtype=np.float64).reshape(-1, 3)
