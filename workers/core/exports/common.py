"""Helpers shared by the export writers: the convention text every file
carries, per-face camera/box/translation fallbacks, safe zip member names,
README text, JSON encoding of numpy values and the fields saying who made a label."""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import (  # type: ignore[attr-defined]  # CPython's C encoder: not in typeshed
    c_make_encoder,
    encode_basestring_ascii,
)
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.label_rows import ExportError, LabelRow, deprecated_source, face_name, stack_field

CONVENTION = (
    "HeadPose Studio pose convention (docs/POSE_CONVENTIONS.md): X_cam = R @ X_head + t. "
    "R is the 3x3 head-to-camera rotation (row-major when flattened), t in millimetres, "
    "camera frame OpenCV (x right, y down, z forward); pixel (0, 0) is the centre of the top-left pixel. "
    "Head frame at R = I: x to image-right, y to the chin, z to the back of the head; its origin is the "
    "centroid of the 68 iBUG landmarks for the project's own labels (BIWI ground truth: the BIWI head centre). "
    "euler = [yaw, pitch, roll] degrees in the AFLW2000 convention R = Rx(-pitch) @ Ry(yaw) @ Rz(roll), "
    "yaw in [-90, 90]: +yaw turns the face to image-left, +pitch lifts the chin, +roll tilts the head "
    "to image-right. quaternion = [w, x, y, z] with w >= 0."
)
IBUG68_KEYPOINTS = [f"ibug_{i}" for i in range(68)]


def camera_matrix(row: LabelRow) -> NDArray[np.float64] | None:
    """The row's K as a checked (3, 3) array, None when the row has none."""
    if row.K is None:
        return None
    try:
        K = np.asarray(row.K, dtype=np.float64).reshape(3, 3)
    except (TypeError, ValueError):
        raise ExportError(f"{face_name(row)}: K must be a 3x3 matrix") from None
    if not (np.all(np.isfinite(K)) and K[0, 0] > 0 and K[1, 1] > 0):
        raise ExportError(f"{face_name(row)}: K must be finite with positive focal lengths")
    return K


def require_size(row: LabelRow, why: str) -> tuple[int, int]:
    if not (row.width > 0 and row.height > 0):
        raise ExportError(f"{face_name(row)}: the image size is unknown, and it is needed {why}")
    return int(row.width), int(row.height)


def face_box(row: LabelRow) -> tuple[float, float, float, float] | None:
    """The row's box as 4 floats, None when the row has none."""
    if row.box is None:
        return None
    try:
        box = tuple(float(v) for v in row.box)
    except (TypeError, ValueError):
        raise ExportError(f"{face_name(row)}: box must be 4 numbers (x0, y0, x1, y1)") from None
    if len(box) != 4 or not np.all(np.isfinite(box)):
        raise ExportError(f"{face_name(row)}: box must be 4 finite numbers (x0, y0, x1, y1), got {row.box!r}")
    return box


def box_or_image(row: LabelRow) -> tuple[float, float, float, float]:
    """The face box, else the whole image (as annotator/labeling.py does)."""
    box = face_box(row)
    if box is not None:
        return box
    w, h = require_size(row, "to stand in for the missing face box")
    return (0.0, 0.0, float(w), float(h))


def estimated_translation(row: LabelRow, K: NDArray[np.float64]) -> NDArray[np.float64]:
    """geometry.translation_from_box for a row without t (box, else the whole image)."""
    return geometry.translation_from_box(box_or_image(row), K)


def landmarks(row: LabelRow, which: str, dims: int) -> NDArray[np.float64] | None:
    value = getattr(row, which)
    if value is None:
        return None
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExportError(f"{face_name(row)}: {which} must be numbers") from None
    if a.ndim != 2 or a.shape[1] != dims or not np.all(np.isfinite(a)):
        raise ExportError(f"{face_name(row)}: {which} must be finite (N, {dims}), got shape {a.shape}")
    return a


