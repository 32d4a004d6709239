"""The fused proposer: no worse than any member on held-out real faces, falls
back to the default proposer without weights, fuses rotations the documented way,
drops outliers, and records what it ran.

Goal (issue 17): leave-one-out over the 10 real AFLW2000 samples (everything
fitted refitted without the held-out face, bench/proposer_loo.py), with the app's
own detection, the fused mean MAE is below 3.0 deg and no worse than that of any
single model on the same detected faces.
"""

import numpy as np
import pytest

from bench.proposer_accuracy import load_samples
from bench.proposer_loo import leave_one_out, pick
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.proposers import create_proposer, fused
from workers.core.proposers.parts import fusion
from workers.core.proposers.parts.detection import detect_faces


@pytest.fixture(scope="module")
def real():
    from tests.conftest import require_shared

    require_shared("weights")
    samples = load_samples(require_shared("data", "aflw2000", "samples"))
    return samples, [detect_faces(s[1]) for s in samples]


def test_fused_is_no_worse_than_any_member_on_held_out_faces(real, weights_dir, shared_dir):
    samples, faces = real
    Ks = [model_intrinsics(im.shape[1], im.shape[0]) for im in (s[1] for s in samples)]
    members = {}
    for name in ("mobilenet-3dmm", "fsanet"):
        props = create_proposer(name, weights_dir=weights_dir).propose_faces([s[1] for s in samples], Ks, faces)
        members[name] = [pick(p, s[3].mean(0)) for p, s in zip(props, samples)]
    res = leave_one_out(samples, faces, Ks, members, shared_dir)
    assert res["fused"]["faces"] == len(samples)
    assert res["fused"]["mae_mean"] < 3.0
    for name, row in res["members"].items():
        assert row["faces"] == len(samples), name
        assert res["fused"]["mae_mean"] <= row["mae_mean"], (name, row["mae_mean"], res["fused"]["mae_mean"])
    # the fold's table never holds the held-out face: it differs from fold to fold
    tables = list(res["fused"]["member_mae_per_fold"].values())
    assert any(t["landmarks-fit"] != tables[0]["landmarks-fit"] for t in tables[1:])
    # confidence is calibrated on held-out faces: the least confident third errs more than the most confident
    curve = res["confidence"]["curve_low_to_high_confidence"]
    assert curve[0]["mean_error_deg"] > curve[-1]["mean_error_deg"]
    assert curve[0]["confidence"][1] <= curve[-1]["confidence"][0]
    assert res["confidence"]["spearman_confidence_vs_error"] < 0
    # and so is the landmark fit's own (no weights: its two readings' disagreement and residual)
    lf_curve = res["confidence_landmarks_fit"]["curve_low_to_high_confidence"]
    assert lf_curve[0]["mean_error_deg"] > lf_curve[-1]["mean_error_deg"]


def test_without_weights_it_is_the_default_proposer(real, tmp_path):
    samples, faces = real
    p = create_proposer("fused", weights_dir=tmp_path)
    assert p.member_names == ["landmarks-fit"]
    assert create_proposer("fused").member_names == ["landmarks-fit"]  # no weights dir at all
    images = [s[1] for s in samples[:3]]
    Ks = [model_intrinsics(450, 450)] * 3
    ours = p.propose_faces(images, Ks, faces[:3])
    ref = create_proposer("landmarks-fit").propose_faces(images, Ks, faces[:3])
    for a, b in zip(ours, ref):
        assert len(a) == len(b) == 1
        np.testing.assert_allclose(a[0].R, b[0].R, atol=1e-12)
        np.testing.assert_allclose(a[0].t, b[0].t, atol=1e-9)


def test_translation_comes_from_the_landmark_fit(real, weights_dir):
    samples, faces = real
    p = fused.FusedProposer(weights_dir=weights_dir, members=["landmarks-fit", "mobilenet-3dmm", "fsanet"])
    K = [model_intrinsics(450, 450)]
    a = p.propose_faces([samples[0][1]], K, faces[:1])[0][0]
    b = p.members["landmarks-fit"].propose_faces([samples[0][1]], K, faces[:1])[0][0]
    np.testing.assert_allclose(a.t, b.t)
    # without the landmark fit, MobileNet-3DMM's estimate
    p2 = fused.FusedProposer(weights_dir=weights_dir, members=["mobilenet-3dmm", "fsanet"])
    c = p2.propose_faces([samples[0][1]], K, faces[:1])[0][0]
    d = p2.members["mobilenet-3dmm"].propose_faces([samples[0][1]], K, faces[:1])[0][0]
    np.testing.assert_allclose(c.t, d.t)


def test_weights_are_inverse_variance_per_angle():
    names = ["landmarks-fit", "mobilenet-3dmm", "fsanet"]
    mae = np.array([fused.MODEL_MAE_DEG[n] for n in names])
    w = fusion.angle_weights(mae)
    np.testing.assert_allclose(w.sum(0), 1)
    # ratio of weights = inverse ratio of squared MAEs, per angle
    np.testing.assert_allclose(w[0] / w[1], (mae[1] / mae[0]) ** 2)
    assert np.argmax(w[:, 1]) == 0  # the landmark fit has the best pitch: it leads pitch


