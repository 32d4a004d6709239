"""`json` and `jsonl` exports: HeadPose Studio's own label format, as one JSON
document (`json`) or as JSON Lines (`jsonl`: a header line, then one face per line).

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

Landmarks (meta["landmarks"], LANDMARKS below): "full" writes both lists at full
precision (the default of the writer called on its own: about 8 KB a face, 7 of
them the 68 x 2 and 68 x 3 numbers at 17 significant digits); the app's exports
default to "2d": landmarks_2d at 0.01 px and landmarks_3d null (about 1.7 KB a
face); "none" leaves both null (under 1 KB). The header's "landmarks" says which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
    points_text,
    sequence_fields,
)

FORMAT_NAME = "headpose-studio-labels"
LINES_FORMAT_NAME = "headpose-studio-labels-lines"  # jsonl: the header line's "format"
FORMAT_VERSION = 1
# meta["landmarks"]: which landmarks a face carries (json, jsonl, coco keypoints).
# "2d": landmarks_2d at LANDMARK_DECIMALS (0.01 px), landmarks_3d null; "none": both null;
# "full": both at full float precision (every float's shortest repr; about 8 KB a face).
LANDMARKS = ("2d", "none", "full")
LANDMARK_DECIMALS = 2
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
    n = 0
    for faces in face_texts(rows, meta, on_progress):
        out.write((("\n" if n == 0 else ",\n") + ",\n".join(faces)).encode())
        n += len(faces)
    out.write(b"\n]}\n")
    return n


def write_lines(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,  # unused: every valid pose fits (see exports.Writer)
) -> int:
    """`jsonl`: JSON Lines. The first line is the header (the `json` document's keys but
    "faces", with format "headpose-studio-labels-lines"), then one face per line, each the
    object a `json` export has in "faces"."""
    out.write((dumps({**header(meta), "format": LINES_FORMAT_NAME}) + "\n").encode())
    n = 0
    for faces in face_texts(rows, meta, on_progress):
        out.write(("\n".join(faces) + "\n").encode())
        n += len(faces)
    return n


def face_texts(
    rows: Iterable[LabelRow], meta: dict[str, Any], on_progress: Callable[[int], None] | None = None
) -> Iterator[list[str]]:
    """Each chunk of rows as the JSON text of its faces (one object each, on one line).
    meta["landmarks"] says which landmarks go in (LANDMARKS; "full" when absent)."""
    which = meta.get("landmarks", "full")
    if which not in LANDMARKS:
        raise ValueError(f"landmarks must be one of {', '.join(LANDMARKS)}, not {which!r}")
    matrix_text = MatrixText()
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
        faces = []
        for i, row in enumerate(b.rows):
            lm2, lm3 = _landmarks_text(row, which)
            faces.append(
                _FACE
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
                    lm2,
                    lm3,
                    enc(row.landmark_scheme),
                    "true" if row.landmarks_match_pose else "false",
                    _pins_text(row),
                    sequence_fields(row),
                    origin_fields(row),
                )
            )
        yield faces


def _landmarks_text(row: LabelRow, which: str) -> tuple[str, str]:
    """(landmarks_2d, landmarks_3d) as JSON text for meta["landmarks"] == `which`."""
    if which == "none":
        return "null", "null"
    lm2 = landmarks(row, "landmarks_2d", 2)
    if which == "2d":
        return ("null" if lm2 is None else points_text(lm2, LANDMARK_DECIMALS)), "null"
    lm3 = landmarks(row, "landmarks_3d", 3)
    return ("null" if lm2 is None else dumps(lm2.tolist())), ("null" if lm3 is None else dumps(lm3.tolist()))


def _pins_text(row: LabelRow) -> str:
    if not row.landmark_pins:
        return "[]"
    try:  # checked on the way out too: a row built by hand (not read from the database) is refused plainly
        return dumps(check_landmark_pins(row.landmark_pins), row)
    except LandmarkPinsError as exc:
        raise ExportError(f"{face_name(row)}: {exc}") from None
