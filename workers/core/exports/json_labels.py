"""`json` export: one JSON document, HeadPose Studio's own label format.

    {"format": "headpose-studio-labels", "format_version": 1, "convention": "...",
     <meta: dataset, labels, exported_at ...>,
     "faces": [{"image", "image_id", "face_id", "face_index", "width", "height",
                "K" (3x3 or null), "box" ([x0, y0, x1, y1] or null), "R" (3x3), "t" (or null),
                "euler": {"yaw", "pitch", "roll"}, "quaternion": [w, x, y, z],
                "landmarks_2d", "landmarks_3d" (lists or null), "landmark_scheme",
                "landmarks_match_pose", "landmark_pins" ([{index, x, y}]: landmarks the annotator
                pinned, image px, iBUG-68 index; [] when none), for a frame of a sequence "sequence",
                "frame_index" (and with labels=track "track_label": keyframe / interpolated /
                smoothed_proposal), "origin" (ground_truth / annotator / proposal), "origin_detail",
                "source", "source_detail" (deprecated: the old names and values, dataset /
                annotator / proposer), "provenance"}, ...]}

Written one face per line as the rows arrive (the document is never held in
memory); Euler angles and quaternions are computed per chunk of rows. R, t, K
and box use Python's shortest round-tripping float repr, so they read back
exactly; Euler angles and quaternions (derived from R) carry 12 significant
digits. Each face's line is filled in from a text template rather than by
json.dumps of a dict: float formatting is most of the cost, and a template lets
a K shared by many images be formatted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as enc
from typing import Any, BinaryIO

from workers.core.label_rows import ExportError, InvalidRow, LabelRow, face_name, pose_batches, stack_field
from workers.core.landmark_pins import LandmarkPinsError, check_landmark_pins

from .common import (
    CONVENTION,
    MatrixText,
    batch_cameras,
    dumps,
    json_floats,
    json_int,
    landmarks,
    origin_fields,
    sequence_fields,
)

FORMAT_NAME = "headpose-studio-labels"
FORMAT_VERSION = 1
RESERVED_KEYS = ("format", "format_version", "convention", "faces")


def header(meta: dict[str, Any]) -> dict[str, Any]:
    clash = [k for k in RESERVED_KEYS if k in meta]
    if clash:
        raise ValueError(f"export meta may not set {clash}: the writer sets them")
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "convention": CONVENTION, **meta}


_FACE = (
    '{"image": %s, "image_id": %s, "face_id": %s, "face_index": %d, "width": %d, "height": %d, '
    '"K": %s, "box": %s, "R": [[%r, %r, %r], [%r, %r, %r], [%r, %r, %r]], "t": %s, '
    '"euler": {"yaw": %.12g, "pitch": %.12g, "roll": %.12g}, "quaternion": [%.12g, %.12g, %.12g, %.12g], '
    '"landmarks_2d": %s, "landmarks_3d": %s, "landmark_scheme": %s, "landmarks_match_pose": %s, "landmark_pins": %s, %s%s}'
)


def write(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,  # unused: every valid pose fits (see exports.Writer)
) -> int:
    head = dumps(header(meta))
    out.write((head[:-1] + ', "faces": [').encode())
    matrix_text = MatrixText()
    n = 0
    for b in pose_batches(rows, on_progress=on_progress):
        K, has_K = batch_cameras(b.rows)
        box, has_box = stack_field(b.rows, "box", (4,), "4 numbers (x0, y0, x1, y1)")
        # flat lists sliced per row: nested tolist() would keep thousands of
        # small lists alive at once and wake the cyclic garbage collector
        R9, t, euler, quat = (
            b.R.ravel().tolist(),
            b.t.ravel().tolist(),
            b.euler.ravel().tolist(),
            b.quaternion.ravel().tolist(),
        )
        boxes, has_t, has_K, has_box = box.ravel().tolist(), b.has_t.tolist(), has_K.tolist(), has_box.tolist()
        parts = []
        for i, row in enumerate(b.rows):
            lm2, lm3 = landmarks(row, "landmarks_2d", 2), landmarks(row, "landmarks_3d", 3)
            parts.append(
                ("\n" if n + i == 0 else ",\n")
                + _FACE
                % (
                    enc(row.image),
                    json_int(row.image_id),
                    json_int(row.face_id),
                    row.face_index,
                    row.width,
                    row.height,
                    matrix_text(K[i]) if has_K[i] else "null",
                    json_floats(boxes[4 * i : 4 * i + 4]) if has_box[i] else "null",
                    *R9[9 * i : 9 * i + 9],
                    json_floats(t[3 * i : 3 * i + 3]) if has_t[i] else "null",
                    *euler[3 * i : 3 * i + 3],
                    *quat[4 * i : 4 * i + 4],
                    "null" if lm2 is None else dumps(lm2.tolist()),
                    "null" if lm3 is None else dumps(lm3.tolist()),
                    enc(row.landmark_scheme),
                    "true" if row.landmarks_match_pose else "false",
                    _pins_text(row),
                    sequence_fields(row),
                    origin_fields(row),
                )
            )
        out.write("".join(parts).encode())
        n += len(b.rows)
    out.write(b"\n]}\n")
    return n


def _pins_text(row: LabelRow) -> str:
    if not row.landmark_pins:
        return "[]"
    try:  # checked on the way out too: a row built by hand (not read from the database) is refused plainly
        return dumps(check_landmark_pins(row.landmark_pins), row)
    except LandmarkPinsError as exc:
        raise ExportError(f"{face_name(row)}: {exc}") from None