def test_small_disagreements_fuse_to_the_per_angle_weighted_mean():
    names = ["landmarks-fit", "mobilenet-3dmm", "fsanet"]
    base = np.array([20.0, -10.0, 5.0])
    offsets = np.array([[3.0, -2.0, 1.0], [-1.0, 4.0, 0.5], [2.0, 1.0, -2.0]])
    Rs = geometry.euler_to_matrix(base + offsets)
    expected = base + (fusion.angle_weights([fused.MODEL_MAE_DEG[n] for n in names]) * offsets).sum(0)
    np.testing.assert_allclose(geometry.matrix_to_euler(fused.fuse_rotations(Rs, names)), expected, atol=1e-9)
    # identical members: the same rotation; one member: itself
    R = geometry.euler_to_matrix([170.0 - 180, 30, -179])
    np.testing.assert_allclose(fused.fuse_rotations(np.stack([R, R, R]), names), R, atol=1e-12)
    np.testing.assert_allclose(fused.fuse_rotations(R[None], names[:1]), R)


def test_roll_near_180_does_not_wrap_into_nonsense():
    names = ["mobilenet-3dmm", "fsanet"]
    Rs = geometry.euler_to_matrix([[0, 0, 179.0], [0, 0, -179.0]])
    out = geometry.matrix_to_euler(fused.fuse_rotations(Rs, names))
    assert abs(abs(out[2]) - 180) < 2.0


def test_near_profile_uses_the_so3_mean():
    names = ["mobilenet-3dmm", "fsanet"]
    Rs = geometry.euler_to_matrix([[84.0, 5, 0], [88.0, -5, 3]])
    out = fused.fuse_rotations(Rs, names)
    assert geometry.is_rotation(out)
    spread = geometry.geodesic_distance(Rs[0], Rs[1])
    assert max(geometry.geodesic_distance(out, Rs[0]), geometry.geodesic_distance(out, Rs[1])) <= spread


def test_unknown_member_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no accuracy figure"):
        fused.FusedProposer(weights_dir=tmp_path, members=["landmarks-fit", "nope"])


def _independent_robust_fuse(eulers, maes, drop_deg):
    """The documented rule, computed another way: scipy's rotations for the
    distances, a brute-force medoid, and for small offsets the weighted mean of
    the kept members' Euler angles (first order, within 1e-2 deg here)."""
    from scipy.spatial.transform import Rotation

    rots = [Rotation.from_matrix(geometry.euler_to_matrix(e)) for e in eulers]
    D = np.array([[np.degrees((a.inv() * b).magnitude()) for b in rots] for a in rots])
    centre = min(range(len(rots)), key=lambda k: D[k].sum())
    keep = [k for k in range(len(rots)) if D[centre, k] <= drop_deg]
    if len(keep) < 2:
        return None, []
    w = 1 / np.asarray(maes, dtype=float)[keep] ** 2
    return (w * np.asarray(eulers, dtype=float)[keep]).sum(0) / w.sum(0), keep


@pytest.mark.parametrize("outlier", [[60.0, -10.0, 5.0], [20.0, 40.0, 5.0], [20.0, -10.0, -40.0]])
def test_a_member_far_from_the_others_is_dropped(outlier):
    names = ["landmarks-fit", "mobilenet-3dmm", "fsanet", "6drepnet"]
    eulers = [[21.0, -9.0, 5.5], [19.5, -10.5, 4.0], outlier, [20.5, -9.5, 5.0]]
    maes = [fused.MODEL_MAE_DEG[n] for n in names]
    expected, keep = _independent_robust_fuse(eulers, maes, fusion.DROP_DEG)
    f = fusion.fuse(geometry.euler_to_matrix(np.array(eulers)), names, fused.MODEL_MAE_DEG)
    assert f.dropped == ["fsanet"] and f.kept == [names[k] for k in keep]
    np.testing.assert_allclose(geometry.matrix_to_euler(f.R), expected, atol=1e-2)
    # without the drop the outlier would pull the pose off by degrees
    pulled = geometry.matrix_to_euler(fused.fuse_rotations(geometry.euler_to_matrix(np.array(eulers)), names))
    assert np.abs(pulled - expected).max() > 1.0


def test_members_that_agree_on_nothing_give_no_pose():
    names = ["landmarks-fit", "mobilenet-3dmm", "fsanet"]
    Rs = geometry.euler_to_matrix(np.array([[0.0, 0, 0], [40.0, 0, 0], [-40.0, 30, 0]]))
    f = fusion.fuse(Rs, names, fused.MODEL_MAE_DEG)
    assert f.R is None and f.kept == [] and f.dropped == names
    assert (
        _independent_robust_fuse(
            geometry.matrix_to_euler(Rs), [fused.MODEL_MAE_DEG[n] for n in names], fusion.DROP_DEG
        )[0]
        is None
    )
    two = fusion.fuse(Rs[:2], names[:2], fused.MODEL_MAE_DEG)
    assert two.R is None  # two members 40 deg apart: neither can be trusted
    one = fusion.fuse(Rs[1:2], names[1:2], fused.MODEL_MAE_DEG)
    np.testing.assert_allclose(one.R, Rs[1])


def test_a_fused_proposal_records_its_members_and_its_version_derives_from_them(real, weights_dir, tmp_path):
    samples, faces = real
    with_weights = create_proposer("fused", weights_dir=weights_dir)
    without = create_proposer("fused", weights_dir=tmp_path)
    assert with_weights.config.version != without.config.version
    assert with_weights.config.version.startswith(fused.CONFIG.version + "+")
    assert with_weights.weights_sha256 != without.weights_sha256
    prop = with_weights.propose_faces([samples[0][1]], [model_intrinsics(450, 450)], faces[:1])[0][0]
    records = {m["name"]: m for m in prop.provenance["members"]}
    assert set(records) == set(with_weights.member_names)
    for name, member in with_weights.members.items():
        assert records[name] == {
            "name": name,
            "version": member.config.version,
            "weights_sha256": member.weights_sha256,
        }
        assert len(member.weights_sha256) == 64
    assert set(prop.provenance["kept"]) | set(prop.provenance["dropped"]) == set(records)
    assert 0 < prop.confidence <= 1
