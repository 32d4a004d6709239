"""workers/core/reliability.py: the Huber-weighted geodesic median against
independent computations (scipy's log/exp and mean), unmoved accepts as one
vote, noise estimates of known simulated annotators (seeds 1-3: the constants
were chosen on seeds 1000-1009, bench/fit_reliability.py), the two-annotator
case and its honeypot anchor, a newcomer's prior."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bench.fit_reliability import SIGMAS, team
from workers.core import reliability as rel
from workers.core.consensus import consensus, quaternion_distance_rad


def _members(rng, n_faces=50, k=4, spread_deg=3.0):
    centre = Rotation.random(n_faces, random_state=rng)
    rot = [centre[i] * Rotation.from_rotvec(rng.normal(size=(k, 3)) * np.deg2rad(spread_deg)) for i in range(n_faces)]
    q = np.stack([r.as_quat(scalar_first=True) for r in rot])
    q *= rng.choice([-1.0, 1.0], size=(n_faces, k, 1))  # random signs: q and -q are one rotation
    return rot, q


def test_huber_weighted_median_is_a_stationary_point_of_its_objective():
    """At the answer, the IRLS-weighted sum of the members' log maps (scipy's) vanishes."""
    rng = np.random.default_rng(5)
    rot, q = _members(rng)
    sigma = np.deg2rad(rng.uniform(0.5, 5.0, q.shape[:2]))
    res = rel.weighted_consensus(q, np.ones(q.shape[:2], bool), sigma, huber_k=1.0)
    for f in range(len(q)):
        c = Rotation.from_quat(res.quaternion[f], scalar_first=True)
        v = (c.inv() * rot[f]).as_rotvec()
        d = np.linalg.norm(v, axis=1)
        w = np.minimum(1 / sigma[f] ** 2, 1.0 / (sigma[f] * np.maximum(d, 1e-12)))
        # the iteration stops at steps under 1e-7 rad: converging linearly, it lands within ~1e-5 rad
        assert np.linalg.norm((w[:, None] * v).sum(0) / w.sum()) < 2e-5


def test_limits_are_the_weighted_geodesic_median_and_the_weighted_mean(monkeypatch):
    # converged far past what labels need (the median's iteration is only linear)
    monkeypatch.setattr(rel, "INNER_ITERATIONS", 3000)
    monkeypatch.setattr(rel, "INNER_TOL_RAD", 1e-13)
    rng = np.random.default_rng(6)
    rot, q = _members(rng, spread_deg=2.0)
    mask = np.ones(q.shape[:2], bool)
    sigma = np.deg2rad(rng.uniform(0.5, 5.0, q.shape[:2]))
    # k -> 0: Weiszfeld with weights 1/sigma (consensus.py's geodesic median)
    small = rel.weighted_consensus(q, mask, sigma, huber_k=1e-6).quaternion
    median = consensus(q, None, mask, 1 / sigma, method="geodesic_median").quaternion
    assert np.rad2deg(quaternion_distance_rad(small, median)).max() < 1e-2  # two linear iterations, 300 steps there
    # k -> inf: the inverse-variance weighted mean (scipy's chordal mean is within a hair of it at 2 degrees)
    large = rel.weighted_consensus(q, mask, sigma, huber_k=1e6).quaternion
    for f in range(len(q)):
        mean = rot[f].mean(weights=1 / sigma[f] ** 2).as_quat(scalar_first=True)
        assert np.rad2deg(quaternion_distance_rad(large[f], mean)) < 1e-2


def test_signs_do_not_matter_and_a_far_member_is_rejected():
    rng = np.random.default_rng(7)
    _, q = _members(rng, n_faces=20, k=5)
    q[:, 4] = (Rotation.from_quat(q[:, 0], scalar_first=True) * Rotation.from_euler("y", 120, degrees=True)).as_quat(
        scalar_first=True
    )
    sigma = np.full(q.shape[:2], np.deg2rad(2.0))
    sigma[:, 4] = np.deg2rad(0.1)  # however trusted, one member cannot outvote four on who is an outlier
    a = rel.weighted_consensus(q, np.ones(q.shape[:2], bool), sigma)
    b = rel.weighted_consensus(-q, np.ones(q.shape[:2], bool), sigma)
    assert np.rad2deg(quaternion_distance_rad(a.quaternion, b.quaternion)).max() < 1e-4  # within the iteration's stop
    assert not a.inlier[:, 4].any() and a.inlier[:, :4].all() and (a.influence[:, 4] == 0).all()


def test_an_unmoved_accept_is_the_proposers_one_vote():
    rng = np.random.default_rng(8)
    truth = Rotation.random(random_state=rng)
    proposal = (truth * Rotation.from_euler("x", 6, degrees=True)).as_quat(scalar_first=True)
    own = [(truth * Rotation.from_rotvec(rng.normal(size=3) * 0.01)).as_quat(scalar_first=True) for _ in range(3)]
    noise = rel.Noise.from_dict(
        {
            "prior_deg": 3.0,
            "annotators": {str(c): {"noise_deg": s} for c, s in ((-1, 5.0), (1, 1.0), (2, 1.0), (3, 1.0))},
        }
    )

    def run(n_acceptors):
        q = np.array(own + [proposal] * n_acceptors)
        n = len(q)
        who = np.array([1, 2, 3] + [10 + i for i in range(n_acceptors)])
        pq = np.tile(proposal, (n, 1))
        m, res, weights = rel.consensus_with(noise, np.zeros(n, int), who, q, np.ones(n, bool), pq)
        return m, res, weights

    _m1, one, w1 = run(1)
    m5, five, w5 = run(5)
    assert np.rad2deg(quaternion_distance_rad(one.quaternion, five.quaternion))[0] < 1e-9
    assert m5.mask.sum() == 4 and (m5.code[m5.mask] == rel.PROPOSER).sum() == 1
    assert w5[3:].sum() == pytest.approx(w1[3]) and w5.sum() == pytest.approx(1.0)
    # the proposal's 5-degree noise: its one vote is light next to three 1-degree labels
    assert w1[3] < 0.1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_estimates_rank_the_annotators_and_the_consensus_beats_the_best_one(seed):
    tq, face, who, q, pq, hp_who, hp_err = team(4000, seed)
    est = rel.estimate(face, who, q, np.ones(len(face), bool), pq, hp_annotator=hp_who, hp_error_deg=hp_err)
    true = np.array([*SIGMAS, 1.0])  # the blunderer's robust noise is its 1 degree; blunders are outliers
    got = est.noise.lookup(np.arange(len(true)))
    assert np.all(np.abs(got / true - 1) < 0.15), got
    assert list(np.argsort(got[: len(SIGMAS)])) == list(range(len(SIGMAS)))
    # the acceptor's labels are the proposals: 4 degrees, and so is the proposer
    proposer, acceptor = est.noise.lookup(np.array([rel.PROPOSER, len(SIGMAS) + 1]))
    assert proposer == pytest.approx(4.0, rel=0.1) and acceptor == pytest.approx(4.0, rel=0.1)
    lo, hi = est.noise.interval_deg[np.searchsorted(est.noise.codes, 0)]
    assert lo < got[0] < hi
    m = est.members
    three = m.mask.sum(1) >= 3
    err = np.rad2deg(quaternion_distance_rad(est.result.quaternion, tq[m.faces]))
    single = np.rad2deg(quaternion_distance_rad(q, tq[face]))
    best = min(np.median(single[who == a]) for a in range(len(SIGMAS) + 2))
    assert np.median(err[three]) < best
    with_best = three & (m.code == 0).any(1)  # and on the faces the best annotator labeled, by a margin
    assert np.median(err[with_best]) < 0.95 * np.median(single[who == 0])


def test_two_annotators_only_agreement_cannot_tell_honeypots_can():
    rng = np.random.default_rng(9)
    n = 600
    truth = Rotation.random(n, random_state=rng)
    labels = [truth * Rotation.from_rotvec(rng.normal(size=(n, 3)) * np.deg2rad(s) / np.sqrt(3)) for s in (1.0, 4.0)]
    q = np.concatenate([r.as_quat(scalar_first=True) for r in labels])
    face, who = np.tile(np.arange(n), 2), np.repeat([0, 1], n)
    none = np.full((2 * n, 4), np.nan)
    blind = rel.estimate(face, who, q, np.ones(2 * n, bool), none).noise.lookup(np.array([0, 1]))
    assert blind[0] == pytest.approx(blind[1], rel=0.05)  # the pair's sum is known, not its split
    hp_who = np.repeat([0, 1], 30)
    hp_err = np.linalg.norm(rng.normal(size=(60, 3)), axis=1) * np.repeat([1.0, 4.0], 30) / np.sqrt(3)
    anchored = rel.estimate(face, who, q, np.ones(2 * n, bool), none, hp_annotator=hp_who, hp_error_deg=hp_err)
    got = anchored.noise.lookup(np.array([0, 1]))
    assert got[0] == pytest.approx(1.0, rel=0.3) and got[1] == pytest.approx(4.0, rel=0.15)


def test_a_newcomer_starts_from_the_prior_and_the_noise_round_trips():
    _tq, face, who, q, pq, _hp_who, _hp_err = team(1000, 4)
    est = rel.estimate(face, who, q, np.ones(len(face), bool), pq)
    noise = rel.Noise.from_dict(est.noise.as_dict())
    assert noise.lookup(np.array([12345]))[0] == pytest.approx(est.noise.prior_deg)
    assert np.allclose(noise.lookup(np.arange(3)), est.noise.lookup(np.arange(3)))
    assert np.allclose(
        noise.lookup(np.arange(3), np.array([5.0, 45, 80])), est.noise.lookup(np.arange(3), np.array([5.0, 45, 80]))
    )


def test_median_interval_and_empty_input():
    v = np.random.default_rng(10).normal(size=2001)
    lo, hi = rel.median_interval(v)
    assert lo < 0 < hi and hi - lo == pytest.approx(2 * 1.96 * 1.2533 / np.sqrt(2001), rel=0.2)
    assert rel.median_interval(np.array([1.0])) == (None, None)
    empty = rel.estimate(np.zeros(0, int), np.zeros(0, int), np.zeros((0, 4)), np.zeros(0, bool), np.zeros((0, 4)))
    assert empty.members.mask.shape[0] == 0
