"""`coco` export: a COCO-style keypoints JSON with the head pose on each annotation.

    info (with the export meta and the convention), licenses [],
    categories [{"id": 1, "name": "head", "supercategory": "person",
                 "keypoints": ["ibug_0" .. "ibug_67"], "skeleton": []}],
    images [{"id", "file_name", "width", "height", "camera_matrix" (K or null)}],
    annotations [{"id", "image_id", "category_id": 1, "bbox": [x, y, w, h], "area",
                  "iscrowd": 0, "head_pose": {"R", "t", "euler", "quaternion"},
                  "keypoints": 68 x [x, y, v], "num_keypoints", "face_index", "source",
                  "source_detail", "provenance"}]

Image ids are the rows' image_id, or running ids (skipping ids already taken)
for rows without one; each image is listed once. bbox comes from the face box
(x0, y0, x1, y1) as [x0, y0, x1 - x0, y1 - y0], the whole image when there is
none. Keypoints are the face's iBUG-68 2D landmarks with v = 2 (pixel
coordinates as stored: (0, 0) is the centre of the top-left pixel), else 68
zero triplets and num_keypoints 0.

COCO puts images before annotations, so both lists are written to temporary
spool files as the rows arrive and copied out at the end: memory stays small
whatever the number of rows (the spools move to disk past a few MB).
"""
from __future__ import annotations

import shutil
import tempfile
from typing import BinaryIO, Callable, Iterable

from workers.core.label_rows import ExportError, LabelRow, face_name, pose_batches

from .common import CONVENTION, IBUG68_KEYPOINTS, camera_matrix, dumps, face_box, landmarks

SPOOL_BYTES = 8 << 20
CATEGORY = {"id": 1, "name": "head", "supercategory": "person", "keypoints": IBUG68_KEYPOINTS, "skeleton": []}
NO_KEYPOINTS = [0] * (3 * len(IBUG68_KEYPOINTS))


class ImageIds:
    """Image key -> COCO image id; a key is the row's image_id, else its file name."""

    def __init__(self):
        self.by_key: dict = {}
        self.taken: set[int] = set()
        self.running: set[int] = set()
        self.next_id = 1

    def get(self, row: LabelRow) -> tuple[int, bool]:
        """-> (id, first time this image is seen)."""
        key = ("id", int(row.image_id)) if row.image_id is not None else ("name", row.image)
        if key in self.by_key:
            return self.by_key[key], False
        if row.image_id is not None:
            image_id = int(row.image_id)
            if image_id in self.running:
                raise ExportError(f"{face_name(row)}: image id {image_id} was already given to an image without an "
                                  "id; rows must either all carry image_id or none")
        else:
            while self.next_id in self.taken:
                self.next_id += 1
            image_id = self.next_id
            self.running.add(image_id)
        self.taken.add(image_id)
        self.by_key[key] = image_id
        return image_id, True


def _keypoints(row: LabelRow) -> list:
    L = landmarks(row, "landmarks_2d", 2)
    if L is None or row.landmark_scheme != "ibug68" or len(L) != len(IBUG68_KEYPOINTS):
        return NO_KEYPOINTS
    return [v for x, y in L.tolist() for v in (x, y, 2)]


def _bbox(row: LabelRow) -> list:
    box = face_box(row)
    if box is None:
        return [0.0, 0.0, float(row.width), float(row.height)]
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


def write(rows: Iterable[LabelRow], out: BinaryIO, meta: dict,
          on_progress: Callable[[int], None] | None = None) -> int:
    info = {"description": "HeadPose Studio head-pose labels", "version": "1",
            "date_created": meta.get("exported_at", ""), "convention": CONVENTION, **meta}
    ids = ImageIds()
    n = 0
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as images, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as anns:
        for b in pose_batches(rows, on_progress=on_progress):
            R, t, euler, quat = b.R.tolist(), b.t.tolist(), b.euler.tolist(), b.quaternion.tolist()
            image_parts, ann_parts = [], []
            for i, row in enumerate(b.rows):
                image_id, first = ids.get(row)
                if first:
                    K = camera_matrix(row)
                    image = {"id": image_id, "file_name": row.image, "width": row.width, "height": row.height,
                             "camera_matrix": None if K is None else K.tolist()}
                    image_parts.append(("\n" if len(ids.by_key) == 1 else ",\n") + dumps(image, row))
                keypoints = _keypoints(row)
                bbox = _bbox(row)
                ann = {
                    "id": n + i + 1, "image_id": image_id, "category_id": 1, "bbox": bbox,
                    "area": bbox[2] * bbox[3], "iscrowd": 0,
                    "head_pose": {"R": R[i], "t": t[i] if b.has_t[i] else None,
                                  "euler": {"yaw": euler[i][0], "pitch": euler[i][1], "roll": euler[i][2]},
                                  "quaternion": quat[i]},
                    "keypoints": keypoints, "num_keypoints": 0 if keypoints is NO_KEYPOINTS else len(IBUG68_KEYPOINTS),
                    "face_index": row.face_index, "source": row.source, "source_detail": row.source_detail,
                    "provenance": row.provenance,
                }
                ann_parts.append(("\n" if n + i == 0 else ",\n") + dumps(ann, row))
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
