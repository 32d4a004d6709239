"""Off-frontal the landmark fit weighs less in 'fused' and says it is unsure on its own.

The per-regime degradation is a measured table (bench/landmarks_fit_by_yaw.py, the
fitting stage on AFLW2000-3D's 1,961 faces without images): recomputed here, so the
constants in fusion.py cannot drift from what the bench measures."""

import importlib

import numpy as np
import pytest

from tests.conftest import require_shared
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.proposers import fused
from workers.core.proposers.default import CONFIG as LF_CONFIG
from workers.core.proposers.default import LANDMARK_FIT_MAE_DEG, LandmarksFitProposer
from workers.core.proposers.parts import confidence, fusion
from workers.core.proposers.parts.detection import DetectedFace


@pytest.mark.parametrize(
    "euler, expected",
    [
        ([0.0, 0.0, 0.0], "frontal"),
        ([29.9, 19.9, 10.0], "frontal"),
        ([10.0, -25.0, 0.0], "pitched"),
        ([-30.5, 0.0, 0.0], "turned"),
        ([45.0, 30.0, 0.0], "turned"),
        ([-60.5, 0.0, 5.0], "profile"),
        ([88.0, 10.0, 0.0], "profile"),
        ([150.0, 0.0, 0.0], "profile"),
        ([-179.0, 5.0, 0.0], "profile"),
    ],
)
def test_each_pose_has_a_regime(euler, expected):
    R = geometry.euler_to_matrix(np.array(euler)) if abs(euler[0]) <= 90 else None
    if R is None:  # beyond +-90 deg: the back of the head, built directly (yaw about the head's y axis)
        a = np.radians(euler[0])
        R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        assert abs(geometry.matrix_to_euler_wide(R)[0]) > 90
    assert fusion.regime(R) == expected


def _independent_weighted_euler(eulers, maes):
    w = 1 / np.asarray(maes, dtype=float) ** 2
    return (w * np.asarray(eulers, dtype=float)).sum(0) / w.sum(0)


@pytest.mark.parametrize("base_yaw, face_regime", [(5.0, "frontal"), (40.0, "turned"), (65.0, "profile")])
def test_the_landmark_fit_weighs_less_off_frontal_as_measured(base_yaw, face_regime):
    names = ["landmarks-fit", "mobilenet-3dmm", "fsanet"]
    offsets = np.array([[0.8, -0.9, 0.7], [-0.3, 0.4, -0.2], [0.2, 0.6, -0.5]])
    eulers = np.array([base_yaw, -5.0, 3.0]) + offsets
    f = fusion.fuse(geometry.euler_to_matrix(eulers), names, fused.MODEL_MAE_DEG)
    assert f.regime == face_regime and f.kept == names
    factor = np.array(fusion.LANDMARK_FIT_DEGRADATION[face_regime])
    maes = [
        np.array(fused.MODEL_MAE_DEG["landmarks-fit"]) * factor,
        fused.MODEL_MAE_DEG["mobilenet-3dmm"],
        fused.MODEL_MAE_DEG["fsanet"],
    ]
    np.testing.assert_allclose(geometry.matrix_to_euler(f.R), _independent_weighted_euler(eulers, maes), atol=2e-2)
    # the combined expected error: per angle 1 / sqrt(sum 1 / MAE^2), averaged
    assert f.expected_deg == pytest.approx(np.mean([1 / np.sqrt(sum(1 / m[k] ** 2 for m in maes)) for k in range(3)]))
    if face_regime == "profile":
        flat = fusion.fuse(geometry.euler_to_matrix(eulers), names, fused.MODEL_MAE_DEG, degradation={})
        d_lf = np.abs(geometry.matrix_to_euler(f.R) - eulers[0])
        d_lf_flat = np.abs(geometry.matrix_to_euler(flat.R) - eulers[0])
        assert d_lf[2] > d_lf_flat[2] + 0.1  # roll follows the landmark fit far less at profile


def test_the_degradation_table_is_what_the_bench_measures():
    shared = require_shared("data", "aflw2000", "gt_arrays")
    bench = importlib.import_module("bench.landmarks_fit_by_yaw")
    out = bench.run(shared.parent.parent.parent, variants=("shipped",))
    assert out["faces"] > 1900 and out["pseudo_truth_check"]["max_geodesic_deg"] < 3.0
    assert out["regimes"]["profile"] > 200
    for name, factors in fusion.LANDMARK_FIT_DEGRADATION.items():
        np.testing.assert_allclose(factors, out["degradation"][name], atol=0.011)
    # the profile regime is the landmark fit's weak spot in pitch and roll
    assert min(out["degradation"]["profile"][1:]) > 2.0


def _landmarks_at(euler_deg, model, K, t=(0.0, 0.0, 900.0)):
    R = geometry.euler_to_matrix(np.array(euler_deg))
    return geometry.project(model, R, np.array(t), K)


@pytest.mark.parametrize("euler, low", [([5.0, -3.0, 2.0], False), ([70.0, 5.0, 0.0], True)])
def test_the_landmark_fit_alone_says_low_confidence_at_profile(euler, low, settings_low_confidence=0.45):
    proposer = LandmarksFitProposer(LF_CONFIG)
    K = model_intrinsics(450, 450)
    uv = _landmarks_at(euler, proposer.model, K)
    lo, hi = uv.min(0), uv.max(0)
    face = DetectedFace(
        box=(*lo, *hi), score=0.9, keypoints=np.zeros((6, 2)), landmarks=np.column_stack([uv, np.zeros(len(uv))])
    )
    p = proposer.propose_face(face, K)
    assert geometry.geodesic_distance(p.R, geometry.euler_to_matrix(np.array(euler))) < 0.5
    floor = fusion.member_mae("landmarks-fit", {"landmarks-fit": LANDMARK_FIT_MAE_DEG}, fusion.regime(p.R)).mean()
    assert p.confidence == pytest.approx(
        confidence.confidence(floor), rel=1e-6
    )  # a perfect fit, one reading: the floor
    assert (p.confidence < settings_low_confidence) == low
    assert p.provenance == {
        "readings": 1,
        "twin_deg": None,
        "regime": "profile" if low else "frontal",
        "expected_error_deg": pytest.approx(floor, abs=1e-3),
    }


def test_the_prior_is_a_floor_on_the_expected_error():
    x = confidence.features(1.0, 0, 0.01, prior_deg=0.0)
    fitted = confidence.expected_error(x)
    assert confidence.expected_error(confidence.features(1.0, 0, 0.01, prior_deg=fitted / 2)) == fitted
    assert confidence.expected_error(confidence.features(1.0, 0, 0.01, prior_deg=9.0)) == 9.0