def member_stem(image: str) -> str:
    """Image path without extension, made safe as a zip member: '/'-separated,
    no absolute path, no '.' or '..' components."""
    parts = [p for p in image.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts:
        return "image"
    return str(PurePosixPath(*parts).with_suffix(""))


INT_SET_BUFFER = 8192  # IntSet: values kept in a Python set before they are merged into the array


class IntSet:
    """A set of 64-bit ints in about 8 bytes each (a Python set takes about 60):
    the newest `buffer` in a set, the rest in a sorted int64 array they are merged
    into when the set fills. What an export remembers per image or member name."""

    def __init__(self, buffer: int | None = None) -> None:
        self.recent: set[int] = set()
        self.sorted = np.zeros(0, dtype=np.int64)
        self.buffer = buffer or INT_SET_BUFFER

    def __contains__(self, value: int) -> bool:
        if value in self.recent:
            return True
        i = int(np.searchsorted(self.sorted, value))
        return i < len(self.sorted) and int(self.sorted[i]) == value

    def add(self, value: int) -> None:
        self.recent.add(value)
        if len(self.recent) >= self.buffer:
            new = np.sort(np.fromiter(self.recent, np.int64, len(self.recent)))
            # two sorted runs: the stable sort (timsort) merges them in linear time
            self.sorted = np.sort(np.concatenate([self.sorted, new]), kind="stable")
            self.recent = set()

    def __len__(self) -> int:
        return len(self.recent) + len(self.sorted)


class MemberNames:
    """Hands out zip member names; a name already used (several labels of one
    face) gets '_label2', '_label3' ... before its suffix. Names are remembered
    by a 64-bit hash (IntSet: 8 bytes a member): two different names with the
    same hash, about one chance in 10^7 at a million members, only cost the second
    a '_label2'."""

    def __init__(self) -> None:
        self.used = IntSet()
        self.renamed = 0

    def claim(self, base: str, suffix: str) -> str:
        name, k = base + suffix, 1
        while hash(name) in self.used:
            k += 1
            name = f"{base}_label{k}{suffix}"
        if k > 1:
            self.renamed += 1
        self.used.add(hash(name))
        return name


def readme(title: str, meta: dict[str, Any], paragraphs: list[str]) -> str:
    lines = [title, "=" * len(title), ""]
    lines += [f"{k}: {v}" for k, v in meta.items()]
    lines += ["", "Convention: " + CONVENTION, ""]
    for p in paragraphs:
        if p:
            lines += [p, ""]
    return "\n".join(lines)


def json_default(value: object) -> Any:
    """json fallback for numpy values in provenance and meta."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(default=json_default, allow_nan=False)
# json.JSONEncoder.encode builds a new C encoder on every call; one built once
# halves the cost of the small per-face values. markers=None: no circular
# reference check (a circular value ends in RecursionError, reported below).
_C_ENCODE = (
    c_make_encoder(None, json_default, encode_basestring_ascii, None, ": ", ", ", False, False, False)
    if c_make_encoder is not None
    else None
)


def dumps(value: object, row: LabelRow | None = None) -> str:
    """One-line JSON (json.dumps layout); a value that cannot be written names the face."""
    try:
        if _C_ENCODE is not None and isinstance(value, (dict, list)):
            return "".join(_C_ENCODE(value, 0))
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        where = f"{face_name(row)}: " if row is not None else ""
        raise ExportError(f"{where}cannot be written as JSON ({exc})") from None


_ORIGIN_FIELDS = '"origin": %s, "origin_detail": %s, "source": %s, "source_detail": %s, "provenance": %s'


def origin_fields(row: LabelRow) -> str:
    """Who made the row's label, as JSON object members: origin, origin_detail,
    provenance, and the deprecated pre-rename "source" / "source_detail" (old
    values: dataset / proposer / annotator), which readers of older exports
    still look for; the provenance's deprecated "source" likewise."""
    provenance = row.provenance
    if "origin" in provenance and "source" not in provenance:
        provenance = {**provenance, "source": deprecated_source(provenance["origin"])}
    enc = encode_basestring_ascii
    return _ORIGIN_FIELDS % (
        enc(row.origin),
        enc(row.origin_detail),
        enc(deprecated_source(row.origin)),
        enc(row.origin_detail),
        dumps(provenance, row),
    )


def sequence_fields(row: LabelRow) -> str:
    """For a frame of a sequence: its "sequence", "frame_index" (and with
    labels=track "track_label") as JSON object members followed by ', '; else ''."""
    if not row.sequence:
        return ""
    text = f'"sequence": {encode_basestring_ascii(row.sequence)}, "frame_index": {json_int(row.frame_index)}, '
    return text + (f'"track_label": {encode_basestring_ascii(row.track_label)}, ' if row.track_label else "")


def json_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def json_floats(values: Iterable[float]) -> str:
    """A flat list of finite Python floats as JSON; repr is the shortest text
    that reads back as the same float."""
    return "[" + ", ".join(map(repr, values)) + "]"


def points_text(points: NDArray[np.float64], decimals: int) -> str:
    """(N, d) finite points as a JSON list of [x, y(, z)] lists, each number with
    `decimals` decimals (one % formatting for the whole list)."""
    n, d = points.shape
    if n == 0:
        return "[]"
    one = "[" + ", ".join([f"%.{decimals}f"] * d) + "]"
    return ("[" + ", ".join([one] * n) + "]") % tuple(points.ravel().tolist())


def batch_cameras(rows: list[LabelRow]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(n, 3, 3) K of each row (NaN where none) and the mask of rows with one."""
    K, has = stack_field(rows, "K", (3, 3), "a 3x3 matrix")
    bad = has & ~((K[:, 0, 0] > 0) & (K[:, 1, 1] > 0))
    if bad.any():
        raise ExportError(f"{face_name(rows[int(np.argmax(bad))])}: K must have positive focal lengths")
    return K, has


class MatrixText:
    """JSON text of 3x3 matrices, remembered: most images share a few K."""

    def __init__(self, limit: int = 4096):
        self.cache: dict[bytes, str] = {}
        self.limit = limit

    def __call__(self, M: NDArray[np.float64]) -> str:
        key = M.tobytes()
        text = self.cache.get(key)
        if text is None:
            if len(self.cache) >= self.limit:
                self.cache.clear()
            text = "[" + ", ".join(json_floats(r) for r in M.tolist()) + "]"
            self.cache[key] = text
        return text
