"""`csv` export (and label_rows.write_csv) read back with csv.DictReader."""

import csv
import io

import numpy as np

from workers.core.exports import write_export
from workers.core.label_rows import CSV_COLUMNS, LabelRow, write_csv

from .factories import META, angle_difference, random_rows, scipy_euler

ORIGINAL_COLUMNS = (
    ["image", "face_index", "yaw", "pitch", "roll"]
    + [f"r{i}{j}" for i in range(3) for j in range(3)]
    + ["tx", "ty", "tz", "origin", "origin_detail"]
)


def export(rows):
    out = io.BytesIO()
    assert write_export("csv", rows, out, META) == len(rows)
    assert not out.closed  # the writer leaves the caller's stream open
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))


def test_it_keeps_the_original_columns_first_and_appends_ids():
    out = io.StringIO()
    write_csv([], out)
    header = next(csv.reader(io.StringIO(out.getvalue())))
    assert header[: len(ORIGINAL_COLUMNS)] == ORIGINAL_COLUMNS
    assert header[len(ORIGINAL_COLUMNS) :] == ["image_id", "face_id", "sequence", "frame_index", "track_label"]
    assert header == list(CSV_COLUMNS)


def test_frames_of_a_sequence_carry_sequence_frame_index_and_track_label():
    rows = random_rows(3, seed=13, faces_per_image=(1, 2))
    rows[1].sequence, rows[1].frame_index, rows[1].track_label = "take,1", 7, "interpolated"
    got = export(rows)
    assert [(g["sequence"], g["frame_index"], g["track_label"]) for g in got] == [
        ("", "", ""),
        ("take,1", "7", "interpolated"),
        ("", "", ""),
    ]


def test_rows_read_back_with_exact_pose_and_scipy_angles():
    rows = random_rows(50, seed=11, t_missing_every=5)
    got = export(rows)
    assert len(got) == len(rows)
    for line, row in zip(got, rows):
        assert (line["image"], int(line["face_index"])) == (row.image, row.face_index)
        R = np.array([float(line[f"r{i}{j}"]) for i in range(3) for j in range(3)]).reshape(3, 3)
        assert np.array_equal(R, row.R)  # repr: bit for bit
        euler = [float(line["yaw"]), float(line["pitch"]), float(line["roll"])]
        assert np.abs(angle_difference(euler, scipy_euler(row.R))).max() < 1e-6
        if row.t is None:
            assert line["tx"] == line["ty"] == line["tz"] == ""
        else:
            assert np.array_equal([float(line["tx"]), float(line["ty"]), float(line["tz"])], row.t)
        assert (line["origin"], line["origin_detail"]) == (row.origin, row.origin_detail)
        assert (int(line["image_id"]), int(line["face_id"])) == (row.image_id, row.face_id)


def test_names_needing_quotes_round_trip():
    rows = random_rows(3, seed=12, names=["a,b.jpg", 'say "hi".jpg', "two\nlines.jpg"])
    rows[0].origin_detail = 'proposer,"x"@1'
    got = export(rows)
    assert [line["image"] for line in got] == [r.image for r in rows]
    assert got[0]["origin_detail"] == 'proposer,"x"@1'


def test_old_style_rows_still_work_with_a_text_stream():
    # the call shape of annotator/selectors.py and export_labels: six positional fields, TextIO
    R = np.eye(3)
    rows = [
        LabelRow("img.jpg", 0, R, np.array([1.0, 2.0, 500.0]), "ground_truth", "aflw"),
        LabelRow("img.jpg", 1, list(R.reshape(9)), None, "proposal", "p@1"),
    ]
    out = io.StringIO()
    assert write_csv(rows, out) == 2
    got = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert got[0]["tz"] == "500.0" and got[1]["tz"] == "" and got[1]["r11"] == "1.0"
    assert got[0]["image_id"] == "" and got[0]["origin_detail"] == "aflw"
    assert float(got[0]["yaw"]) == 0.0


def test_progress_is_reported_per_chunk():
    rows = random_rows(2600, seed=13, faces_per_image=(2, 3))
    seen = []
    write_export("csv", rows, io.BytesIO(), META, on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(rows) and len(seen) >= 2
