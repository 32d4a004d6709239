"""`coco` export: a COCO-style keypoints JSON with the head pose on each annotation.

    info (with the export meta and the convention), licenses [],
    categories [{"id": 1, "name": "head", "supercategory": "person",
                 "keypoints": ["ibug_0" .. "ibug_67"], "skeleton": []}],
    images [{"id", "file_name", "width", "height", "camera_matrix" (K or null)}],
    annotations [{"id", "image_id", "category_id": 1, "bbox": [x, y, w, h], "area",
                  "iscrowd": 0, "head_pose": {"R", "t", "euler", "quaternion"},
                  "keypoints": 68 x [x, y, v], "num_keypoints", "face_index", "origin",
                  "origin_detail", "source" and "source_detail" (deprecated), "provenance"}]

Image ids are the rows' image_id, or running ids (skipping ids already taken)
for rows without one; each image is listed once. bbox comes from the face box
(x0, y0, x1, y1) as [x0, y0, x1 - x0, y1 - y0], the whole image when there is
none. Keypoints are the face's iBUG-68 2D landmarks with v = 2 (pixel
coordinates as stored: (0, 0) is the centre of the top-left pixel), else 68
zero triplets and num_keypoints 0.

COCO puts images before annotations, so both lists are written to temporary
spool files as the rows arrive and copied out at the end: memory stays small
whatever the number of rows (the spools move to disk past 1 MB).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as enc
from typing import Any, BinaryIO

import numpy as np

from workers.core.label_rows import ExportError, InvalidRow, LabelRow, face_name, pose_batches, stack_field

from .common import (
    CONVENTION,
    IBUG68_KEYPOINTS,
    IntSet,
    MatrixText,
    batch_cameras,
    dumps,
    json_floats,
    landmarks,
    origin_fields,
)
from .json_labels import LANDMARK_DECIMALS, LANDMARKS

SPOOL_BYTES = 1 << 20
CATEGORY = {"id": 1, "name": "head", "supercategory": "person", "keypoints": IBUG68_KEYPOINTS, "skeleton": []}
NO_KEYPOINTS = [0] * (3 * len(IBUG68_KEYPOINTS))
_IMAGE = '{"id": %d, "file_name": %s, "width": %d, "height": %d, "camera_matrix": %s}'


class ImageIds:
    """Image key -> COCO image id; a key is the row's image_id, else its file name.

    What it keeps grows with the number of images: the ids given (IntSet, about
    8 bytes an image) and, for rows without an id, names. Rows of one image
    arrive together (label_rows' order), so the previous row's image is checked first."""

    def __init__(self) -> None:
        self.given = IntSet()  # image ids taken from rows
        self.by_name: dict[str, int] = {}  # rows without an image_id: file name -> running id
        self.running: set[int] = set()
        self.next_id = 1
        self.last: int | str | None = None

    def get(self, row: LabelRow) -> tuple[int, bool]:
        """-> (id, first time this image is seen)."""
        if row.image_id is not None:
            image_id = int(row.image_id)
            if image_id == self.last:
                return image_id, False
            self.last = image_id
            if image_id in self.given:
                return image_id, False
            if image_id in self.running:
                raise ExportError(
                    f"{face_name(row)}: image id {image_id} was already given to an image without an "
                    "id; rows must either all carry image_id or none"
                )
            self.given.add(image_id)
            return image_id, True
        self.last = None
        if row.image in self.by_name:
            return self.by_name[row.image], False
        while self.next_id in self.given or self.next_id in self.running:
            self.next_id += 1
        self.running.add(self.next_id)
        self.by_name[row.image] = self.next_id
        return self.next_id, True

    def __len__(self) -> int:
        return len(self.given) + len(self.running)


_ANNOTATION = (
    '{"id": %d, "image_id": %d, "category_id": 1, "bbox": [%r, %r, %r, %r], "area": %r, "iscrowd": 0, '
    '"head_pose": {"R": [[%r, %r, %r], [%r, %r, %r], [%r, %r, %r]], "t": %s, '
    '"euler": {"yaw": %.12g, "pitch": %.12g, "roll": %.12g}, "quaternion": [%.12g, %.12g, %.12g, %.12g]}, '
    '"keypoints": %s, "num_keypoints": %d, "face_index": %d, %s}'
)
NO_KEYPOINTS_TEXT = dumps(NO_KEYPOINTS)


_ROUNDED_KEYPOINTS = "[" + ", ".join([f"%.{LANDMARK_DECIMALS}f, %.{LANDMARK_DECIMALS}f, 2"] * 68) + "]"


def _keypoints(row: LabelRow, which: str) -> tuple[str, int]:
    """(JSON text of the 68 x [x, y, v] list, number of labelled points); `which`
    is meta["landmarks"]: "full" precision, "2d" at 0.01 px, "none" (no keypoints)."""
    if which == "none":
        return NO_KEYPOINTS_TEXT, 0
    L = landmarks(row, "landmarks_2d", 2)
    if L is None or row.landmark_scheme != "ibug68" or len(L) != len(IBUG68_KEYPOINTS):
        return NO_KEYPOINTS_TEXT, 0
    if which == "2d":
        return _ROUNDED_KEYPOINTS % tuple(L.ravel().tolist()), len(IBUG68_KEYPOINTS)
    return dumps([v for x, y in L.tolist() for v in (x, y, 2)]), len(IBUG68_KEYPOINTS)


def write(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,  # unused: every valid pose fits (see exports.Writer)
) -> int:
    info = {
        "description": "HeadPose Studio head-pose labels",
        "version": "1",
        "date_created": meta.get("exported_at", ""),
        "convention": CONVENTION,
        **meta,
    }
    which = meta.get("landmarks", "full")
    if which not in LANDMARKS:
        raise ValueError(f"landmarks must be one of {', '.join(LANDMARKS)}, not {which!r}")
    ids = ImageIds()
    matrix_text = MatrixText()
    n = 0
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as images, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as anns:
        for b in pose_batches(rows, on_progress=on_progress):
            K, has_K = batch_cameras(b.rows)
            box, has_box = stack_field(b.rows, "box", (4,), "4 numbers (x0, y0, x1, y1)")
            sizes = np.array([(row.width, row.height) for row in b.rows], dtype=np.float64).reshape(-1, 2)
            # bbox [x, y, w, h]: the box, else the whole image
            bbox = np.where(
                has_box[:, None],
                np.concatenate([box[:, :2], box[:, 2:] - box[:, :2]], 1),
                np.concatenate([np.zeros_like(sizes), sizes], 1),
            )
            area = bbox[:, 2] * bbox[:, 3]
            # flat lists sliced per row (see json_labels)
            R9, t, euler, quat = (
                b.R.ravel().tolist(),
                b.t.ravel().tolist(),
                b.euler.ravel().tolist(),
                b.quaternion.ravel().tolist(),
            )
            bboxes, areas, has_t, has_K = bbox.ravel().tolist(), area.tolist(), b.has_t.tolist(), has_K.tolist()
            image_parts, ann_parts = [], []
            for i, row in enumerate(b.rows):
                image_id, first = ids.get(row)
                if first:
                    image_parts.append(
                        ("\n" if len(ids) == 1 else ",\n")
                        + _IMAGE
                        % (image_id, enc(row.image), row.width, row.height, matrix_text(K[i]) if has_K[i] else "null")
                    )
                keypoints, n_keypoints = _keypoints(row, which)
                ann_parts.append(
                    ("\n" if n + i == 0 else ",\n")
                    + _ANNOTATION
                    % (
                        n + i + 1,
                        image_id,
                        *bboxes[4 * i : 4 * i + 4],
                        areas[i],
                        *R9[9 * i : 9 * i + 9],
                        json_floats(t[3 * i : 3 * i + 3]) if has_t[i] else "null",
                        *euler[3 * i : 3 * i + 3],
                        *quat[4 * i : 4 * i + 4],
                        keypoints,
                        n_keypoints,
                        row.face_index,
                        origin_fields(row),
                    )
                )
            images.write("".join(image_parts).encode())
            anns.write("".join(ann_parts).encode())
            n += len(b.rows)
        head = dumps({"info": info, "licenses": [], "categories": [CATEGORY]})
        out.write((head[:-1] + ', "images": [').encode())
        images.seek(0)
        shutil.copyfileobj(images, out)
        out.write(b'\n], "annotations": [')
        anns.seek(0)
        shutil.copyfileobj(anns, out)
        out.write(b"\n]}\n")
    return n
