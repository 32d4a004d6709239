"""Label exports: LabelRows (workers/core/label_rows.py) -> a file, plain Python.

`FORMATS` names every format (the names are public API: URLs, the CLI and
saved export jobs use them); `write_export(fmt, rows, out, meta)` writes one
to a binary stream and returns the number of rows. Every writer streams: rows
are consumed in chunks and nothing grows with the number of rows except, for
zip formats, the zip's central directory and, for `coco`, a small image-id map.

A stored pose that breaks the pose rules is screened out first, and a face a
zip format cannot hold (no image size where one is needed, a .mat whose
landmarks would fall behind the camera...) is set aside by its writer (see
write_export: both are refused with the list of every such face, or skipped on
request). Any other bad row raises ExportError naming the face (image and face
index); what was written to `out` until then is incomplete and must be thrown away.

The convention every format follows is `common.CONVENTION`
(../shared/docs/POSE_CONVENTIONS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from workers.core.label_columns import LabelBatch
from workers.core.label_rows import ExportError, InvalidRow, InvalidRowsError, LabelRow, valid_rows
from workers.core.pose_rules import PoseLimits

from . import aflw2000_mat, biwi_pose, coco, csv_labels, json_labels
from .zipstream import SKIPPED_MANIFEST

__all__ = [
    "FORMATS",
    "SKIPPED_MANIFEST",
    "ExportError",
    "ExportFormat",
    "InvalidRow",
    "InvalidRowsError",
    "write_csv_export",
    "write_export",
]

# (rows, out, meta, on_progress, invalid): `invalid` collects the faces the format cannot hold
# (label_rows.writing_face); None makes the writer raise on the first one instead.
Writer = Callable[
    [Iterable[LabelRow], BinaryIO, dict[str, Any], Callable[[int], None] | None, list[InvalidRow] | None], int
]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str  # with the dot
    content_type: str
    description: str
    writer: Writer


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "json",
            ".json",
            "application/json",
            "HeadPose Studio JSON: every face with K, box, R, t, Euler angles, quaternion, landmarks and provenance.",
            json_labels.write,
        ),
        ExportFormat(
            "jsonl",
            ".jsonl",
            "application/jsonl",
            "JSON Lines: a header line (format, convention, export options), then one face per line with "
            "the json format's fields.",
            json_labels.write_lines,
        ),
        ExportFormat(
            "csv",
            ".csv",
            "text/csv",
            "One line per face: image, face index, yaw/pitch/roll, R, t, origin.",
            csv_labels.write,
        ),
        ExportFormat(
            "aflw2000_mat",
            ".zip",
            "application/zip",
            "Zip of AFLW2000-3D style .mat files (Pose_Para, pt3d_68), one per face.",
            aflw2000_mat.write,
        ),
        ExportFormat(
            "biwi_pose",
            ".zip",
            "application/zip",
            "Zip of BIWI style pose.txt files in each image's camera frame, with rgb.cal per directory.",
            biwi_pose.write,
        ),
        ExportFormat(
            "coco",
            ".json",
            "application/json",
            "COCO keypoints JSON (68 iBUG points) with a head_pose on every annotation.",
            coco.write,
        ),
    )
}


def write_export(
    fmt: str,
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    *,
    skipped: list[InvalidRow] | None = None,
    limits: PoseLimits = PoseLimits(),
) -> int:
    """Write `rows` as format `fmt` to `out`; returns the row count written.
    `on_progress(n_done)` is called after each chunk of a few thousand rows.

    Rows whose pose breaks the rules (workers/core/pose_rules.py), and faces
    the format cannot hold, are never written. With `skipped=None` any such row
    refuses the export: InvalidRowsError lists every one (the rest is still
    read, so the list is complete). With a list, they are left out and appended
    to it (InvalidRow), and a zip format has a SKIPPED_MANIFEST member naming them."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
    invalid: list[InvalidRow] = []
    n = FORMATS[fmt].writer(valid_rows(rows, invalid, limits), out, dict(meta or {}), on_progress, invalid)
    _refuse_or_skip(invalid, skipped)
    return n


def write_csv_export(
    batches: Iterable[LabelBatch],
    out: BinaryIO,
    on_progress: Callable[[int], None] | None = None,
    *,
    skipped: list[InvalidRow] | None = None,
    limits: PoseLimits = PoseLimits(),
) -> int:
    """write_export("csv", ...) of rows read a batch at a time (label_columns.LabelBatch;
    not labels=consensus or track): the same bytes, most batches formatted as columns."""
    invalid: list[InvalidRow] = []
    n = csv_labels.write_batches(batches, out, invalid, limits, on_progress)
    _refuse_or_skip(invalid, skipped)
    return n


def _refuse_or_skip(invalid: list[InvalidRow], skipped: list[InvalidRow] | None) -> None:
    if invalid:
        if skipped is None:
            raise InvalidRowsError(invalid)
        skipped.extend(invalid)  # zip formats wrote them in a SKIPPED_MANIFEST member (zipstream.write_skipped)
