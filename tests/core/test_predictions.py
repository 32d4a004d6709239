"""Prediction-file parsing: accepted forms, and every rejection by its message."""

import codecs
import json
import math

import numpy as np
import pytest

from tests.conftest import require_shared
from workers.core.metrics import evaluate
from workers.core.predictions import PredictionFileError, parse_predictions

IDS = ["a", "b", "c", "d"]


def ry(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rejected(data, *args, **kwargs) -> PredictionFileError:
    with pytest.raises(PredictionFileError) as info:
        parse_predictions(data, *args, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value


def csv_bytes(*lines):
    return ("\n".join(lines) + "\n").encode()


# ---- accepted forms ----------------------------------------------------------


def test_csv_euler():
    p = parse_predictions(csv_bytes("id,yaw,pitch,roll", "a,10,0,0", "b,0,0,30"), "p.csv", expected_ids=IDS[:2])
    assert p.ids == ["a", "b"] and p.format == "csv" and p.kind == "euler"
    assert p.R[0] == pytest.approx(ry(10))  # +yaw is Ry(yaw)
    assert p.R[1] == pytest.approx(rz(30))  # +roll is Rz(roll)
    assert p.euler.tolist() == [[10, 0, 0], [0, 0, 30]]
    assert (p.coverage.matched, p.coverage.expected, p.coverage.missing) == (2, 2, 0)
    assert p.warnings == []


def test_csv_matrix_row_major_semicolons_bom_and_extra_column():
    r = rz(30)
    header = "sample_id;" + ";".join(f"r{i}{j}" for i in range(3) for j in range(3)) + ";score"
    row = "c;" + ";".join(repr(v) for v in r.ravel()) + ";0.9"
    p = parse_predictions(b"\xef\xbb\xbf" + csv_bytes(header, row), "p.csv", expected_ids=IDS)
    assert p.kind == "matrix" and p.euler is None
    assert p.R[0] == pytest.approx(r)  # row-major: r01 = -sin 30
    assert p.R[0][0, 1] == pytest.approx(-0.5)
    assert any("ignored column(s): score" in w for w in p.warnings)


def test_partial_coverage_is_reported_with_alignment():
    p = parse_predictions(csv_bytes("ID, Yaw ,pitch,roll", "d,1,2,3", "b,4,5,6"), "x.csv", expected_ids=IDS)
    assert p.coverage.to_dict() == {"matched": 2, "expected": 4, "missing": 2, "fraction": 0.5}
    assert p.missing_ids == ["a", "c"]
    assert p.expected_index.tolist() == [3, 1]
    assert any("partial coverage: 2 of 4 benchmark ids (50.0%); 2 missing, e.g. 'a', 'c'" in w for w in p.warnings)
    json.dumps(p.summary())


@pytest.mark.parametrize(
    "doc",
    [
        [{"id": "a", "yaw": 10, "pitch": 0, "roll": 0}],
        {"predictions": [{"id": "a", "yaw": 10, "pitch": 0, "roll": 0}], "method": "mine"},
        {"a": {"yaw": 10, "pitch": 0, "roll": 0}},
        [{"id": "a", "R": ry(10).ravel().tolist()}],
        [{"id": "a", "R": ry(10).tolist()}],
    ],
)
def test_json_forms(doc):
    p = parse_predictions(json.dumps(doc).encode(), "p.json", expected_ids=IDS)
    assert p.ids == ["a"] and p.format == "json"
    assert p.R[0] == pytest.approx(ry(10))


def test_format_sniffed_without_name_or_by_content_type():
    doc = json.dumps([{"id": 1, "yaw": 0, "pitch": 0, "roll": 0}]).encode()
    assert parse_predictions(doc).format == "json"
    assert parse_predictions(doc, "upload.bin", "application/json").ids == ["1"]
    assert parse_predictions(csv_bytes("id,yaw,pitch,roll", "a,0,0,0"), None, "text/csv").format == "csv"


def test_near_rotation_is_projected_with_warning():
    r = np.round(rz(37), 3)  # printed with 3 decimals: about 1e-3 off orthonormal
    assert np.abs(r @ r.T - np.eye(3)).max() > 1e-4
    p = parse_predictions(json.dumps([{"id": "a", "R": r.tolist()}]).encode(), "p.json")
    assert p.R[0] @ p.R[0].T == pytest.approx(np.eye(3), abs=1e-12)
    assert p.R[0] == pytest.approx(rz(37), abs=1e-3)
    assert any("nearest rotation" in w for w in p.warnings)


def test_unknown_ids_allowed_are_dropped():
    p = parse_predictions(
        csv_bytes("id,yaw,pitch,roll", "a,1,0,0", "zz,2,0,0", "b,3,0,0"),
        "p.csv",
        expected_ids=IDS,
        allow_unknown_ids=True,
    )
    assert p.ids == ["a", "b"] and p.euler[:, 0].tolist() == [1, 3] and len(p.R) == 2
    assert any("1 id(s) not in the benchmark were ignored, e.g. 'zz'" in w for w in p.warnings)


# ---- rejections, each by message ---------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\n "])
def test_empty_file(data):
    assert "file is empty" in str(rejected(data, "p.csv"))


def test_undecodable_bytes():
    assert "not UTF-8 text (undecodable byte 0xff at offset 3)" in str(rejected(b"id,\xff\xfe,", "p.csv"))


def test_binary_with_nul_bytes():
    assert "NUL bytes" in str(rejected(b"id\x00yaw", "p.csv"))


def test_too_large():
    msg = str(rejected(csv_bytes("id,yaw,pitch,roll", "a,0,0,0"), "p.csv", max_bytes=10))
    assert "too large: 26 bytes, the limit is 10 bytes" in msg


def test_not_bytes():
    assert "expected the file's bytes, got str" in str(rejected("id,yaw", "p.csv"))


def test_csv_missing_id_column():
    assert "missing id column" in str(rejected(csv_bytes("name,yaw,pitch,roll", "a,0,0,0"), "p.csv"))


def test_csv_missing_pose_columns():
    assert "missing pose columns" in str(rejected(csv_bytes("id,score", "a,0"), "p.csv"))


def test_csv_missing_one_column():
    assert "missing column(s) roll for the euler form" in str(rejected(csv_bytes("id,yaw,pitch", "a,0,0"), "p.csv"))
    msg = str(rejected(csv_bytes("id,r00,r01", "a,1,0"), "p.csv"))
    assert "missing column(s) r02, r10, r11, r12, r20, r21, r22 for the matrix form" in msg


def test_csv_both_forms():
    head = "id,yaw,pitch,roll," + ",".join(f"r{i}{j}" for i in range(3) for j in range(3))
    assert "both yaw/pitch/roll and r00..r22" in str(rejected(csv_bytes(head), "p.csv"))


def test_csv_repeated_column():
    assert "header repeats column(s) yaw" in str(rejected(csv_bytes("id,yaw,yaw,pitch,roll"), "p.csv"))


def test_csv_wrong_field_count_and_non_number_with_line_numbers():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "a,0,0,0", "b,0,0", "c,0,x,0", ",1,2,3"), "p.csv")
    assert "line 3: 3 fields, the header has 4" in str(err)
    assert "line 4 (id 'c'): pitch: 'x' is not a number" in str(err)
    assert "line 5: empty id" in str(err)
    assert len(err.problems) == 3 and str(err).startswith("prediction file rejected, 3 problems: ")


