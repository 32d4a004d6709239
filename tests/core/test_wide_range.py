"""Yaw beyond +-90 (WHENet's range, the back of the head) end to end in the core
(issue 17): the angles, the metrics, the exports, and proposers that give no
pose rather than a frontal one for a view without a face."""

import io
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tests.core.exports.factories import META, random_rows
from workers.core import geometry
from workers.core.exports import write_export
from workers.core.metrics import angle_errors, evaluate

BACK = [150.0, 0.0, 0.0]  # the head turned 150 deg: the camera sees its back


def test_wide_angles_keep_a_yaw_past_profile():
    R = geometry.euler_to_matrix(BACK)
    np.testing.assert_allclose(geometry.matrix_to_euler_wide(R), BACK, atol=1e-9)
    # the [-90, 90] angles of the same rotation are another triple, not the yaw
    e = geometry.matrix_to_euler(R)
    assert e[0] == pytest.approx(30.0) and np.allclose(np.abs(e[1:]), 180.0)
    rng = np.random.default_rng(3)
    Rs = Rotation.random(2000, random_state=rng).as_matrix()
    wide = geometry.matrix_to_euler_wide(Rs)
    np.testing.assert_allclose(geometry.euler_to_matrix(wide), Rs, atol=1e-12)
    assert np.abs(wide[:, 1]).max() <= 90 + 1e-9 and np.abs(wide).max() <= 180 + 1e-9
    # independent: the facing direction's azimuth (nose = -z head axis) is the yaw when pitch and roll are 0
    for yaw in (-179.0, -120.0, 95.0, 135.0, 180.0):
        R = geometry.euler_to_matrix([yaw, 0.0, 0.0])
        nose = R @ [0.0, 0.0, -1.0]
        assert (
            abs(((geometry.matrix_to_euler_wide(R)[0] - np.degrees(np.arctan2(-nose[0], -nose[2]))) + 180) % 360 - 180)
            < 1e-9
        )


def test_wide_errors_for_the_back_of_the_head():
    gt = geometry.euler_to_matrix([BACK, [179.0, 5.0, 0.0]])
    pred = geometry.euler_to_matrix([[140.0, 3.0, -2.0], [-179.0, 5.0, 0.0]])
    e = angle_errors(geometry.matrix_to_euler(pred), geometry.matrix_to_euler(gt), "wide")
    np.testing.assert_allclose(e, [[10.0, 3.0, 2.0], [2.0, 0.0, 0.0]], atol=1e-9)
    out = evaluate(pred, gt, definition="wide")
    assert out["mae_yaw_wide"] == pytest.approx(6.0) and out["angle_error_definition"] == "wide"
    # the back of the head is counted past 90 deg of yaw, not in the frontal bins
    last = out["yaw_bins"][-1]
    assert last["label"] == "over 90" and last["count"] == 2
    # the geodesic error agrees with scipy
    ref = [np.degrees((Rotation.from_matrix(a).inv() * Rotation.from_matrix(b)).magnitude()) for a, b in zip(pred, gt)]
    np.testing.assert_allclose([out["geodesic_max"], out["geodesic_median"]], [max(ref), np.median(ref)], atol=1e-9)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_exports_keep_a_back_of_head_pose_exactly(fmt):
    row = random_rows(1, seed=5, faces_per_image=(1, 2))[0]
    row.R = geometry.euler_to_matrix(BACK)
    out = io.BytesIO()
    assert write_export(fmt, [row], out, META) == 1
    text = out.getvalue().decode("utf-8")
    if fmt == "json":
        R = np.array(json.loads(text)["faces"][0]["R"], dtype=float).reshape(3, 3)
    else:
        import csv

        rec = next(csv.DictReader(io.StringIO(text)))
        R = np.array([float(rec[f"r{i}{j}"]) for i in range(3) for j in range(3)]).reshape(3, 3)
    np.testing.assert_allclose(R, row.R, atol=1e-12)
    assert geometry.matrix_to_euler_wide(R)[0] == pytest.approx(150.0)


def test_no_proposer_gives_a_frontal_pose_without_a_face(weights_dir):
    """A view with no face (here: the back of a head is all hair, modelled as a
    smooth dark blob with no facial features) gets no proposal, never a frontal one."""
    from workers.core.formats.aflw2000 import model_intrinsics
    from workers.core.proposers import create_proposer

    yy, xx = np.mgrid[0:320, 0:320]
    blob = ((xx - 160) ** 2 / 90**2 + (yy - 170) ** 2 / 120**2) < 1
    img = np.full((320, 320, 3), 200, np.uint8)
    img[blob] = (30, 35, 45)
    rng = np.random.default_rng(0)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    for name in ("landmarks-fit", "fused"):
        props = create_proposer(name, weights_dir=weights_dir).propose([img], [model_intrinsics(320, 320)])
        assert props == [[]], name
