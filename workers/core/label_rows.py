"""Flat label rows for exports: one face, one pose, every representation.

A `LabelRow` is what the database hands the exporters (workers/core/exports):
the pose plus what an export format may want about the face (image size, K,
box, landmarks, where the label came from). `pose_batches` checks the rows and
computes Euler angles and quaternions for a chunk of rows at a time, so every
writer stays vectorised and names the face when a row is bad.

Column names are shared by every tabular export (CSV here, the API later)."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TextIO

import numpy as np

from workers.core import geometry
from workers.core.formats.records import FormatError

CSV_COLUMNS = (
    ["image", "face_index", "yaw", "pitch", "roll"]
    + [f"r{i}{j}" for i in range(3) for j in range(3)]
    + ["tx", "ty", "tz", "source", "source_detail", "image_id", "face_id"]
)
CHUNK = 2048
ROTATION_TOL = 1e-3  # geometry.is_rotation's default: what the importers and editor accept


class ExportError(FormatError):
    """A label row cannot be exported; the message names the face."""


@dataclass
class LabelRow:
    image: str
    face_index: int
    R: np.ndarray  # (3, 3) head -> camera, or 9 numbers row-major
    t: np.ndarray | None  # (3,) mm; None when unknown
    source: str  # dataset / proposer / annotator
    source_detail: str = ""  # proposer name@version, annotator username ...
    image_id: int | None = None
    face_id: int | None = None
    width: int = 0  # pixels; 0 when unknown
    height: int = 0
    K: np.ndarray | None = None  # (3, 3) intrinsics, pixels
    box: tuple | None = None  # (x0, y0, x1, y1) pixels
    landmarks_2d: np.ndarray | None = None  # (N, 2) pixels
    landmarks_3d: np.ndarray | None = None  # (N, 3) camera frame, mm
    landmark_scheme: str = ""  # "ibug68" / "mediapipe468"
    # True only when the landmarks were stored together with exactly this pose
    # (dataset ground truth); a proposal's or an edited pose has its own R, t.
    landmarks_match_pose: bool = False
    provenance: dict = field(default_factory=dict)  # JSON-able: author, status, proposer, weights ...


def face_name(row: LabelRow) -> str:
    return f"{row.image} face {row.face_index}"


@dataclass
class PoseBatch:
    """A chunk of checked rows with their poses as arrays."""
    rows: list
    R: np.ndarray  # (n, 3, 3)
    t: np.ndarray  # (n, 3); NaN where the row has no t
    has_t: np.ndarray  # (n,) bool
    euler: np.ndarray  # (n, 3) [yaw, pitch, roll] degrees
    quaternion: np.ndarray  # (n, 4) (w, x, y, z), w >= 0


def pose_batches(rows: Iterable[LabelRow], chunk: int = CHUNK,
                 on_progress: Callable[[int], None] | None = None) -> Iterator[PoseBatch]:
    """Chunks of `rows` as PoseBatch; raises ExportError naming the first bad
    face. `on_progress(n_done)` is called once a chunk has been handled."""
    n_done, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            yield _pose_batch(batch)
            n_done += len(batch)
            batch = []
            if on_progress is not None:
                on_progress(n_done)
    if batch:
        yield _pose_batch(batch)
        n_done += len(batch)
        if on_progress is not None:
            on_progress(n_done)


def _pose_batch(batch: list) -> PoseBatch:
    n = len(batch)
    R = np.empty((n, 9))
    t = np.full((n, 3), np.nan)
    has_t = np.zeros(n, dtype=bool)
    for i, row in enumerate(batch):
        R[i] = _numbers(row.R, 9, row, "R", "a 3x3 matrix or 9 numbers")
        if row.t is not None:
            t[i] = _numbers(row.t, 3, row, "t", "3 numbers (mm) or None")
            has_t[i] = True
    bad_t = has_t & ~np.isfinite(t).all(1)
    if bad_t.any():
        raise ExportError(f"{face_name(batch[int(np.argmax(bad_t))])}: t contains non-finite values")
    R = R.reshape(n, 3, 3)
    orth = np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(R)
    bad = ~(orth < ROTATION_TOL) | ~(np.abs(det - 1) < ROTATION_TOL)  # NaN counts as bad
    if bad.any():
        i = int(np.argmax(bad))
        raise ExportError(f"{face_name(batch[i])}: R is not a rotation matrix (orthonormality error "
                          f"{orth[i]:.3g}, determinant {det[i]:.4g}); nothing valid can be written for it")
    return PoseBatch(rows=batch, R=R, t=t, has_t=has_t, euler=geometry.matrix_to_euler(R),
                     quaternion=geometry.matrix_to_quaternion(R))


def _numbers(value, size: int, row: LabelRow, what: str, expected: str) -> np.ndarray:
    """`value` as `size` floats, flattened; finiteness is checked per chunk."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExportError(f"{face_name(row)}: {what} must be {expected}, got {type(value).__name__}") from None
    if a.size != size:
        raise ExportError(f"{face_name(row)}: {what} must be {expected}, got shape {a.shape}")
    return a.ravel()


def write_csv(rows: Iterable[LabelRow], out: TextIO, chunk: int = CHUNK,
              on_progress: Callable[[int], None] | None = None) -> int:
    """Writes the header and one line per row; Euler angles are computed per
    chunk so large exports stay vectorised. Returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for b in pose_batches(rows, chunk, on_progress):
        _write_batch(writer, b)
        n += len(b.rows)
    return n


def _write_batch(writer, b: PoseBatch) -> None:
    # tolist() gives Python floats whose str() is the shortest round-tripping repr
    R9 = b.R.reshape(-1, 9).tolist()
    t3 = b.t.tolist()
    euler = b.euler.tolist()
    writer.writerows(
        [row.image, row.face_index, f"{e[0]:.6f}", f"{e[1]:.6f}", f"{e[2]:.6f}", *r,
         *(t if has_t else ("", "", "")), row.source, row.source_detail,
         "" if row.image_id is None else row.image_id, "" if row.face_id is None else row.face_id]
        for row, e, r, t, has_t in zip(b.rows, euler, R9, t3, b.has_t.tolist())
    )