def test_csv_header_only():
    assert "header but no prediction rows" in str(rejected(csv_bytes("id,yaw,pitch,roll"), "p.csv"))


def test_nan_and_inf():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "a,nan,0,0", "b,0,inf,0", "c,1,2,3"), "p.csv")
    assert "line 2 (id 'a'): NaN or infinite value" in str(err)
    assert "line 3 (id 'b'): NaN or infinite value" in str(err)
    err = rejected(b'[{"id": "a", "yaw": NaN, "pitch": 0, "roll": 0}]', "p.json")
    assert "item 1 (id 'a'): NaN or infinite value" in str(err)


def test_angle_out_of_range():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "a,0,0,180", "b,190,0,-200"), "p.csv")
    assert len(err.problems) == 1
    assert "line 3 (id 'b'): angle out of range [-180, 180] degrees (yaw=190, roll=-200)" in str(err)


def test_not_a_rotation():
    scaled = (2 * np.eye(3)).ravel().tolist()
    mirror = np.diag([1.0, 1.0, -1.0]).ravel().tolist()
    err = rejected(json.dumps([{"id": "a", "R": scaled}, {"id": "b", "R": mirror}]).encode(), "p.json")
    assert "item 1 (id 'a'): R is not a rotation (max |R R^T - I| = 3, det = 8; tolerance 0.01)" in str(err)
    assert "item 2 (id 'b'): R is not a rotation (a reflection (det < 0)" in str(err)


