"""Flat label rows for exports: one face, one pose, every representation.

A `LabelRow` is what the database hands the exporters (workers/core/exports):
the pose plus what an export format may want about the face (image size, K,
box, landmarks, where the label came from). `pose_batches` checks the rows and
computes Euler angles and quaternions for a chunk of rows at a time, so every
writer stays vectorised and names the face when a row is bad.

Column names are shared by every tabular export (CSV here, the API later)."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry
from workers.core.formats.records import FormatError
from workers.core.pose_rules import PoseLimits, pose_problems

CSV_COLUMNS = (
    ["image", "face_index", "yaw", "pitch", "roll"]
    + [f"r{i}{j}" for i in range(3) for j in range(3)]
    + ["tx", "ty", "tz", "origin", "origin_detail", "image_id", "face_id"]
    # frames of a sequence only (empty for other images); track_label with labels=track
    + ["sequence", "frame_index", "track_label"]
)
# Who made a label (LabelRow.origin), and the name each origin had before
# issue 12 renamed them: the JSON and COCO exports still write the old names
# as "source" / "source_detail" (deprecated) so that older readers keep working.
ORIGINS = ("ground_truth", "annotator", "proposal", "consensus")
# labels=consensus: what the CSV adds after CSV_COLUMNS (JSON and COCO carry them in provenance)
CONSENSUS_COLUMNS = ["member_count", "dispersion_deg"]
DEPRECATED_SOURCE_NAMES = {"ground_truth": "dataset", "annotator": "annotator", "proposal": "proposer"}
CHUNK = 2048
ROTATION_TOL = 1e-3  # geometry.is_rotation's default: what the importers and editor accept


class ExportError(FormatError):
    """A label row cannot be exported; the message names the face."""


@dataclass
class LabelRow:
    image: str
    face_index: int
    R: NDArray[np.float64]  # (3, 3) head -> camera, or 9 numbers row-major
    t: NDArray[np.float64] | None  # (3,) mm; None when unknown
    origin: str  # one of ORIGINS
    origin_detail: str = ""  # the dataset's name, proposer name@version, annotator username
    image_id: int | None = None
    face_id: int | None = None
    width: int = 0  # pixels; 0 when unknown
    height: int = 0
    K: NDArray[np.float64] | None = None  # (3, 3) intrinsics, pixels
    box: tuple[float, float, float, float] | None = None  # (x0, y0, x1, y1) pixels
    landmarks_2d: NDArray[np.float64] | None = None  # (N, 2) pixels
    landmarks_3d: NDArray[np.float64] | None = None  # (N, 3) camera frame, mm
    landmark_scheme: str = ""  # "ibug68" / "mediapipe468"
    # True only when the landmarks were stored together with exactly this pose
    # (dataset ground truth); a proposal's or an edited pose has its own R, t.
    landmarks_match_pose: bool = False
    provenance: dict[str, Any] = field(default_factory=dict)  # JSON-able: author, status, proposer, weights ...
    # Landmarks an annotator pinned on the labeling page: [{index (iBUG-68), x, y (px)}]
    # (workers/core/landmark_pins.py); empty for other rows.
    landmark_pins: list[dict[str, Any]] = field(default_factory=list)
    sequence: str = ""  # the sequence's name, for a frame of a sequence
    frame_index: int | None = None
    track_label: str = ""  # labels=track: keyframe | interpolated | smoothed_proposal
    member_count: int | None = None  # origin "consensus": how many labels made it
    dispersion_deg: float | None = None  # origin "consensus": median member distance to it


def face_name(row: LabelRow) -> str:
    return f"{row.image} face {row.face_index}"


def deprecated_source(origin: str) -> str:
    """The pre-rename name of an origin (written as the deprecated "source" key)."""
    return DEPRECATED_SOURCE_NAMES.get(origin, origin)


@dataclass(frozen=True)
class InvalidRow:
    """A stored label that cannot be written: its pose breaks the pose rules
    (workers/core/pose_rules.py), or the export format cannot hold that face."""

    image: str
    face_index: int
    face_id: int | None
    origin: str
    origin_detail: str
    reason: str

    def __str__(self) -> str:
        return f"{self.image} face {self.face_index}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "face_index": self.face_index,
            "face_id": self.face_id,
            "origin": self.origin,
            "origin_detail": self.origin_detail,
            "reason": self.reason,
            # deprecated names, kept for readers of the old export results
            "source": deprecated_source(self.origin),
            "source_detail": self.origin_detail,
        }


class InvalidRowsError(ExportError):
    """Some rows cannot be written; `invalid` lists every one (the message the first ones)."""

    def __init__(self, invalid: list[InvalidRow], max_listed: int = 20):
        self.invalid = list(invalid)
        more = len(self.invalid) - max_listed
        super().__init__(
            f"{len(self.invalid)} face(s) cannot be written: "
            + "; ".join(map(str, self.invalid[:max_listed]))
            + (f"; ... and {more} more" if more > 0 else "")
            + ". Fix them, or export the others with skip_invalid."
        )


@contextmanager
def writing_face(row: LabelRow, invalid: list[InvalidRow] | None, fmt: str) -> Iterator[None]:
    """Around a writer's handling of one face: an ExportError (or FormatError)
    for this face, raised before anything of it was written, makes it an
    InvalidRow appended to `invalid`, and the writer goes on with the next face
    (write_export then refuses the export listing every such face, or skips
    them on request, as for a pose that breaks the rules). With `invalid` None
    (a writer called on its own) the error propagates."""
    try:
        yield
    except FormatError as exc:
        if invalid is None:
            raise
        reason = str(exc).removeprefix(f"{face_name(row)}: ")  # InvalidRow names the face itself
        invalid.append(
            InvalidRow(
                row.image,
                row.face_index,
                row.face_id,
                row.origin,
                row.origin_detail,
                f"{reason}; not writable as {fmt}",
            )
        )


def valid_rows(
    rows: Iterable[LabelRow],
    invalid: list[InvalidRow],
    limits: PoseLimits = PoseLimits(),
    chunk: int | None = None,
) -> Iterator[LabelRow]:
    """`rows` without those whose pose breaks the rules; each of those is
    appended to `invalid` as an InvalidRow. Checked a chunk (CHUNK) at a time."""
    chunk = chunk or CHUNK
    batch: list[LabelRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            yield from screen(batch, invalid, limits)
            batch = []
    if batch:
        yield from screen(batch, invalid, limits)


def screen(batch: list[LabelRow], invalid: list[InvalidRow], limits: PoseLimits) -> list[LabelRow]:
    R, why_R = _floats(batch, "R", 9, "a 3x3 matrix or 9 numbers")
    t, why_t = _floats(batch, "t", 3, "3 numbers (mm) or None")
    has_t = np.array([row.t is not None for row in batch], dtype=bool) & (why_t == "")
    problems = pose_problems(R.reshape(-1, 3, 3), np.where(has_t[:, None], t, 1.0), has_t, limits)
    good: list[LabelRow] = []
    for row, a, b, c in zip(batch, why_R, why_t, problems):
        reason = a or b or c
        if reason:
            invalid.append(InvalidRow(row.image, row.face_index, row.face_id, row.origin, row.origin_detail, reason))
        else:
            good.append(row)
    return good


def _floats(
    rows: list[LabelRow], attr: str, size: int, expected: str
) -> tuple[NDArray[np.float64], NDArray[np.object_]]:
    """(n, size) floats of `attr` (NaN where unusable) and why each row's value is unusable ('' if usable)."""
    values = [getattr(row, attr) for row in rows]
    why = np.array([""] * len(rows), dtype=object)
    try:  # one conversion for the whole chunk when every value has the same layout
        return np.array(values, dtype=np.float64).reshape(len(rows), size), why
    except (TypeError, ValueError, OverflowError):
        pass
    out = np.full((len(rows), size), np.nan)
    for i, v in enumerate(values):
        if v is None:
            why[i] = f"{attr} is missing" if attr == "R" else ""
            continue
        try:
            out[i] = np.asarray(v, dtype=np.float64).reshape(size)
        except (TypeError, ValueError, OverflowError):
            why[i] = f"{attr} must be {expected}"
    return out, why


