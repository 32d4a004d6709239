"""A consensus that learns whom to trust: each annotator's noise estimated jointly
with every face's consensus (a Dawid-Skene-style estimate for rotations).

    consensus -> residuals -> each annotator's robust noise -> weights -> consensus ...

until the noise estimates stop moving (`ROUNDS` at most). Plain numpy, no Django,
vectorised over faces (loops run over rounds, member slots and annotators only).

**Members.** A face's members are its labels that count (accepted/corrected, not
rejected by a reviewer), except that labels within `UNMOVED_DEG` (0.5 degrees,
given) of the proposal they started from are an **unmoved accept**: that is the
proposer's vote again, so all of a face's unmoved accepts of one proposal make
*one* member, the proposal itself, voting as the pseudo-annotator `PROPOSER`
with the proposer's measured noise, however many annotators accepted it.

**The robust core** (`weighted_consensus`): outliers are rejected against the
(unweighted) medoid exactly as in `consensus.consensus` (over both 15
degrees and 3 x the median member distance); the inliers' rotation is a
reliability-weighted geodesic M-estimate on SO(3), computed by Weiszfeld-style
iteratively reweighted tangent-space steps: member i pulls with weight
min(1/s_i^2, k / (s_i d_i)), d_i its geodesic distance to the estimate, s_i its
annotator's noise. Within k s_i of the estimate that is the inverse-variance
weighted mean (the maximum-likelihood mean for Gaussian noise, which beats the
best single annotator); beyond it, the weighted geodesic median (weight 1/s_i
over the distance, bounded influence). k -> 0 gives the pure weighted geodesic
median, k -> inf the weighted Karcher mean. The weight is bounded (1/s^2 at
d = 0), so no member freezes the iteration (no Vardi-Zhang case).

**The noise estimator.** An annotator's noise is the geodesic RMS of their error
(what a simulation's sigma means). For isotropic Gaussian rotation noise with
per-axis deviation s, theta^2 / s^2 is chi-square with 3 degrees of freedom,
whose median is 2.366; so RMS^2 = 3 s^2 = (3 / 2.366) x median(theta^2):
`RMS_PER_MEDIAN2` = 1.268 (the 3D analogue of 1.4826 x MAD). It is measured on
pairs, so no consensus noise enters it: two labels of a face are d apart with
E d^2 = s_a^2 + s_b^2 whatever the truth, and an honeypot error e has
E e^2 = s_a^2. The robust 1.268 x median(d^2) of every annotator pair, the
1.268 x median(e^2) of every annotator's honeypot answers (counted
`HONEYPOT_WEIGHT` times: they anchor the estimate, and alone tell apart two
annotators who only ever share faces, where d says only s_a^2 + s_b^2) and a
prior (`PRIOR_LABELS` pseudo-labels of the dataset's pooled figure: where a
newcomer starts) are solved together by weighted least squares (`noise_system`,
relative-error weights sqrt(n) / value). Per |yaw| range (`YAW_RANGES`) the
same solve, shrunk towards the annotator's overall figure by the same
pseudo-labels: a range with little data keeps the overall noise.

The constants (`PRIOR_LABELS`, `HUBER_K`, `HONEYPOT_WEIGHT`) were set a priori
and checked on simulated teams of the fitting seeds 1000-1009 only
(bench/fit_reliability.py: over the grid the consensus moved by at most
0.003 degrees, so they were kept); every figure is reported on other seeds
(tests, bench, docs/QUALITY.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workers.core.consensus import (
    OUTLIER_DEG,
    OUTLIER_FACTOR,
    _medoid,
    chordal_mean,
    group_by_face,
    nanmedian_rows,
    pad,
    qconj,
    qexp,
    qlog,
    qmul,
    quaternion_distance_rad,
)

METHOD = "reliability_weighted"  # what a FaceConsensus row records for this consensus
UNMOVED_DEG = 0.5  # given by issue 25: an accept this close to its proposal did not move it
PROPOSER = -1  # the annotator code of a face's collapsed unmoved accepts (the proposal's own vote)
RMS_PER_MEDIAN2 = 3 / 2.366  # geodesic RMS^2 per median(theta^2), isotropic Gaussian noise (chi-square 3)
PRIOR_LABELS = 5.0
HONEYPOT_WEIGHT = 2.0
HUBER_K = 2.0
FLOOR_DEG = 0.05  # no annotator is trusted more than this: keeps the weights finite
DEFAULT_NOISE_DEG = 3.0  # the prior when nothing at all is known yet
YAW_RANGES = (0.0, 30.0, 60.0, 180.0)  # |yaw| ranges with their own noise estimates
ROUNDS = 20
BOOTSTRAP = 200  # replicas of the noise solve behind each noise interval
ROUND_TOL = 0.005  # stop when no noise estimate moves by more than 0.5 %
SETTLED_SHARE = 0.002  # ... and under 0.2 % of the faces changed their outliers or |yaw| range
INNER_ITERATIONS = 50
INNER_TOL_RAD = 1e-7  # 6e-6 degrees: far under any label noise; IRLS converges only linearly


@dataclass
class Noise:
    """Noise estimates (geodesic RMS, degrees) per annotator code."""

    codes: NDArray[np.int64]  # (A,) annotator codes, sorted; PROPOSER among them when it voted or was measured
    deg: NDArray[np.float64]  # (A,) overall
    by_yaw: NDArray[np.float64]  # (A, len(YAW_RANGES) - 1)
    agreement_n: NDArray[np.int64]  # (A,) residuals behind the estimate
    honeypot_n: NDArray[np.int64]  # (A,)
    prior_deg: float
    interval_deg: NDArray[np.float64] | None = None  # (A, 2) 95 % bootstrap interval of deg

    def lookup(self, code: NDArray[np.int64], abs_yaw: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """Noise (degrees) of each code (per |yaw| range when given); the prior for unknown codes."""
        code = np.asarray(code, np.int64)
        i = np.searchsorted(self.codes, code)
        i = np.minimum(i, max(len(self.codes) - 1, 0))
        known = (len(self.codes) > 0) & (self.codes[i] == code) if len(self.codes) else np.zeros(len(code), bool)
        if abs_yaw is None or not len(self.codes):
            out = np.where(known, self.deg[i] if len(self.codes) else 0.0, self.prior_deg)
        else:
            b = yaw_range(abs_yaw)
            out = np.where(known, self.by_yaw[i, b], self.prior_deg)
        result: NDArray[np.float64] = np.asarray(out, np.float64)
        return result

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON) for storage: {code: {noise_deg, by_yaw, agreement_n, honeypot_n}}."""
        return {
            "prior_deg": self.prior_deg,
            "yaw_ranges": list(YAW_RANGES),
            "annotators": {
                str(int(c)): {
                    "noise_deg": float(d),
                    "by_yaw": [float(x) for x in y],
                    "agreement_n": int(na),
                    "honeypot_n": int(nh),
                    "interval": None if self.interval_deg is None else [float(x) for x in self.interval_deg[i]],
                }
                for i, (c, d, y, na, nh) in enumerate(
                    zip(self.codes, self.deg, self.by_yaw, self.agreement_n, self.honeypot_n)
                )
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Noise:
        d = d or {}
        rows = sorted((int(k), v) for k, v in (d.get("annotators") or {}).items())
        nb = len(YAW_RANGES) - 1
        return cls(
            codes=np.array([k for k, _ in rows], np.int64),
            deg=np.array([v["noise_deg"] for _, v in rows], np.float64),
            by_yaw=np.array([v.get("by_yaw") or [v["noise_deg"]] * nb for _, v in rows], np.float64).reshape(-1, nb),
            agreement_n=np.array([v.get("agreement_n", 0) for _, v in rows], np.int64),
            honeypot_n=np.array([v.get("honeypot_n", 0) for _, v in rows], np.int64),
            prior_deg=float(d.get("prior_deg", DEFAULT_NOISE_DEG)),
            interval_deg=np.array([v.get("interval") or [np.nan, np.nan] for _, v in rows], np.float64).reshape(-1, 2),
        )


def yaw_range(abs_yaw: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of each |yaw| (degrees; NaN -> the first range) in YAW_RANGES."""
    y = np.nan_to_num(np.asarray(abs_yaw, np.float64))
    out: NDArray[np.intp] = np.clip(np.searchsorted(YAW_RANGES, y, side="right") - 1, 0, len(YAW_RANGES) - 2)
    return out


# --- the robust core ------------------------------------------------------------------------


@dataclass
class WeightedResult:
    quaternion: NDArray[np.float64]  # (F, 4)
    inlier: NDArray[np.bool_]  # (F, K)
    distance_deg: NDArray[np.float64]  # (F, K) NaN in empty slots
    influence: NDArray[np.float64]  # (F, K) each member's share of the final IRLS weight (0 for outliers)
    iterations: int
    medoid: NDArray[np.float64] | None = None  # (F, 4) what the outliers were judged against


def weighted_consensus(
    q: NDArray[np.float64],
    mask: NDArray[np.bool_],
    sigma_rad: NDArray[np.float64],
    *,
    huber_k: float = HUBER_K,
    start: NDArray[np.float64] | None = None,
    medoid: NDArray[np.float64] | None = None,
    outlier_deg: float = OUTLIER_DEG,
    outlier_factor: float = OUTLIER_FACTOR,
) -> WeightedResult:
    """(F, K) members (unit quaternions, any signs) with per-member noise `sigma_rad`:
    outliers rejected against the (unweighted) medoid, then the Huber-weighted
    geodesic median of the inliers (see the module docstring)."""
    F, K = mask.shape
    sigma = np.maximum(np.where(mask, sigma_rad, 1.0), np.deg2rad(FLOOR_DEG))
    prec = np.where(mask, 1.0 / sigma**2, 0.0)
    if F == 0 or K == 0:
        return WeightedResult(np.full((F, 4), np.nan), mask.copy(), np.full((F, K), np.nan), np.zeros((F, K)), 0)
    # the medoid is unweighted: however trusted, one member must not outvote the others on who is an outlier
    # (it depends on the members only: a caller iterating over the weights passes it back in)
    medoid = _medoid(q, mask, np.ones((F, K))) if medoid is None else medoid
    to_medoid = np.where(mask, quaternion_distance_rad(medoid[:, None, :], q), np.nan)
    limit = np.maximum(np.deg2rad(outlier_deg), outlier_factor * np.nan_to_num(nanmedian_rows(to_medoid)))
    inlier = mask & ~(to_medoid > limit[:, None])
    p_in = np.where(inlier, prec, 0.0)
    # from the inverse-variance weighted chordal mean (closed form): where every inlier is
    # within k s of it, that is nearly the answer already, and a few steps finish it
    center = chordal_mean(q, inlier, p_in, medoid) if start is None else start.copy()
    active = np.arange(F)
    n_iter = 0
    while n_iter < INNER_ITERATIONS:
        n_iter += 1
        c, qa = center[active], q[active]
        v = qlog(qmul(qconj(c)[:, None, :], qa))  # (f, K, 3) tangent vectors at the estimate
        d = np.linalg.norm(v, axis=-1)
        # min(1/s^2, k/(s d)): the weighted mean near the estimate, the weighted median far from it
        w = np.minimum(p_in[active], huber_k * np.sqrt(p_in[active]) / np.maximum(d, 1e-300))
        step = (w[..., None] * v).sum(1) / np.maximum(w.sum(1), 1e-300)[:, None]
        c = qmul(c, qexp(step))
        center[active] = c / np.linalg.norm(c, axis=-1, keepdims=True)
        active = active[np.linalg.norm(step, axis=-1) > INNER_TOL_RAD]
        if not len(active):
            break
    center = np.where(center[:, :1] < 0, -center, center)
    dist = np.where(mask, quaternion_distance_rad(center[:, None, :], q), np.nan)
    w = np.minimum(p_in, huber_k * np.sqrt(p_in) / np.maximum(np.nan_to_num(dist), 1e-300))
    influence = w / np.maximum(w.sum(1, keepdims=True), 1e-300)
    return WeightedResult(center, inlier, np.rad2deg(dist), influence, n_iter, medoid)


# --- members: unmoved accepts collapse into the proposer's one vote --------------------------


@dataclass
class Members:
    """The flat labels turned into padded member slots."""

    faces: NDArray[Any]  # (F,) face keys
    q: NDArray[np.float64]  # (F, K, 4)
    code: NDArray[np.int64]  # (F, K) annotator code per slot (PROPOSER for a collapsed accept)
    mask: NDArray[np.bool_]  # (F, K)
    label_slot: NDArray[np.intp]  # (N,) each label's slot in its face (-1 when it does not count)
    label_row: NDArray[np.intp]  # (N,) each label's face row (-1 when it does not count)
    unmoved: NDArray[np.bool_]  # (N,) the label is an unmoved accept of its proposal


def unmoved_accepts(q: NDArray[np.float64], proposal_q: NDArray[np.float64]) -> NDArray[np.bool_]:
    """(N,) labels within UNMOVED_DEG of the proposal they started from (NaN proposal: none)."""
    has = np.isfinite(proposal_q).all(-1)
    out = np.zeros(len(q), bool)
    out[has] = np.rad2deg(quaternion_distance_rad(q[has], proposal_q[has])) < UNMOVED_DEG
    return out


def _first_per_face(face: NDArray[Any], rows: NDArray[np.intp], key: NDArray[np.int64] | None) -> NDArray[np.intp]:
    """The first of `rows` per (face, key) pair (key None: per face)."""
    if not len(rows):
        return rows
    k = np.zeros(len(rows), np.int64) if key is None else np.asarray(key, np.int64)[rows]
    _, first = np.unique(np.stack([np.asarray(face)[rows].astype(np.int64), k], 1), axis=0, return_index=True)
    return rows[np.sort(first)]


def members(
    face: NDArray[Any],
    annotator: NDArray[np.int64],
    q: NDArray[np.float64],
    counts: NDArray[np.bool_],
    proposal_q: NDArray[np.float64],
    proposal_key: NDArray[np.int64] | None = None,
) -> Members:
    """Members per face: each counting label once, except that the unmoved accepts of
    one proposal (`proposal_key`, default: one per face) make one PROPOSER member."""
    n = len(face)
    unmoved = unmoved_accepts(q, proposal_q) & counts
    key = np.zeros(n, np.int64) if proposal_key is None else np.asarray(proposal_key, np.int64)
    # one representative per (face, proposal) group of unmoved accepts: the first
    keep = counts.copy()
    idx = np.flatnonzero(unmoved)
    if len(idx):
        rep = np.zeros(n, bool)
        rep[_first_per_face(face, idx, key)] = True
        keep &= ~unmoved | rep
    rows = np.flatnonzero(keep)
    faces, row, slot, width = group_by_face(np.asarray(face)[rows])
    mq = np.where(unmoved[rows, None], proposal_q[rows], q[rows])
    code = np.where(unmoved[rows], PROPOSER, annotator[rows])
    label_row = np.full(n, -1, np.intp)
    label_slot = np.full(n, -1, np.intp)
    label_row[rows], label_slot[rows] = row, slot
    # every unmoved accept points at its group's one slot
    if len(idx):
        face_index = {k: i for i, k in enumerate(faces.tolist())}
        rep_of = {}
        for r in rows[unmoved[rows]]:
            rep_of[(int(face[r]), int(key[r]))] = (label_row[r], label_slot[r])
        for r in idx:
            if label_row[r] < 0 and face[r] in face_index:
                label_row[r], label_slot[r] = rep_of[(int(face[r]), int(key[r]))]
    return Members(
        faces=faces,
        q=pad(mq, row, slot, len(faces), width, fill=1.0),
        code=pad(code, row, slot, len(faces), width, fill=0).astype(np.int64),
        mask=pad(np.ones(len(rows), bool), row, slot, len(faces), width, fill=False).astype(bool),
        label_slot=label_slot,
        label_row=label_row,
        unmoved=unmoved,
    )


# --- the joint estimate ------------------------------------------------------------------------


@dataclass
class Estimate:
    members: Members
    result: WeightedResult
    noise: Noise
    weights: NDArray[np.float64]  # (F, K) each member's normalised influence on its face's consensus
    rounds: int
    sigma_deg: NDArray[np.float64]  # (F, K) the noise each member's weight came from


def _sorted_groups(values: NDArray[np.float64], keys: NDArray[np.int64]) -> tuple[NDArray[Any], ...]:
    """`values` (finite, under 16) sorted within their keys, from one float sort (key * 16 +
    value: cheaper than a lexsort), and the keys present, where each starts, how many."""
    v_sorted = np.sort(keys * 16.0 + np.minimum(values, 15.9))
    k_sorted = (v_sorted // 16).astype(np.int64)
    uniq, starts, counts = np.unique(k_sorted, return_index=True, return_counts=True)
    return v_sorted - k_sorted * 16.0, uniq, starts, counts


def _group_medians(
    values: NDArray[np.float64], keys: NDArray[np.int64], n_keys: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Median of `values` (finite, under 16) per key in range(n_keys) (NaN where none) and the counts."""
    med = np.full(n_keys, np.nan)
    n = np.zeros(n_keys, np.int64)
    if not len(values):
        return med, n
    v_sorted, uniq, starts, counts = _sorted_groups(values, keys)
    lo = v_sorted[starts + (counts - 1) // 2]
    hi = v_sorted[starts + counts // 2]
    med[uniq], n[uniq] = (lo + hi) / 2, counts
    return med, n


def _group_draws(
    values: NDArray[np.float64], keys: NDArray[np.int64], n_keys: int, replicas: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """(len(z), n_keys): per key, the order statistic at rank (n-1)/2 + z sqrt(n)/2: a draw
    of its median from the median's large-sample bootstrap distribution. NaN where none."""
    out = np.full((replicas, n_keys), np.nan)
    if not len(values):
        return out
    v_sorted, uniq, starts, counts = _sorted_groups(values, keys)
    z = rng.normal(size=(replicas, len(uniq)))  # each group drawn on its own
    rank = np.rint((counts - 1) / 2 + z * np.sqrt(counts) / 2).astype(np.int64)
    out[:, uniq] = v_sorted[starts + np.clip(rank, 0, counts - 1)]
    return out


@dataclass
class NoiseSystem:
    """The weighted least-squares system of solve_noise: rows (pairs used, honeypots, prior) x codes."""

    design: NDArray[np.float64]  # (rows, A), each row times its weight
    weight: NDArray[np.float64]  # (rows,)
    rhs: NDArray[np.float64]  # (rows,) unweighted
    used: NDArray[np.intp]  # the pair keys (a * A + b) behind the first rows
    per_code: NDArray[np.int64]  # pair labels per code
    prior: NDArray[np.float64]  # (A,) the prior variance per code


def noise_system(
    D: NDArray[np.float64],
    n_pair: NDArray[np.int64],
    H: NDArray[np.float64],
    n_hp: NDArray[np.int64],
    prior_var: NDArray[np.float64] | float | None,
    prior_labels: float = PRIOR_LABELS,
    honeypot_weight: float = HONEYPOT_WEIGHT,
) -> NoiseSystem:
    """From D (A, A): the median squared geodesic distance of two members of a face by
    codes a < b (E d^2 = s_a^2 + s_b^2), H (A,): the median squared honeypot error
    (E e^2 = s_a^2), their counts, and a prior (None: the pooled figure); see the
    module docstring."""
    A = len(H)
    D, H = RMS_PER_MEDIAN2 * D.reshape(-1), RMS_PER_MEDIAN2 * H
    n_pair = n_pair.reshape(-1)
    floor2 = np.deg2rad(FLOOR_DEG) ** 2
    if prior_var is None:  # the pooled figure: half the median pair distance, else the honeypots
        pooled = np.concatenate([D[n_pair > 0] / 2, H[n_hp > 0]])
        prior_var = float(np.median(pooled)) if len(pooled) else np.deg2rad(DEFAULT_NOISE_DEG) ** 2
    prior = np.maximum(np.broadcast_to(np.asarray(prior_var, np.float64), (A,)), floor2)
    used = np.flatnonzero(n_pair)
    ia, ib = used // A, used % A
    M = np.zeros((len(used) + 2 * A, A))
    M[np.arange(len(used)), ia] += 1.0
    M[np.arange(len(used)), ib] += 1.0
    M[len(used) + np.arange(A), np.arange(A)] = 1.0
    M[len(used) + A + np.arange(A), np.arange(A)] = 1.0
    # relative-error weights: a median of n squared distances is off by ~1/sqrt(n) of itself
    w = np.concatenate(
        [
            np.sqrt(n_pair[used]) / np.maximum(D[used], floor2),
            np.sqrt(honeypot_weight * n_hp) / np.maximum(np.nan_to_num(H), floor2),
            np.sqrt(prior_labels) / prior,
        ]
    )
    per_code = np.bincount(ia, n_pair[used], A) + np.bincount(ib, n_pair[used], A)
    return NoiseSystem(
        design=M * w[:, None],
        weight=w,
        rhs=np.concatenate([D[used], np.nan_to_num(H), prior]),
        used=used,
        per_code=per_code.astype(np.int64),
        prior=prior,
    )


def solve_noise(system: NoiseSystem) -> NDArray[np.float64]:
    """Noise variances (rad^2) per code: the weighted least-squares solution of the system."""
    var = np.linalg.lstsq(system.design, system.rhs * system.weight, rcond=None)[0]
    out: NDArray[np.float64] = np.maximum(var, np.deg2rad(FLOOR_DEG) ** 2)
    return out


def _abs_yaw_of(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """|yaw| (degrees, AFLW convention: yaw = asin(R[0, 2])) of unit quaternions (w, x, y, z)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    r02 = 2 * (x * z + w * y)
    out: NDArray[np.float64] = np.abs(np.rad2deg(np.arcsin(np.clip(r02, -1.0, 1.0))))
    return out


def estimate(
    face: NDArray[Any],
    annotator: NDArray[np.int64],
    q: NDArray[np.float64],
    counts: NDArray[np.bool_],
    proposal_q: NDArray[np.float64],
    *,
    proposal_key: NDArray[np.int64] | None = None,
    hp_annotator: NDArray[np.int64] | None = None,
    hp_error_deg: NDArray[np.float64] | None = None,
    hp_abs_yaw: NDArray[np.float64] | None = None,
    prior_labels: float = PRIOR_LABELS,
    honeypot_weight: float = HONEYPOT_WEIGHT,
    huber_k: float = HUBER_K,
    rounds: int = ROUNDS,
) -> Estimate:
    """The joint estimate of every annotator's noise and every face's consensus from
    flat labels (N,): face keys, annotator codes, unit quaternions, which count for
    the consensus, the proposal each started from ((N, 4), NaN rows: none).

    Noise comes from the labels themselves, pairwise: two labels of a face are
    |e_a - e_b| apart, E d^2 = s_a^2 + s_b^2, whatever the truth; the proposal of
    a face joins as the PROPOSER's label there (so the proposer is measured on
    every face, not only where it was accepted). A pair that is one vote twice
    (two unmoved accepts of a proposal, or one and the proposal) says nothing and
    is left out; so is a pair with a member the consensus rejected as an outlier
    (that is how the consensus feeds back, with the |yaw| ranges). The weighted
    least-squares solve of all pairs, honeypot answers and the prior gives every
    variance at once; then the weights, the consensus, and again."""
    annotator = np.asarray(annotator, np.int64)
    face = np.asarray(face)
    counts = np.asarray(counts, bool)
    m = members(face, annotator, q, counts, proposal_q, proposal_key)
    hp_annotator = np.zeros(0, np.int64) if hp_annotator is None else np.asarray(hp_annotator, np.int64)
    hp_deg = np.zeros(0) if hp_error_deg is None else np.asarray(hp_error_deg, np.float64)
    hp_e2: NDArray[np.float64] = np.asarray(np.deg2rad(hp_deg) ** 2, np.float64)
    hp_range = yaw_range(np.zeros(len(hp_e2)) if hp_abs_yaw is None else np.asarray(hp_abs_yaw))
    codes = np.unique(np.concatenate([[PROPOSER], annotator[counts], hp_annotator]))
    A, nb = len(codes), len(YAW_RANGES) - 1

    # the pairwise table: every counting label with its own code, and one proposal per face
    lab = np.flatnonzero(counts & (m.label_row >= 0))
    prop = _first_per_face(
        face, np.flatnonzero(counts & np.isfinite(proposal_q).all(-1) & (m.label_row >= 0)), proposal_key
    )
    p_face = np.concatenate([m.label_row[lab], m.label_row[prop]])
    p_code = np.searchsorted(codes, np.concatenate([annotator[lab], np.full(len(prop), PROPOSER)]))
    p_q = np.concatenate([q[lab], proposal_q[prop]])
    p_vote = np.concatenate([np.where(m.unmoved[lab], 1, 0), np.ones(len(prop), np.int64)])  # 1: the proposal's vote
    p_slot = np.concatenate([m.label_slot[lab], np.full(len(prop), -1)])  # the member slot (-1: not a member)
    pf, prow, pslot, pwidth = group_by_face(p_face)
    P = len(pf)
    pq_pad = pad(p_q, prow, pslot, P, pwidth, fill=1.0)
    pcode = pad(p_code, prow, pslot, P, pwidth, fill=-1).astype(np.int64)
    pvote = pad(p_vote, prow, pslot, P, pwidth, fill=0).astype(np.int64)
    pmember = pad(p_slot, prow, pslot, P, pwidth, fill=-1).astype(np.int64)
    pmask = pcode >= 0
    ja, jb = np.triu_indices(pwidth, 1)
    pair_ok = pmask[:, ja] & pmask[:, jb] & ~((pvote[:, ja] == 1) & (pvote[:, jb] == 1))
    pair_d2 = quaternion_distance_rad(pq_pad[:, ja], pq_pad[:, jb]) ** 2

    hp_code = np.searchsorted(codes, hp_annotator)
    H, n_hp = _group_medians(hp_e2, hp_code, A)
    H_r, n_hp_r = _group_medians(hp_e2, hp_code * nb + hp_range, A * nb)
    H_r, n_hp_r = H_r.reshape(A, nb), n_hp_r.reshape(A, nb)
    var = np.full(A, np.deg2rad(DEFAULT_NOISE_DEG) ** 2)
    by = np.repeat(var[:, None], nb, 1)
    slot_code = np.searchsorted(codes, m.code)
    start = medoid = None
    two_ago: NDArray[np.float64] | None = None
    done = 0
    n_pairs = np.zeros(A, np.int64)
    prior = float(np.rad2deg(np.sqrt(var[0])))
    yaw = np.zeros(len(m.faces))
    inlier = m.mask.copy()
    while done < rounds:
        done += 1
        # pairs with a rejected member say nothing about the noise (they do about blunders: consensus_rejected)
        out_slot = ~inlier
        member_out = np.where(pmember >= 0, np.take_along_axis(out_slot[pf], np.maximum(pmember, 0), 1), False)
        ok = pair_ok & ~member_out[:, ja] & ~member_out[:, jb]
        a, b, d2 = pcode[:, ja][ok], pcode[:, jb][ok], pair_d2[ok]
        pair_key = np.minimum(a, b) * A + np.maximum(a, b)
        frange = np.broadcast_to(yaw_range(yaw[pf])[:, None], ok.shape)[ok]
        D, n_pair = _group_medians(d2, pair_key, A * A)
        D_r, n_pair_r = _group_medians(d2, pair_key * nb + frange, A * A * nb)
        overall = noise_system(D, n_pair, H, n_hp, None, prior_labels, honeypot_weight)
        new_var, n_pairs, prior_v = solve_noise(overall), overall.per_code, float(np.median(overall.prior))
        prior = float(np.rad2deg(np.sqrt(prior_v)))
        new_by = np.empty((A, nb))
        for r in range(nb):
            new_by[:, r] = solve_noise(
                noise_system(
                    D_r[r::nb], n_pair_r[r::nb], H_r[:, r], n_hp_r[:, r], new_var, prior_labels, honeypot_weight
                )
            )
        moved = float(np.max(np.abs(np.sqrt(new_by / by) - 1)))
        previous = by
        var, by = new_var, new_by
        sigma = np.sqrt(by[slot_code, yaw_range(yaw)[:, None]])
        result = weighted_consensus(m.q, m.mask, sigma, huber_k=huber_k, start=start, medoid=medoid)
        start, medoid = result.quaternion, result.medoid
        new_yaw = _abs_yaw_of(result.quaternion)
        # a face near a |yaw| range's edge may flip back and forth: settled is what matters
        flipped = (
            np.mean((result.inlier != inlier).any(1) | (yaw_range(new_yaw) != yaw_range(yaw))) if len(yaw) else 0.0
        )
        inlier, yaw = result.inlier, new_yaw
        if moved < ROUND_TOL and flipped < SETTLED_SHARE:
            break
        # ... or back where it was two rounds ago: a few faces at a range's edge flip to and fro
        if two_ago is not None and float(np.max(np.abs(np.sqrt(by / two_ago) - 1))) < ROUND_TOL:
            break
        two_ago = previous
    # the interval: the solve again with every pair median and honeypot median redrawn from
    # its bootstrap distribution (BOOTSTRAP replicas, fixed seed: the same rows give the same
    # figures), the weights held at the estimate's: one pseudo-inverse serves every replica
    rng = np.random.default_rng(0)
    system = noise_system(D, n_pair, H, n_hp, prior_v, prior_labels, honeypot_weight)
    D_b = RMS_PER_MEDIAN2 * np.nan_to_num(_group_draws(d2, pair_key, A * A, BOOTSTRAP, rng))
    H_b = RMS_PER_MEDIAN2 * np.nan_to_num(_group_draws(hp_e2, hp_code, A, BOOTSTRAP, rng))
    rhs_b = np.concatenate([D_b[:, system.used], H_b, np.broadcast_to(system.prior, (BOOTSTRAP, A))], 1)
    draws = np.maximum((rhs_b * system.weight) @ np.linalg.pinv(system.design).T, np.deg2rad(FLOOR_DEG) ** 2)
    interval = np.rad2deg(np.sqrt(np.percentile(draws, [2.5, 97.5], axis=0).T)) if A else np.zeros((0, 2))
    noise = Noise(
        codes=codes,
        interval_deg=interval,
        deg=np.rad2deg(np.sqrt(var)),
        by_yaw=np.rad2deg(np.sqrt(by)),
        agreement_n=n_pairs,
        honeypot_n=n_hp,
        prior_deg=prior,
    )
    return Estimate(
        members=m, result=result, noise=noise, weights=result.influence, rounds=done, sigma_deg=np.rad2deg(sigma)
    )


def label_weights(m: Members, influence: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N,) each label's weight in its face's consensus: its member's share of the final
    IRLS weight; the unmoved accepts of one proposal share their one vote equally
    (so a face's weights sum to 1, and accepting a proposal adds no weight). 0 for a
    label that does not count or was rejected as an outlier."""
    out = np.zeros(len(m.label_row))
    has = m.label_row >= 0
    r, s = m.label_row[has], m.label_slot[has]
    share = influence[r, s]
    group = np.zeros(m.mask.shape)
    np.add.at(group, (r, s), 1.0)
    out[has] = share / group[r, s]
    return out


def consensus_with(
    noise: Noise,
    face: NDArray[Any],
    annotator: NDArray[np.int64],
    q: NDArray[np.float64],
    counts: NDArray[np.bool_],
    proposal_q: NDArray[np.float64],
    proposal_key: NDArray[np.int64] | None = None,
    huber_k: float = HUBER_K,
) -> tuple[Members, WeightedResult, NDArray[np.float64]]:
    """The weighted consensus of each face under known noise estimates (a save between
    two joint estimates): (members, result, each label's weight)."""
    m = members(
        np.asarray(face), np.asarray(annotator, np.int64), q, np.asarray(counts, bool), proposal_q, proposal_key
    )
    F, K = m.mask.shape
    yaw = _abs_yaw_of(chordal_mean(m.q, m.mask, m.mask.astype(float), m.q[:, 0])) if F and K else np.zeros(F)
    result = None
    for _ in range(2):  # the |yaw| range of the weighted consensus, then the consensus with its noise
        sigma = np.deg2rad(noise.lookup(m.code.reshape(-1), np.repeat(yaw, K))).reshape(F, K)
        result = weighted_consensus(m.q, m.mask, sigma, huber_k=huber_k)
        yaw = _abs_yaw_of(result.quaternion)
    assert result is not None
    return m, result, label_weights(m, result.influence)


def median_interval(values: NDArray[np.float64], z: float = 1.96) -> tuple[float | None, float | None]:
    """95 % interval of the median of `values`: the order statistics at n/2 -+ z sqrt(n)/2,
    the large-sample form of the percentile bootstrap of a median (distribution-free;
    no resampling noise, and cheap at 100,000 labels)."""
    v = np.sort(values[np.isfinite(values)])
    n = len(v)
    if n < 2:
        return None, None
    half = z * np.sqrt(n) / 2
    lo = int(np.clip(np.floor((n - 1) / 2 - half), 0, n - 1))
    hi = int(np.clip(np.ceil((n - 1) / 2 + half), 0, n - 1))
    return float(v[lo]), float(v[hi])