def test_duplicates():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "a,0,0,0", "b,0,0,0", "a,1,0,0"), "p.csv")
    assert "line 4: duplicate id 'a' (first at line 2)" in str(err)


def test_unknown_ids():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "a,0,0,0", "zz,0,0,0"), "p.csv", expected_ids=IDS)
    assert "line 3: unknown id 'zz' (not in the benchmark)" in str(err)


def test_no_id_matches():
    err = rejected(csv_bytes("id,yaw,pitch,roll", "frame_1.png,0,0,0"), "p.csv", expected_ids=IDS)
    assert (
        "none of the 1 ids match the benchmark's 4 ids (file ids look like 'frame_1.png', "
        "expected ids look like 'a')" in str(err)
    )


def test_message_lists_first_problems_then_counts_the_rest():
    lines = ["id,yaw,pitch,roll"] + [f"s{k},x,0,0" for k in range(25)]
    err = rejected(csv_bytes(*lines), "p.csv", max_listed=3)
    assert len(err.problems) == 25
    msg = str(err)
    assert msg.startswith("prediction file rejected, 25 problems: line 2 (id 's0'): yaw: 'x' is not a number; ")
    assert "line 4 (id 's2')" in msg and "line 5 " not in msg
    assert msg.endswith("; ... and 22 more")


@pytest.mark.parametrize(
    "text, message",
    [
        ('[{"id": "a", "yaw": 0,', "invalid JSON at line 1 column"),
        ("42", "JSON must be a list of records"),
        ('["a"]', "item 1: expected an object, got str"),
        ('[{"yaw": 0, "pitch": 0, "roll": 0}]', "item 1: missing or empty id"),
        ('[{"id": true, "yaw": 0, "pitch": 0, "roll": 0}]', "item 1: missing or empty id"),
        ('[{"id": "a", "yaw": 0, "pitch": 0}]', "item 1 (id 'a'): missing roll (or give R)"),
        (
            '[{"id": "a", "yaw": "1", "pitch": null, "roll": false}]',
            "item 1 (id 'a'): yaw must be a number, not str '1' (and 2 more)",
        ),
        ('[{"id": "a", "R": [1, 0, 0]}]', "item 1 (id 'a'): R must be 9 numbers (row-major) or a 3x3 list"),
        ('[{"id": "a", "R": [[1, 0, 0], [0, 1, 0], [0, 0, "1"]]}]', "R[8] must be a number, not str '1'"),
        ('[{"id": "a", "R": [1,0,0,0,1,0,0,0,1], "yaw": 0}]', "item 1 (id 'a'): has both R and yaw/pitch/roll"),
        (
            '[{"id": "a", "yaw": 0, "pitch": 0, "roll": 0}, {"id": "b", "R": [1,0,0,0,1,0,0,0,1]}]',
            "item 2 (id 'b'): uses the matrix form but earlier records use the euler form",
        ),
        ("[]", "file has no prediction rows"),
    ],
)
def test_json_rejections(text, message):
    assert message in str(rejected(text.encode(), "p.json"))


