"""`json` export read back with json.load and checked against scipy."""

import io
import json

import numpy as np

from workers.core.exports import write_export

from .factories import META, angle_difference, random_rows, scipy_euler, scipy_matrix_from_wxyz


def export(rows, meta=META):
    out = io.BytesIO()
    n = write_export("json", rows, out, meta)
    assert n == len(rows)
    return json.loads(out.getvalue().decode("utf-8"))


def test_it_writes_every_face_with_exact_pose_camera_and_box():
    rows = random_rows(40, seed=1, t_missing_every=7)
    doc = export(rows)
    assert doc["format"] == "headpose-studio-labels" and doc["format_version"] == 1
    assert "POSE_CONVENTIONS" in doc["convention"] and "[w, x, y, z]" in doc["convention"]
    assert {k: doc[k] for k in META} == META
    assert len(doc["faces"]) == len(rows)
    for face, row in zip(doc["faces"], rows):
        assert (face["image"], face["image_id"], face["face_id"], face["face_index"]) == (
            row.image,
            row.image_id,
            row.face_id,
            row.face_index,
        )
        assert (face["width"], face["height"]) == (row.width, row.height)
        # floats are written as repr: they read back bit for bit
        assert np.array_equal(np.array(face["R"]), row.R)
        assert np.array_equal(np.array(face["K"]), row.K)
        assert face["box"] == list(row.box)
        if row.t is None:
            assert face["t"] is None
        else:
            assert np.array_equal(np.array(face["t"]), row.t)
        # plus the deprecated pre-rename "source" key (tests below)
        assert face["provenance"] == {**row.provenance, "source": "annotator"}
        assert (face["origin"], face["origin_detail"]) == (row.origin, row.origin_detail)
        assert (face["source"], face["source_detail"]) == (row.origin, row.origin_detail)
        assert face["landmarks_2d"] is None and face["landmarks_3d"] is None


def test_euler_angles_and_quaternion_agree_with_scipy():
    rows = random_rows(60, seed=2)
    doc = export(rows)
    yaws = []
    for face, row in zip(doc["faces"], rows):
        e = face["euler"]
        got = np.array([e["yaw"], e["pitch"], e["roll"]])
        assert np.abs(angle_difference(got, scipy_euler(row.R))).max() < 1e-6
        assert -90 <= got[0] <= 90
        q = np.array(face["quaternion"])
        assert q[0] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-9
        assert np.abs(scipy_matrix_from_wxyz(q) - row.R).max() < 1e-9
        yaws.append(abs(np.degrees(np.arcsin(np.clip(row.R[0, 2], -1, 1)))))
    assert max(yaws) > 80  # the sample reaches profile poses


def test_landmarks_scheme_and_flags_are_kept():
    rows = random_rows(5, seed=3, with_landmarks=True)
    doc = export(rows)
    for face, row in zip(doc["faces"], rows):
        assert np.array_equal(np.array(face["landmarks_2d"]), row.landmarks_2d)
        assert np.array_equal(np.array(face["landmarks_3d"]), row.landmarks_3d)
        assert face["landmark_scheme"] == "ibug68"
        assert face["landmarks_match_pose"] is row.landmarks_match_pose


def test_flat_rotation_lists_and_missing_camera_are_accepted():
    rows = random_rows(3, seed=4, with_K=False)
    for row in rows:
        row.R = [float(v) for v in np.asarray(row.R).reshape(9)]
        row.t = list(row.t)
        row.box = None
    doc = export(rows)
    for face, row in zip(doc["faces"], rows):
        assert np.array_equal(np.array(face["R"]).reshape(9), row.R)
        assert face["t"] == row.t
        assert face["K"] is None and face["box"] is None


def test_odd_names_and_unicode_survive():
    rows = random_rows(2, seed=5, names=['dir "x"/b\\c,d.jpg', "caf\u00e9/\u5927.png"])
    rows[0].provenance = {"author": "zo\u00eb", "note": "line\nbreak", "score": np.float32(0.5)}
    doc = export(rows, {**META, "dataset": "d\u00e9mo"})
    assert doc["dataset"] == "d\u00e9mo"
    assert [f["image"] for f in doc["faces"]] == [r.image for r in rows]
    assert doc["faces"][0]["provenance"] == {"author": "zo\u00eb", "note": "line\nbreak", "score": 0.5}


def test_empty_export_is_a_valid_document():
    doc = export([])
    assert doc["faces"] == [] and doc["dataset"] == "demo"


def test_frames_carry_sequence_and_frame_index_other_images_do_not():
    rows = random_rows(2, seed=21, faces_per_image=(1, 2))
    rows[0].sequence, rows[0].frame_index, rows[0].track_label = "drive", 12, "keyframe"
    rows[1].sequence, rows[1].frame_index = "drive", 13
    first, second = export(rows)["faces"]
    assert (first["sequence"], first["frame_index"], first["track_label"]) == ("drive", 12, "keyframe")
    assert (second["sequence"], second["frame_index"]) == ("drive", 13) and "track_label" not in second
    plain = export(random_rows(1, seed=22, faces_per_image=(1, 2)))["faces"][0]
    assert "sequence" not in plain and "frame_index" not in plain


def test_jsonl_is_a_header_line_then_the_json_faces_one_per_line():
    rows = random_rows(6, seed=31, with_landmarks=True, t_missing_every=3)
    out = io.BytesIO()
    assert write_export("jsonl", rows, out, META) == len(rows)
    head, *lines = out.getvalue().decode().splitlines()
    header = json.loads(head)
    assert header["format"] == "headpose-studio-labels-lines" and "POSE_CONVENTIONS" in header["convention"]
    assert {k: header[k] for k in META} == META and "faces" not in header
    assert [json.loads(line) for line in lines] == export(rows)["faces"]


def test_landmarks_option_rounds_2d_to_a_hundredth_of_a_pixel_or_leaves_them_out():
    rows = random_rows(5, seed=32, with_landmarks=True)
    two_d = export(rows, {**META, "landmarks": "2d"})
    assert two_d["landmarks"] == "2d"
    for face, row in zip(two_d["faces"], rows):
        assert np.abs(np.array(face["landmarks_2d"]) - row.landmarks_2d).max() <= 0.005 + 1e-9
        assert face["landmarks_3d"] is None and np.array_equal(np.array(face["R"]), row.R)  # poses stay exact
    assert all(
        f["landmarks_2d"] is None and f["landmarks_3d"] is None
        for f in export(rows, {**META, "landmarks": "none"})["faces"]
    )
