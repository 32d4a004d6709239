"""Metrics against hand computations and BIWI protocol 1 at full scale.

Expected numbers are worked out by hand (or with plain trigonometry written here),
never by the code under test. Elementary matrices are spelled out below on purpose:
they are the independent reference for the convention in POSE_CONVENTIONS.md.
"""

import json
import math

import numpy as np
import pytest

from tests.conftest import require_shared
from workers.core import geometry
from workers.core.metrics import (
    MetricsError,
    angle_errors,
    cumulative_curve,
    evaluate,
    vector_errors,
)


def rx(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


I3 = np.eye(3)


def test_ten_degrees_of_yaw_about_one_axis():
    # +yaw is R = Ry(yaw): 10 deg of yaw, nothing else
    out = evaluate(np.array([ry(10)]), np.array([I3]))
    assert out["count"] == 1
    assert out["mae_yaw"] == pytest.approx(10)
    assert out["mae_pitch"] == pytest.approx(0, abs=1e-9)
    assert out["mae_roll"] == pytest.approx(0, abs=1e-9)
    assert out["mae_mean"] == pytest.approx(10 / 3)
    assert out["geodesic_mean"] == pytest.approx(10)
    assert out["geodesic_median"] == pytest.approx(10)
    # Ry turns the head x and z axes by 10 deg and leaves y (to the chin) alone
    assert out["maev_x"] == pytest.approx(10)
    assert out["maev_y"] == pytest.approx(0, abs=1e-9)
    assert out["maev_z"] == pytest.approx(10)
    assert out["maev_mean"] == pytest.approx(20 / 3)


def test_pitch_and_roll_signs_and_means_over_samples():
    # pitch p is Rx(-p); roll r is Rz(r). Errors: (0,20,0) and (0,0,30).
    pred = np.array([rx(-20), rz(-30)])
    gt = np.array([I3, I3])
    out = evaluate(pred, gt, per_sample=True)
    assert out["mae_yaw"] == pytest.approx(0, abs=1e-9)
    assert out["mae_pitch"] == pytest.approx(10)
    assert out["mae_roll"] == pytest.approx(15)
    assert out["mae_mean"] == pytest.approx(25 / 3)
    assert out["geodesic_mean"] == pytest.approx(25)
    assert out["geodesic_median"] == pytest.approx(25)
    ps = out["per_sample"]
    assert ps["pitch_pred"] == pytest.approx([20, 0], abs=1e-9)
    assert ps["roll_pred"] == pytest.approx([0, -30], abs=1e-9)
    assert ps["err_mean"] == pytest.approx([20 / 3, 10])
    assert ps["geodesic"] == pytest.approx([20, 30])


def test_euler_input_equals_matrix_input():
    gt_e = np.array([[10.0, -5.0, 3.0], [-40.0, 20.0, -15.0]])
    pred_e = gt_e + np.array([[2.0, -1.0, 0.5], [-3.0, 4.0, 1.0]])
    a = evaluate(pred_e, gt_e)
    b = evaluate(geometry.euler_to_matrix(pred_e), geometry.euler_to_matrix(gt_e).reshape(2, 9))
    assert a["mae_yaw"] == pytest.approx((2 + 3) / 2)
    assert a["mae_pitch"] == pytest.approx((1 + 4) / 2)
    assert a["mae_roll"] == pytest.approx((0.5 + 1) / 2)
    for key in ("mae_yaw", "mae_pitch", "mae_roll", "geodesic_mean", "maev_mean"):
        assert a[key] == pytest.approx(b[key], abs=1e-9)


def test_wrap_around_plain_versus_wrapped():
    e = angle_errors([[-179.0, 0, 0]], [[179.0, 0, 0]], "plain")
    assert e.tolist() == [[358.0, 0.0, 0.0]]
    e = angle_errors([[-179.0, 0, 0]], [[179.0, 0, 0]], "wrapped")
    assert e[0] == pytest.approx([2, 0, 0])


def test_wrapped_is_lenient_by_180():
    # off by exactly 180 counts as no error at all, and 170 off counts as 10
    assert angle_errors([[-170.0, 0, 0]], [[10.0, 0, 0]], "plain")[0, 0] == pytest.approx(180)
    assert angle_errors([[-170.0, 0, 0]], [[10.0, 0, 0]], "wrapped")[0, 0] == pytest.approx(0)
    assert angle_errors([[170.0, 0, 0]], [[0.0, 0, 0]], "wrapped")[0, 0] == pytest.approx(10)
    # no wrapped error can exceed 90
    d = np.linspace(-360, 360, 721)[:, None] * np.ones(3)
    assert angle_errors(d, np.zeros_like(d), "wrapped").max() == pytest.approx(90)


def test_wrap_around_through_matrices_and_key_naming():
    # roll 179 vs -179 (Rz): 2 deg apart on the sphere
    out = evaluate(np.array([rz(-179)]), np.array([rz(179)]), definition="wrapped")
    assert out["angle_error_definition"] == "wrapped"
    assert out["mae_roll_plain"] == pytest.approx(358)
    assert out["mae_roll_wrapped"] == pytest.approx(2)
    assert out["mae_roll"] == pytest.approx(2)
    assert out["mae_mean"] == pytest.approx(2 / 3)
    assert out["mae_mean_plain"] == pytest.approx(358 / 3)
    assert out["geodesic_mean"] == pytest.approx(2)
    plain = evaluate(np.array([rz(-179)]), np.array([rz(179)]))
    assert plain["mae_roll"] == pytest.approx(358)
    # the leniency: upside down (roll off by 180) is 0 wrapped but 180 geodesic
    out = evaluate(np.array([rz(-170)]), np.array([rz(10)]), definition="wrapped")
    assert out["mae_roll"] == pytest.approx(0, abs=1e-9)
    assert out["geodesic_mean"] == pytest.approx(180)


def test_accuracy_thresholds_geodesic_and_per_angle():
    # geodesic errors 4, 9, 20; the fourth rotates 4 deg of yaw and 4 of pitch
    pred = np.array([ry(4), rz(9), rx(20), rx(-4) @ ry(4)])
    gt = np.array([I3] * 4)
    c = math.cos(math.radians(4))
    # trace(Rx(a) Ry(b)) = cos b + cos a cos b + cos a
    combo = math.degrees(math.acos((2 * c + c * c - 1) / 2))
    assert 5 < combo < 6
    out = evaluate(pred, gt)
    assert out["geodesic_max"] == pytest.approx(20)
    assert out["acc_5"] == pytest.approx(1 / 4)  # only the 4 deg
    assert out["acc_10"] == pytest.approx(3 / 4)  # 4, 9 and the combination
    assert out["acc_15"] == pytest.approx(3 / 4)
    # by the largest of the three angle errors the combination is within 5
    assert out["acc_euler_5"] == pytest.approx(2 / 4)
    assert out["acc_euler_10"] == pytest.approx(3 / 4)
    assert out["geodesic_median"] == pytest.approx((combo + 9) / 2)
    out = evaluate(pred, gt, thresholds=(2.5, 30))
    assert out["acc_2_5"] == 0.0 and out["acc_30"] == 1.0


def test_yaw_bins():
    gt_yaw = np.array([0, 29.9, -20, 30, 45, 60, -89, 90, -95])
    err = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    gt = np.stack([gt_yaw, np.zeros(9), np.zeros(9)], 1)
    pred = gt + np.stack([err, np.zeros(9), 2 * err], 1)
    bins = evaluate(pred, gt)["yaw_bins"]
    assert [b["label"] for b in bins] == ["0-30", "30-60", "60-90", "over 90"]
    assert [b["count"] for b in bins] == [3, 2, 2, 2]
    assert [b["mae_yaw"] for b in bins] == pytest.approx([2, 4.5, 6.5, 8.5])
    assert [b["mae_roll"] for b in bins] == pytest.approx([4, 9, 13, 17])
    assert [b["mae_mean"] for b in bins] == pytest.approx([2, 4.5, 6.5, 8.5])
    assert bins[3]["hi"] is None and bins[0]["lo"] == 0


def test_empty_yaw_bin_is_null_not_nan():
    out = evaluate([[1.0, 0, 0]], [[0.0, 0, 0]])
    assert [b["count"] for b in out["yaw_bins"]] == [1, 0, 0, 0]
    assert out["yaw_bins"][1]["mae_yaw"] is None
    json.dumps(out, allow_nan=False)


def test_vector_errors_columns_differ_from_rows():
    gt = ry(90)  # [[0,0,1],[0,1,0],[-1,0,0]]
    pred = gt @ rz(10)
    # columns: gt e_k versus gt Rz e_k -> angle between e_k and Rz e_k: 10, 10, 0
    assert vector_errors(pred[None], gt[None], "columns")[0] == pytest.approx([10, 10, 0], abs=1e-9)
    # rows: row i of gt is v_i = (0,0,1), (0,1,0), (-1,0,0); pred's is Rz^T v_i: 0, 10, 10
    assert vector_errors(pred[None], gt[None], "rows")[0] == pytest.approx([0, 10, 10], abs=1e-9)
    out = evaluate(pred[None], gt[None])
    assert [out["maev_x"], out["maev_y"], out["maev_z"]] == pytest.approx([10, 10, 0], abs=1e-9)
    assert out["vector_axes"] == "columns"


def test_vector_errors_match_6drepnet_row_indexing():
    # 6DRepNet: get_R(pitch, yaw, roll) = Rz(roll) Ry(yaw) Rx(pitch) (radians there),
    # MAEV from rows of that matrix via arccos of the dot product.
    rng = np.random.default_rng(3)
    gt_e = rng.uniform(-60, 60, (50, 3))
    pred_e = gt_e + rng.normal(0, 8, (50, 3))

    def get_r(e):
        return np.array([rz(r) @ ry(y) @ rx(p) for y, p, r in e])

    g6, p6 = get_r(gt_e), get_r(pred_e)
    ref = np.degrees(np.arccos(np.clip(np.sum(g6 * p6, axis=-1), -1, 1)))  # (50, 3) rows
    out = evaluate(pred_e, gt_e)
    assert [out["maev_x"], out["maev_y"], out["maev_z"]] == pytest.approx(ref.mean(axis=0), abs=1e-5)


def test_cumulative_curve():
    c = cumulative_curve([3.0, 1.0, 2.0])
    assert c == {"errors": [1.0, 2.0, 3.0], "fraction": pytest.approx([1 / 3, 2 / 3, 1.0])}
    c = cumulative_curve(np.arange(1000.0), max_points=11)
    assert len(c["errors"]) == 11 and c["errors"] == sorted(c["errors"])
    assert c["errors"][-1] == 999 and c["fraction"][-1] == 1.0 and c["fraction"][0] == pytest.approx(0.001)
    out = evaluate([[1.0, 0, 0], [3.0, 0, 0]], [[0.0, 0, 0]] * 2)
    assert out["curves"]["geodesic"]["errors"] == pytest.approx([1, 3])
    assert out["curves"]["angle_mean"]["errors"] == pytest.approx([1 / 3, 1])
    assert out["curves"]["angle_mean"]["fraction"] == pytest.approx([0.5, 1.0])


def test_result_is_json_and_per_sample_only_on_request():
    out = evaluate([[1.0, 2, 3]], [[0.0, 0, 0]])
    assert "per_sample" not in out
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["count"] == 1
    out = evaluate([[1.0, 2, 3]], [[0.0, 0, 0]], per_sample=True)
    assert out["per_sample"]["yaw_gt"] == [0.0]
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    "pred, gt, definition, message",
    [
        (np.zeros((2, 3)), np.zeros((3, 3)), "plain", "2 predictions but 3 ground-truth"),
        (np.zeros((2, 4)), np.zeros((2, 3)), "plain", "got shape (2, 4)"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "plain", "no samples"),
        (np.array([[np.nan, 0, 0]]), np.zeros((1, 3)), "plain", "contain NaN or inf, first at index 0"),
        (np.zeros((1, 3)), np.zeros((1, 3)), "hopenet", "unknown angle error definition"),
        ([["a", "b", "c"]], np.zeros((1, 3)), "plain", "not a numeric array"),
    ],
)
def test_bad_input_messages(pred, gt, definition, message):
    with pytest.raises(MetricsError) as info:
        evaluate(pred, gt, definition)
    assert message in str(info.value)