def test_biwi_protocol1_csv_end_to_end():
    path = require_shared("data", "biwi", "protocol1_annotations.txt")
    rows = [line.split() for line in path.read_text().splitlines()]
    names = [r[0] for r in rows]
    gt = np.array([[float(r[2]), float(r[1]), float(r[3])] for r in rows])  # file: pitch yaw roll
    rng = np.random.default_rng(11)
    noise = rng.normal(0, 2.0, gt.shape)
    drop = 100  # the first 100 frames have no prediction
    pred = gt[drop:] + noise[drop:]
    lines = ["id,yaw,pitch,roll"] + [f"{n},{y!r},{p!r},{r!r}" for n, (y, p, r) in zip(names[drop:], pred)]
    p = parse_predictions(csv_bytes(*lines), "biwi.csv", expected_ids=names)
    assert p.coverage.to_dict()["matched"] == 13219 - drop and p.coverage.missing == drop
    out = evaluate(p.euler, gt[p.expected_index])
    assert out["count"] == 13219 - drop
    assert out["mae_pitch"] == pytest.approx(np.abs(noise[drop:, 1]).mean(), abs=1e-9)


# ---- tolerant decoding, line endings, researchers' id columns ---------------------

ROWS = ["id,yaw,pitch,roll", "a,10,0,0", "b,0,5,0"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-32"])
def test_any_line_ending_and_bom_encoding(newline, encoding):
    text = newline.join(ROWS) + newline
    if encoding == "utf-16-le-bom":
        data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    p = parse_predictions(data, "p.csv", expected_ids=["a", "b"])
    assert p.ids == ["a", "b"] and p.euler[:, 1].tolist() == [0, 5]


def test_json_in_utf16_with_bom():
    data = json.dumps([{"id": "a", "yaw": 1, "pitch": 2, "roll": 3}]).encode("utf-16")
    assert parse_predictions(data, "p.json", expected_ids=["a"]).ids == ["a"]


def test_utf16_without_bom_is_refused_clearly():
    data = "\n".join(ROWS).encode("utf-16-le")
    assert "UTF-16 without a byte-order mark" in str(rejected(data, "p.csv"))


def test_latin1_is_refused_naming_the_encoding_to_use():
    msg = str(rejected("id,yaw,pitch,roll\ncafé,1,2,3\n".encode("latin-1"), "p.csv"))
    assert "not UTF-8 text" in msg and "save it as UTF-8" in msg


def test_a_bom_that_lies_is_refused():
    assert "nor valid UTF-16 although it starts with a UTF-16 byte-order mark" in str(
        rejected(codecs.BOM_UTF16_LE + b"a\xd8", "p.csv")
    )


def test_csv_field_over_the_field_limit_names_the_limit():
    msg = str(rejected(csv_bytes("id,yaw,pitch,roll", "a," + "1" * 200_000 + ",0,0"), "p.csv"))
    assert "line 2: a field is longer than 131,072 characters (the limit)" in msg


def test_too_many_rows_names_the_limit():
    msg = str(rejected(csv_bytes("id,yaw,pitch,roll", "a,1,0,0", "b,1,0,0", "c,1,0,0"), "p.csv", max_rows=2))
    assert "more than 2 (the limit is 2 rows)" in msg
    doc = json.dumps([{"id": i, "yaw": 0, "pitch": 0, "roll": 0} for i in "abc"]).encode()
    assert "too many records: 3 (the limit is 2 rows)" in str(rejected(doc, "p.json", max_rows=2))


@pytest.mark.parametrize("depth", [65, 50_000])
def test_deeply_nested_json_is_refused_without_recursion(depth):
    msg = str(rejected(b"[" * depth + b"]" * depth, "p.json"))
    assert "JSON nested deeper than 64 levels (the limit)" in msg


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    doc = json.dumps([{"id": "a" + "[" * 100 + '\\"', "yaw": 1, "pitch": 2, "roll": 3}]).encode()
    assert parse_predictions(doc, "p.json").ids == ["a" + "[" * 100 + '\\"']


@pytest.mark.parametrize("column", ["image", "file", "filename", "Image", "sample_id", "id"])
def test_researchers_id_columns(column):
    p = parse_predictions(csv_bytes(f"{column},yaw,pitch,roll", "a,1,0,0"), "p.csv", expected_ids=["a"])
    assert p.ids == ["a"]
    doc = json.dumps([{column.lower(): "a", "yaw": 1, "pitch": 0, "roll": 0}]).encode()
    assert parse_predictions(doc, "p.json", expected_ids=["a"]).ids == ["a"]


def test_two_id_columns_are_refused():
    assert "several id columns (id, image); keep one" in str(rejected(csv_bytes("id,image,yaw,pitch,roll"), "p.csv"))


AFLW = ["image00002.jpg", "image00004.jpg"]
BIWI = ["hpdb/01/frame_00003_rgb.png", "hpdb/02/frame_00003_rgb.png"]


@pytest.mark.parametrize(
    "given, expected, matched",
    [
        ("image00002", AFLW, "image00002.jpg"),
        ("image00002.png", AFLW, "image00002.jpg"),
        ("AFLW2000/image00002.jpg", AFLW, "image00002.jpg"),
        ("C:\\data\\AFLW2000\\image00002.jpg", AFLW, "image00002.jpg"),
        ("01/frame_00003_rgb.png", BIWI, "hpdb/01/frame_00003_rgb.png"),
        ("/data/biwi/hpdb/02/frame_00003_rgb", BIWI, "hpdb/02/frame_00003_rgb.png"),
    ],
)
def test_ids_with_a_path_or_extension_match_their_sample(given, expected, matched):
    p = parse_predictions(csv_bytes("image,yaw,pitch,roll", f"{given},1,0,0"), "p.csv", expected_ids=expected)
    assert p.ids == [matched] and p.coverage.matched == 1
    assert any(f"matched by file name, e.g. {given!r} -> {matched!r}" in w for w in p.warnings)


def test_an_ambiguous_ending_asks_for_more_of_the_path():
    msg = str(rejected(csv_bytes("image,yaw,pitch,roll", "frame_00003_rgb.png,1,0,0"), "p.csv", expected_ids=BIWI))
    assert "names several benchmark samples (by its ending 'frame_00003_rgb'); give more of the path" in msg


def test_two_ids_naming_the_same_sample_are_duplicates():
    msg = str(
        rejected(
            csv_bytes("image,yaw,pitch,roll", "image00002.jpg,1,0,0", "x/image00002.png,1,0,0"),
            "p.csv",
            expected_ids=AFLW,
        )
    )
    assert "duplicate id 'image00002.jpg'" in msg


# ---- numbers of any size (issue 24) ------------------------------------------------


@pytest.mark.parametrize(
    "data, name, message",
    [
        (
            b'[{"id": "a", "yaw": ' + b"7" * 350 + b', "pitch": 0, "roll": 0}]',
            "p.json",
            "item 1 (id 'a'): yaw = an integer of 350 digits is too large for a number",
        ),
        (
            b'{"b": {"R": [[' + b"3" * 320 + b", 0, 0], [0, 1, 0], [0, 0, 1]]}}",
            "p.json",
            "item 1 (id 'b'): R[0] = an integer of 320 digits is too large",
        ),
        (
            b'[{"id": "a", "yaw": 0, "pitch": -' + b"4" * 6000 + b', "roll": 0}]',
            "p.json",
            "invalid JSON: a number of 6,000 digits (the most a JSON integer may have is 4,300)",
        ),
        (b"id,yaw,pitch,roll\na,0," + b"6" * 7000 + b",0\n", "p.csv", "line 2 (id 'a'): pitch = 66666"),
        (b"id,yaw,pitch,roll\na,0,2_5,0\n", "p.csv", "line 2 (id 'a'): pitch: '2_5' is not a number"),
    ],
)
def test_numbers_too_large_or_malformed_are_named_problems(data, name, message):
    err = rejected(data, name, expected_ids=IDS)
    assert message in str(err), str(err)
    assert len(str(err)) < 400  # the digits are not echoed back


def test_a_json_r_of_three_rows_and_nan_rows_are_still_read_and_named():
    p = parse_predictions(b'[{"id": "a", "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}]', "p.json", expected_ids=IDS)
    assert p.R[0] == pytest.approx(np.eye(3))
    assert "NaN or infinite value" in str(rejected(b'[{"id": "a", "yaw": NaN, "pitch": 0, "roll": 0}]', "p.json"))