@dataclass
class PoseBatch:
    """A chunk of checked rows with their poses as arrays."""

    rows: list[LabelRow]
    R: NDArray[np.float64]  # (n, 3, 3)
    t: NDArray[np.float64]  # (n, 3); NaN where the row has no t
    has_t: NDArray[np.bool_]  # (n,)
    euler: NDArray[np.float64]  # (n, 3) [yaw, pitch, roll] degrees
    quaternion: NDArray[np.float64]  # (n, 4) (w, x, y, z), w >= 0


def pose_batches(
    rows: Iterable[LabelRow], chunk: int | None = None, on_progress: Callable[[int], None] | None = None
) -> Iterator[PoseBatch]:
    """Chunks of `rows` (CHUNK by default) as PoseBatch; raises ExportError naming
    the first bad face. `on_progress(n_done)` is called once a chunk has been handled.
    What a writer holds at once is about two chunks of rows (this one and valid_rows')."""
    chunk = chunk or CHUNK
    n_done = 0
    batch: list[LabelRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            yield pose_batch(batch)
            n_done += len(batch)
            batch = []
            if on_progress is not None:
                on_progress(n_done)
    if batch:
        yield pose_batch(batch)
        n_done += len(batch)
        if on_progress is not None:
            on_progress(n_done)


def pose_batch(batch: list[LabelRow]) -> PoseBatch:
    n = len(batch)
    R, has_R = stack_field(batch, "R", (3, 3), "a 3x3 matrix or 9 numbers")
    if not has_R.all():
        raise ExportError(f"{face_name(batch[int(np.argmin(has_R))])}: R is missing")
    t, has_t = stack_field(batch, "t", (3,), "3 numbers (mm) or None")
    orth = np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(R)
    bad = ~(orth < ROTATION_TOL) | ~(np.abs(det - 1) < ROTATION_TOL)  # NaN counts as bad
    if bad.any():
        i = int(np.argmax(bad))
        raise ExportError(
            f"{face_name(batch[i])}: R is not a rotation matrix (orthonormality error "
            f"{orth[i]:.3g}, determinant {det[i]:.4g}); nothing valid can be written for it"
        )
    return PoseBatch(
        rows=batch,
        R=R.reshape(n, 3, 3),
        t=t,
        has_t=has_t,
        euler=geometry.matrix_to_euler(R),
        quaternion=geometry.matrix_to_quaternion(R),
    )


def stack_field(
    rows: list[LabelRow], attr: str, shape: tuple[int, ...], expected: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Attribute `attr` of every row as an (n, *shape) float array, NaN where
    the row has None, and the (n,) mask of rows that have it. Any array or
    nested list with the right number of values is accepted; non-finite values
    are an ExportError naming the face."""
    size = int(np.prod(shape))
    every = [getattr(row, attr) for row in rows]
    has = np.array([v is not None for v in every], dtype=bool)
    out = np.full((len(rows), size), np.nan)
    values = [v for v in every if v is not None]
    stacked: NDArray[np.float64] | None
    try:  # one conversion for the whole chunk when every value has the same layout
        stacked = np.array(values, dtype=np.float64).reshape(len(values), size)
    except (TypeError, ValueError):
        stacked = (
            np.stack([_numbers(v, size, row, attr, expected) for v, row in zip(every, rows) if v is not None])
            if values
            else None
        )
    if values:
        out[has] = stacked
    bad = has & ~np.isfinite(out).all(1)
    if bad.any():
        raise ExportError(f"{face_name(rows[int(np.argmax(bad))])}: {attr} contains non-finite values")
    return out.reshape((len(rows),) + shape), has


def _numbers(value: ArrayLike, size: int, row: LabelRow, what: str, expected: str) -> NDArray[np.float64]:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExportError(f"{face_name(row)}: {what} must be {expected}, got {type(value).__name__}") from None
    if a.size != size:
        raise ExportError(f"{face_name(row)}: {what} must be {expected}, got shape {a.shape}")
    return a.ravel()


def write_csv(
    rows: Iterable[LabelRow],
    out: TextIO,
    chunk: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    consensus: bool = False,
) -> int:
    """Writes the header and one line per row; Euler angles are computed per
    chunk so large exports stay vectorised. Returns the row count. With
    `consensus`, each line ends with CONSENSUS_COLUMNS.

    Lines are filled in from a template (what csv.writer would write, floats as
    their shortest round-tripping repr): float formatting is most of the cost
    and csv.writer adds half as much again on top."""
    csv.writer(out, lineterminator="\n").writerow(list(CSV_COLUMNS) + (CONSENSUS_COLUMNS if consensus else []))
    n = 0
    for b in pose_batches(rows, chunk, on_progress):
        out.write(batch_text(b, consensus))
        n += len(b.rows)
    return n


_LINE = "%s,%d,%.6f,%.6f,%.6f," + ",".join(["%r"] * 9) + ",%s,%s,%s,%s,%s,%s,%s,%s\n"
_CONSENSUS_LINE = _LINE[:-1] + ",%s,%s\n"
NEEDS_QUOTES = re.compile(r'[",\r\n]')


def csv_field(value: object) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if NEEDS_QUOTES.search(text) else text


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def _t_text(t: list[float], has_t: bool) -> str:
    return ",".join(map(repr, t)) if has_t else ",,"


def batch_text(b: PoseBatch, consensus: bool = False) -> str:
    # flat lists, sliced per row: nested tolist() would keep thousands of small
    # lists alive at once and wake the cyclic garbage collector for nothing
    R9, t, euler, has_t = b.R.ravel().tolist(), b.t.ravel().tolist(), b.euler.ravel().tolist(), b.has_t.tolist()
    # one search over the whole chunk: image names and origins almost never need quoting
    texts = "\0".join(f"{row.image}\0{row.origin}\0{row.origin_detail}\0{row.sequence}" for row in b.rows)
    field = csv_field if NEEDS_QUOTES.search(texts) else _plain

    def values(i: int, row: LabelRow) -> tuple[object, ...]:
        return (
            field(row.image),
            row.face_index,
            *euler[3 * i : 3 * i + 3],
            *R9[9 * i : 9 * i + 9],
            _t_text(t[3 * i : 3 * i + 3], has_t[i]),
            field(row.origin),
            field(row.origin_detail),
            "" if row.image_id is None else row.image_id,
            "" if row.face_id is None else row.face_id,
            field(row.sequence),
            "" if row.frame_index is None else row.frame_index,
            row.track_label,
        )

    if consensus:
        return "".join(
            [
                _CONSENSUS_LINE
                % (
                    *values(i, row),
                    _plain(row.member_count),
                    "" if row.dispersion_deg is None else repr(float(row.dispersion_deg)),
                )
                for i, row in enumerate(b.rows)
            ]
        )
    return "".join([_LINE % values(i, row) for i, row in enumerate(b.rows)])
