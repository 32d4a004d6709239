"""`coco` export loaded with pycocotools."""

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from workers.core.exports import ExportError, write_export

from .factories import META, angle_difference, random_rows, scipy_euler, scipy_matrix_from_wxyz


def load(rows, tmp_path):
    path = tmp_path / "labels.json"
    with path.open("wb") as out:
        assert write_export("coco", rows, out, META) == len(rows)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        return COCO(str(path))


def test_images_listed_once_and_annotations_per_face(tmp_path):
    rows = random_rows(30, seed=41, faces_per_image=(1, 4))
    coco = load(rows, tmp_path)
    assert sorted(coco.getImgIds()) == sorted({r.image_id for r in rows})
    assert len(coco.getAnnIds()) == len(rows)
    (cat,) = coco.loadCats(coco.getCatIds())
    assert cat["name"] == "head" and cat["keypoints"] == [f"ibug_{i}" for i in range(68)]
    for image_id in coco.getImgIds():
        faces = [r for r in rows if r.image_id == image_id]
        (img,) = coco.loadImgs(image_id)
        assert (img["file_name"], img["width"], img["height"]) == (faces[0].image, faces[0].width, faces[0].height)
        assert np.array_equal(img["camera_matrix"], faces[0].K)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert sorted(a["face_index"] for a in anns) == [r.face_index for r in faces]
    assert coco.dataset["info"]["dataset"] == "demo" and "POSE_CONVENTIONS" in coco.dataset["info"]["convention"]


def test_bbox_head_pose_and_provenance(tmp_path):
    rows = random_rows(20, seed=42, t_missing_every=4)
    rows[0].box = None
    coco = load(rows, tmp_path)
    anns = coco.loadAnns(coco.getAnnIds())
    by_face = {(a["image_id"], a["face_index"]): a for a in anns}
    for row in rows:
        a = by_face[(row.image_id, row.face_index)]
        x0, y0, x1, y1 = row.box if row.box is not None else (0, 0, row.width, row.height)
        assert np.abs(np.array(a["bbox"]) - [x0, y0, x1 - x0, y1 - y0]).max() < 1e-9
        assert abs(a["area"] - (x1 - x0) * (y1 - y0)) < 1e-6
        assert a["category_id"] == 1 and a["iscrowd"] == 0
        pose = a["head_pose"]
        assert np.array_equal(np.array(pose["R"]), row.R)
        if row.t is None:
            assert pose["t"] is None
        else:
            assert np.array_equal(pose["t"], row.t)
        e = pose["euler"]
        assert np.abs(angle_difference([e["yaw"], e["pitch"], e["roll"]], scipy_euler(row.R))).max() < 1e-6
        assert np.abs(scipy_matrix_from_wxyz(pose["quaternion"]) - row.R).max() < 1e-9
        assert a["provenance"] == {**row.provenance, "source": "annotator"}  # + the deprecated key
        assert (a["origin"], a["origin_detail"]) == (row.origin, row.origin_detail)
        assert a["keypoints"] == [0] * 204 and a["num_keypoints"] == 0


def test_ibug_keypoints(tmp_path):
    rows = random_rows(4, seed=43, with_landmarks=True)
    rows[1].landmark_scheme = "mediapipe468"  # not iBUG: no COCO keypoints
    coco = load(rows, tmp_path)
    for row in rows:
        ann = next(a for a in coco.loadAnns(coco.getAnnIds(imgIds=[row.image_id])) if a["face_index"] == row.face_index)
        kp = np.array(ann["keypoints"], dtype=float).reshape(68, 3)
        if row.landmark_scheme == "ibug68":
            assert np.array_equal(kp[:, :2], row.landmarks_2d) and (kp[:, 2] == 2).all()
            assert ann["num_keypoints"] == 68
        else:
            assert not kp.any() and ann["num_keypoints"] == 0


def test_running_image_ids_when_rows_have_none(tmp_path):
    rows = random_rows(5, seed=44, image_ids=False, faces_per_image=(2, 3))
    coco = load(rows, tmp_path)
    imgs = coco.loadImgs(coco.getImgIds())
    assert sorted(i["id"] for i in imgs) == list(range(1, 6))
    names = {i["id"]: i["file_name"] for i in imgs}
    for a in coco.loadAnns(coco.getAnnIds()):
        assert names[a["image_id"]] in {r.image for r in rows}
    assert len({a["id"] for a in coco.loadAnns(coco.getAnnIds())}) == len(rows)


def test_mixing_running_and_given_image_ids_that_collide_is_an_error(tmp_path):
    rows = random_rows(2, seed=45, image_ids=False, faces_per_image=(1, 2))
    rows[1].image_id = 1  # the running id the first image already got
    with pytest.raises(ExportError, match=r"face 0.*image id 1"):
        write_export("coco", rows, io.BytesIO(), META)


def test_keypoints_follow_the_landmarks_option(tmp_path):
    rows = random_rows(3, seed=46, with_landmarks=True)
    for which, check in (
        ("2d", lambda kp, row: np.abs(kp[:, :2] - row.landmarks_2d).max() <= 0.005 + 1e-9),
        ("none", lambda kp, row: not kp.any()),
    ):
        out = io.BytesIO()
        write_export("coco", rows, out, {**META, "landmarks": which})
        anns = json.loads(out.getvalue())["annotations"]
        assert all(check(np.array(a["keypoints"], dtype=float).reshape(68, 3), row) for a, row in zip(anns, rows))
