"""`json` export: one JSON document, HeadPose Studio's own label format.

    {"format": "headpose-studio-labels", "format_version": 1, "convention": "...",
     <meta: dataset, labels, exported_at ...>,
     "faces": [{"image", "image_id", "face_id", "face_index", "width", "height",
                "K" (3x3 or null), "box" ([x0, y0, x1, y1] or null), "R" (3x3), "t" (or null),
                "euler": {"yaw", "pitch", "roll"}, "quaternion": [w, x, y, z],
                "landmarks_2d", "landmarks_3d" (lists or null), "landmark_scheme",
                "landmarks_match_pose", "source", "source_detail", "provenance"}, ...]}

Written one face per line as the rows arrive (the document is never held in
memory); Euler angles and quaternions are computed per chunk of rows. Floats
are Python's shortest round-tripping repr, so R, t and K read back exactly.
"""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterable

from workers.core.label_rows import LabelRow, pose_batches

from .common import CONVENTION, camera_matrix, dumps, face_box, landmarks

FORMAT_NAME = "headpose-studio-labels"
FORMAT_VERSION = 1
RESERVED_KEYS = ("format", "format_version", "convention", "faces")


def header(meta: dict) -> dict:
    clash = [k for k in RESERVED_KEYS if k in meta]
    if clash:
        raise ValueError(f"export meta may not set {clash}: the writer sets them")
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "convention": CONVENTION, **meta}


def write(rows: Iterable[LabelRow], out: BinaryIO, meta: dict,
          on_progress: Callable[[int], None] | None = None) -> int:
    head = dumps(header(meta))
    out.write((head[:-1] + ', "faces": [').encode())
    n = 0
    for b in pose_batches(rows, on_progress=on_progress):
        R, t, euler, quat = b.R.tolist(), b.t.tolist(), b.euler.tolist(), b.quaternion.tolist()
        parts = []
        for i, row in enumerate(b.rows):
            K = camera_matrix(row)
            lm2, lm3 = landmarks(row, "landmarks_2d", 2), landmarks(row, "landmarks_3d", 3)
            box = face_box(row)
            face = {
                "image": row.image, "image_id": row.image_id, "face_id": row.face_id,
                "face_index": row.face_index, "width": row.width, "height": row.height,
                "K": None if K is None else K.tolist(),
                "box": None if box is None else list(box),
                "R": R[i], "t": t[i] if b.has_t[i] else None,
                "euler": {"yaw": euler[i][0], "pitch": euler[i][1], "roll": euler[i][2]},
                "quaternion": quat[i],
                "landmarks_2d": None if lm2 is None else lm2.tolist(),
                "landmarks_3d": None if lm3 is None else lm3.tolist(),
                "landmark_scheme": row.landmark_scheme, "landmarks_match_pose": bool(row.landmarks_match_pose),
                "source": row.source, "source_detail": row.source_detail, "provenance": row.provenance,
            }
            parts.append(("\n" if n + i == 0 else ",\n") + dumps(face, row))
        out.write("".join(parts).encode())
        n += len(b.rows)
    out.write(b"\n]}\n")
    return n