# ---- BIWI protocol 1, 13,219 frames ------------------------------------------


def load_biwi_p1():
    path = require_shared("data", "biwi", "protocol1_annotations.txt")
    names, rows = [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        names.append(parts[0])
        rows.append([float(v) for v in parts[1:]])
    pyr = np.array(rows)  # columns: pitch yaw roll
    return names, pyr[:, [1, 0, 2]]  # -> [yaw, pitch, roll]


def test_biwi_column_order():
    names, gt = load_biwi_p1()
    k = next(i for i, n in enumerate(names) if n.endswith("12/frame_00003_rgb.png"))
    # POSE_CONVENTIONS.md: sequence 12 frame 3 reads yaw 9.33, pitch -0.40, roll -6.39
    assert gt[k] == pytest.approx([9.33, -0.40, -6.39], abs=0.01)


def test_biwi_protocol1_full_scale():
    _names, gt = load_biwi_p1()
    n = len(gt)
    assert n == 13219
    rng = np.random.default_rng(20240601)
    noise = rng.normal(0.0, 4.0, gt.shape)
    gt_R = geometry.euler_to_matrix(gt)
    pred_R = geometry.euler_to_matrix(gt + noise)
    out = evaluate(pred_R, gt_R)
    assert out["count"] == 13219
    # a difference of angles lives on the circle: fold into [-180, 180) first
    folded = np.abs((noise + 180.0) % 360.0 - 180.0)
    expected = folded.mean(axis=0)
    assert [out["mae_yaw"], out["mae_pitch"], out["mae_roll"]] == pytest.approx(expected, abs=1e-6)
    assert out["mae_mean"] == pytest.approx(expected.mean(), abs=1e-6)
    assert out["mae_mean_wrapped"] == pytest.approx(expected.mean(), abs=1e-6)
    # and the sample is what a 4-degree normal gives: E|x| = 4 sqrt(2/pi) = 3.19
    assert expected == pytest.approx(4 * math.sqrt(2 / math.pi), abs=0.1)

    tr = np.einsum("nij,nij->n", pred_R, gt_R)  # trace(Rp^T Rg)
    geo = np.degrees(np.arccos(np.clip((tr - 1) / 2, -1, 1)))
    assert out["geodesic_mean"] == pytest.approx(geo.mean(), abs=1e-5)
    assert out["geodesic_median"] == pytest.approx(np.median(geo), abs=1e-5)
    assert out["acc_10"] == pytest.approx(np.mean(geo <= 10), abs=2 / n)

    ay = np.abs(gt[:, 0])
    counts = [np.sum(ay < 30), np.sum((ay >= 30) & (ay < 60)), np.sum((ay >= 60) & (ay < 90)), np.sum(ay >= 90)]
    assert [b["count"] for b in out["yaw_bins"]] == counts
    assert sum(counts) == n and counts[3] == 0
    assert out["yaw_bins"][1]["mae_yaw"] == pytest.approx(folded[(ay >= 30) & (ay < 60), 0].mean(), abs=1e-6)
    assert len(out["curves"]["geodesic"]["errors"]) <= 500
    json.dumps(out, allow_nan=False)


def test_biwi_full_scale_predictions_off_by_a_turn():
    # Euler predictions with every fifth roll shifted by a full turn: the plain
    # definition charges the turn, the wrapped one does not.
    _, gt = load_biwi_p1()
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 3.0, gt.shape)
    shift = np.zeros_like(gt)
    shift[::5, 2] = np.where(gt[::5, 2] > 0, -360.0, 360.0)
    out = evaluate(gt + noise + shift, gt, definition="wrapped")
    assert out["mae_roll"] == pytest.approx(np.abs(noise[:, 2]).mean(), abs=1e-9)
    assert out["mae_roll_plain"] == pytest.approx(np.abs(noise[:, 2] + shift[:, 2]).mean(), abs=1e-9)
    assert out["mae_roll_plain"] > 70
    assert out["mae_yaw_plain"] == pytest.approx(np.abs(noise[:, 0]).mean(), abs=1e-9)
