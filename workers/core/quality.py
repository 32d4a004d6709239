"""Team quality figures from flat label arrays: per-face consensus, per-annotator
scores, the dataset's noise floor. Plain numpy, no Django: the Django side
(annotator/quality.py) reads the rows and passes arrays in.

Every figure is measured on data that did not tune it: an annotator's
agreement is the distance of their label to the consensus of the *other*
annotators of the face (leave-one-out), never to a consensus that includes
their own label; honeypot errors are against trusted labels (the dataset's
ground truth or a reviewer-approved label)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry, reliability
from workers.core.consensus import (
    Consensus,
    consensus,
    group_by_face,
    nanmedian_rows,
    pad,
    quaternion_distance_rad,
)

# amended: a reviewer replaced the pose (the annotator's version stays in the revisions)
REVIEW_PENDING, REVIEW_APPROVED, REVIEW_REJECTED, REVIEW_AMENDED = 0, 1, 2, 3
YAW_BINS = (0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0, 180.0)
ERROR_HISTOGRAM_EDGES = tuple(float(e) for e in range(31)) + (180.0,)
FAR_DEG = 10.0  # the honeypot "share over" threshold
# rubber-stamping: policy thresholds, not fitted. A face is contested when the others' weighted
# consensus is over CONTESTED_DEG (the default review threshold) from the proposal; an annotator is
# flagged when at least RUBBER_STAMP_SHARE of their labels on at least RUBBER_STAMP_MIN_FACES
# contested faces left the proposal unmoved
CONTESTED_DEG = 5.0
RUBBER_STAMP_SHARE = 0.5
RUBBER_STAMP_MIN_FACES = 5


@dataclass
class LabelTable:
    """One finished label per row (an annotator's current annotation of a face)."""

    annotator: NDArray[np.int_]  # (N,)
    face: NDArray[np.int_]  # (N,)
    R: NDArray[np.float64]  # (N, 3, 3)
    t: NDArray[np.float64]  # (N, 3) mm, NaN where none
    time_s: NDArray[np.float64]  # (N,) total seconds spent on the label
    finished_at: NDArray[np.float64]  # (N,) seconds since the epoch of the last save
    proposal_R: NDArray[np.float64]  # (N, 3, 3) the proposal the annotator started from, NaN where none
    review: NDArray[np.int_]  # (N,) REVIEW_*
    counts_for_consensus: NDArray[np.bool_]  # (N,): a pose (accepted/corrected) not rejected by a reviewer
    # (N,) the proposal each label started from (its id; -1: none): unmoved accepts of one proposal are one vote.
    # None: one proposal per face
    proposal_key: NDArray[np.int64] | None = None
    # (N,) degrees each label moved from its proposal as stored with it (NaN: not stored, computed
    # from proposal_R); None: none stored
    moved_deg: NDArray[np.float64] | None = None


@dataclass
class HoneypotTable:
    annotator: NDArray[np.int_]  # (H,)
    error_deg: NDArray[np.float64]  # (H,) geodesic error of the answer to the trusted label
    abs_yaw: NDArray[np.float64]  # (H,) |yaw| of the trusted label, degrees


@dataclass
class FaceConsensus:
    """Consensus per face, with each label's place in the padded member arrays."""

    faces: NDArray[Any]  # (F,) face keys
    result: Consensus
    label_index: NDArray[np.intp]  # (F, K) row of LabelTable per member slot, -1 where empty
    q: NDArray[np.float64]  # (F, K, 4) the members' quaternions (identity in empty slots)


def _quaternions(R: NDArray[np.float64]) -> NDArray[np.float64]:
    return geometry.matrix_to_quaternion(np.asarray(R, dtype=np.float64).reshape(-1, 3, 3))


def face_consensus(
    labels: LabelTable, weights: NDArray[np.float64] | None = None, quaternions: NDArray[np.float64] | None = None
) -> FaceConsensus:
    """Consensus of each face's labels that count for it (see LabelTable).
    `quaternions`: the labels' (N, 4), when the caller has them already."""
    rows = np.flatnonzero(labels.counts_for_consensus)
    faces, row, slot, width = group_by_face(labels.face[rows])
    q_rows = _quaternions(labels.R[rows]) if quaternions is None else quaternions[rows]
    q = pad(q_rows, row, slot, len(faces), width, fill=1.0)
    t = pad(labels.t[rows], row, slot, len(faces), width)
    index = pad(rows, row, slot, len(faces), width, fill=-1)
    w = None if weights is None else pad(np.asarray(weights, float)[rows], row, slot, len(faces), width, fill=0.0)
    result = consensus(q, t, index >= 0, w)
    return FaceConsensus(faces=faces, result=result, label_index=index, q=q)


def needs_review(result: Consensus, review_deg: float) -> NDArray[np.bool_]:
    """(F,) bool: members disagree (dispersion over `review_deg`) or one was rejected as an outlier."""
    rejected = (result.distance_deg == result.distance_deg) & ~result.inlier  # a member (not NaN) left out
    out: NDArray[np.bool_] = (np.nan_to_num(result.dispersion_deg) > review_deg) | rejected.any(1)
    return out


def leave_one_out_distance(labels: LabelTable, fc: FaceConsensus) -> NDArray[np.float64]:
    """(N,) per label: geodesic distance (degrees) to the consensus of the other
    members of its face; NaN for a label alone on its face or not a member.
    With one other member that is the other label; with two, their chordal mean
    in closed form (two members never reject each other: see consensus); with
    more, consensus() of the others."""
    out = np.full(len(labels.face), np.nan)
    index = fc.label_index
    if index.size == 0:
        return out
    mask = index >= 0
    count = mask.sum(1)
    for j in range(index.shape[1]):
        has = np.flatnonzero(mask[:, j] & (count >= 2))
        if not len(has):
            continue
        others = mask[has].copy()
        others[:, j] = False
        centre = np.empty((len(has), 4))
        few = count[has] <= 3
        if few.any():  # the first two other slots (the second is the first again when there is one)
            first = np.argmax(others[few], axis=1)
            rest = others[few].copy()
            rest[np.arange(len(first)), first] = False
            second = np.where(rest.any(1), np.argmax(rest, axis=1), first)
            a, b = fc.q[has[few], first], fc.q[has[few], second]
            b = b * np.where(np.sum(a * b, -1, keepdims=True) < 0, -1.0, 1.0)
            centre[few] = (a + b) / np.linalg.norm(a + b, axis=-1, keepdims=True)
        if (~few).any():
            centre[~few] = consensus(fc.q[has[~few]], None, others[~few]).quaternion
        # the left-out member's distance to the others' consensus
        out[index[has, j]] = np.rad2deg(quaternion_distance_rad(centre, fc.q[has, j]))
    return out


@dataclass
class WeightedFigures:
    """The reliability-weighted consensus (workers/core/reliability.py) and what the scores
    take from it, per label (N,) unless said."""

    estimate: reliability.Estimate
    consensus: Consensus  # per face, in member slots (a face's unmoved accepts of a proposal: one slot)
    label_weight: NDArray[np.float64]  # each label's weight in its face's consensus
    agreement: NDArray[np.float64]  # distance (degrees) to the weighted consensus of the *other* members; NaN: alone
    contested: NDArray[np.bool_]  # the others' consensus is over CONTESTED_DEG from the label's proposal
    rejected: NDArray[np.bool_]  # left out of its face's consensus as an outlier
    pair_only: NDArray[np.bool_]  # on a face of exactly two members: agreement cannot tell who is off
    face_yaw: NDArray[np.float64]  # |yaw| of the label's face consensus


def weighted_figures(
    labels: LabelTable, honeypots: HoneypotTable, quaternions: NDArray[np.float64] | None = None
) -> WeightedFigures:
    """The joint noise + consensus estimate of the labels, and each label's leave-one-out
    agreement against the weighted consensus of the others (exact: one weighted
    consensus per member slot, the others' noise as weights)."""
    q = _quaternions(labels.R) if quaternions is None else quaternions
    N = len(labels.face)
    has_prop = np.isfinite(labels.proposal_R).all((1, 2))
    pq = np.full((N, 4), np.nan)
    if has_prop.any():
        pq[has_prop] = _quaternions(labels.proposal_R[has_prop])
    est = reliability.estimate(
        labels.face,
        labels.annotator,
        q,
        labels.counts_for_consensus,
        pq,
        proposal_key=labels.proposal_key,
        hp_annotator=honeypots.annotator,
        hp_error_deg=honeypots.error_deg,
        hp_abs_yaw=honeypots.abs_yaw,
    )
    m, res = est.members, est.result
    F, K = m.mask.shape
    count = m.mask.sum(1)
    sigma = np.deg2rad(est.sigma_deg)
    centre = np.full((F, K, 4), np.nan)
    for j in range(K):
        has = np.flatnonzero(m.mask[:, j] & (count >= 2))
        if not len(has):
            continue
        others = m.mask[has].copy()
        others[:, j] = False
        centre[has, j] = reliability.weighted_consensus(m.q[has], others, sigma[has]).quaternion
    row, slot = m.label_row, m.label_slot
    member = row >= 0
    agreement = np.full(N, np.nan)
    contested = np.zeros(N, bool)
    if member.any():
        c = centre[row[member], slot[member]]
        agreement[member] = np.rad2deg(quaternion_distance_rad(c, q[member]))
        to_prop = np.rad2deg(quaternion_distance_rad(c, np.where(np.isfinite(pq[member]), pq[member], 1.0)))
        contested[member] = has_prop[member] & np.isfinite(to_prop) & (to_prop > CONTESTED_DEG)
    rejected = np.zeros(N, bool)
    rejected[member] = ~res.inlier[row[member], slot[member]]
    labels_per_face = np.bincount(row[member], minlength=F)
    face_R = geometry.quaternion_to_matrix(res.quaternion) if F else np.zeros((0, 3, 3))
    face_abs_yaw = abs_yaw(face_R)
    face_yaw = np.full(N, np.nan)
    face_yaw[member] = face_abs_yaw[row[member]]
    pair_only = np.zeros(N, bool)
    pair_only[member] = count[row[member]] == 2
    cons = Consensus(
        R=face_R,
        t=np.full((F, 3), np.nan),
        inlier=res.inlier,
        distance_deg=res.distance_deg,
        dispersion_deg=nanmedian_rows(res.distance_deg),
        member_count=labels_per_face,
        quaternion=res.quaternion,
    )
    return WeightedFigures(
        estimate=est,
        consensus=cons,
        label_weight=reliability.label_weights(m, res.influence),
        agreement=agreement,
        contested=contested,
        rejected=rejected,
        pair_only=pair_only,
        face_yaw=face_yaw,
    )


def _stats(values: NDArray[np.float64]) -> dict[str, Any]:
    v = values[np.isfinite(values)]
    if not len(v):
        return {"n": 0, "median": None, "p90": None}
    median, p90 = np.percentile(v, [50, 90])
    return {"n": int(len(v)), "median": float(median), "p90": float(p90)}


def _histogram(values: NDArray[np.float64]) -> list[int]:
    v = values[np.isfinite(values)]
    out: list[int] = np.histogram(np.clip(v, 0, 180), bins=ERROR_HISTOGRAM_EDGES)[0].astype(int).tolist()
    return out


def _by_yaw(values: NDArray[np.float64], abs_yaw: NDArray[np.float64]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lo, hi in zip(YAW_BINS[:-1], YAW_BINS[1:]):
        inside = (abs_yaw >= lo) & (abs_yaw < hi)
        out.append({"yaw_from": lo, "yaw_to": hi, **_stats(values[inside])})
    return out


def _groups(keys: NDArray[np.int_]) -> dict[int, NDArray[np.intp]]:
    """{key: the row indices holding it}, from one stable sort (not one mask per key)."""
    order = np.argsort(keys, kind="stable")
    values, starts = np.unique(keys[order], return_index=True)
    return {int(k): idx for k, idx in zip(values, np.split(order, starts[1:]))}


def annotator_scores(
    labels: LabelTable,
    honeypots: HoneypotTable,
    agreement: NDArray[np.float64],
    rejected_as_outlier: NDArray[np.bool_],
    consensus_abs_yaw: NDArray[np.float64],
    quaternions: NDArray[np.float64] | None = None,
    weighted: WeightedFigures | None = None,
) -> dict[int, dict[str, Any]]:
    """Per annotator code: the figures of the quality page (see docs/QUALITY.md).
    `agreement`: leave_one_out_distance; `rejected_as_outlier`: (N,) bool;
    `consensus_abs_yaw`: (N,) |yaw| of each label's face consensus (NaN if none);
    `weighted`: the reliability figures (noise, unmoved accepts, rubber-stamping)."""
    has_proposal = np.isfinite(labels.proposal_R).all((1, 2))
    moved = np.full(len(labels.face), np.nan)
    if has_proposal.any():
        q_labels = _quaternions(labels.R) if quaternions is None else quaternions
        moved[has_proposal] = np.rad2deg(
            quaternion_distance_rad(_quaternions(labels.proposal_R[has_proposal]), q_labels[has_proposal])
        )
    if labels.moved_deg is not None:  # what the save recorded wins (the proposal it started from, at save time)
        stored = np.isfinite(labels.moved_deg)
        moved[stored] = labels.moved_deg[stored]
    by_label, by_answer = _groups(labels.annotator), _groups(honeypots.annotator)
    empty = np.array([], dtype=np.int64)
    scores: dict[int, dict[str, Any]] = {}
    for who in sorted(set(by_label) | set(by_answer)):
        mine, hp = by_label.get(who, empty), by_answer.get(who, empty)
        extra = _reliability_scores(who, mine, labels, moved, agreement, weighted) if weighted is not None else {}
        n = len(mine)
        times = labels.time_s[mine]
        hp_err = honeypots.error_deg[hp]
        hp_stats, agree, time_stats = _stats(hp_err), agreement[mine], _stats(times)
        agree_stats = _stats(agree)
        hours = float(times.sum()) / 3600.0
        approved = int((labels.review[mine] == REVIEW_APPROVED).sum())
        rejected = int((labels.review[mine] == REVIEW_REJECTED).sum())
        amended = int((labels.review[mine] == REVIEW_AMENDED).sum())
        scores[who] = {
            "faces": n,
            "median_time_s": time_stats["median"],
            "p90_time_s": time_stats["p90"],
            "throughput_per_hour": (n / hours) if hours > 0 else None,
            "honeypot_answers": hp_stats["n"],
            "honeypot_geodesic_median": hp_stats["median"],
            "honeypot_geodesic_p90": hp_stats["p90"],
            "honeypot_share_over_10": float((hp_err > FAR_DEG).mean()) if len(hp_err) else None,
            "agreement_faces": agree_stats["n"],
            "agreement_geodesic_median": agree_stats["median"],
            "agreement_geodesic_p90": agree_stats["p90"],
            "consensus_rejected": int(rejected_as_outlier[mine].sum()),
            "approved": approved,
            "rejected": rejected,
            "amended": amended,
            "corrected": amended,  # deprecated: amended's old name
            "approval_rate": approved / n if n else None,
            "rejection_rate": rejected / n if n else None,
            "proposal_moved_median": _stats(moved[mine])["median"],
            **extra,
            "charts": {
                # honeypot errors when there are any, else agreement: what the error chart can show
                "error_kind": "honeypot" if len(hp_err) else "agreement",
                "error_histogram": _histogram(hp_err if len(hp_err) else agree),
                "error_by_abs_yaw": _by_yaw(hp_err, honeypots.abs_yaw[hp])
                if len(hp_err)
                else _by_yaw(agree, consensus_abs_yaw[mine]),
                "throughput_hours": _per_hour(labels.finished_at[mine]),
            },
        }
    return scores


def _reliability_scores(
    who: int,
    mine: NDArray[np.intp],
    labels: LabelTable,
    moved: NDArray[np.float64],
    agreement: NDArray[np.float64],
    weighted: WeightedFigures,
) -> dict[str, Any]:
    noise = weighted.estimate.noise
    i = int(np.searchsorted(noise.codes, who))
    known = i < len(noise.codes) and noise.codes[i] == who
    interval = None
    if known and noise.interval_deg is not None and np.isfinite(noise.interval_deg[i]).all():
        interval = [float(noise.interval_deg[i, 0]), float(noise.interval_deg[i, 1])]
    started = np.isfinite(moved[mine])
    unmoved = moved[mine] < reliability.UNMOVED_DEG
    contested = weighted.contested[mine]
    lo, hi = reliability.median_interval(agreement[mine])
    agreeing = np.isfinite(agreement[mine])
    stamp_share = float(unmoved[contested].mean()) if contested.any() else None
    return {
        "noise_deg": float(noise.deg[i]) if known else None,
        "noise_interval": interval,
        "noise_by_abs_yaw": [
            {"yaw_from": a, "yaw_to": b, "noise_deg": float(noise.by_yaw[i, r]) if known else None}
            for r, (a, b) in enumerate(zip(reliability.YAW_RANGES[:-1], reliability.YAW_RANGES[1:]))
        ],
        "noise_pairs": int(noise.agreement_n[i]) if known else 0,
        "agreement_interval": None if lo is None else [lo, hi],
        "agreement_pair_only_share": float(weighted.pair_only[mine][agreeing].mean()) if agreeing.any() else None,
        "accepted_unmoved_share": float(unmoved[started].mean()) if started.any() else None,
        "contested_faces": int(contested.sum()),
        "rubber_stamp_share": stamp_share,
        "rubber_stamp": bool(
            stamp_share is not None and contested.sum() >= RUBBER_STAMP_MIN_FACES and stamp_share >= RUBBER_STAMP_SHARE
        ),
        "consensus_weight_median": _stats(weighted.label_weight[mine][labels.counts_for_consensus[mine]])["median"],
    }


def _per_hour(finished_at: NDArray[np.float64]) -> list[list[int]]:
    """[[hour start (epoch seconds), labels finished in that hour], ...] for the hours with any."""
    if not len(finished_at):
        return []
    hours, counts = np.unique((finished_at // 3600).astype(np.int64), return_counts=True)
    return [[int(h) * 3600, int(c)] for h, c in zip(hours, counts)]


def noise_floor(result: Consensus) -> list[dict[str, Any]]:
    """Inter-annotator dispersion per |yaw| bin of the consensus, over faces with
    two or more members: how far apart careful people put the same head."""
    several = result.member_count >= 2
    if not several.any():
        return _by_yaw(np.array([]), np.array([]))
    yaw = np.abs(geometry.matrix_to_euler(result.R[several])[:, 0])
    return _by_yaw(result.dispersion_deg[several], yaw)


def abs_yaw(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """|yaw| (degrees, AFLW convention) of (n, 3, 3) rotations; NaN rows stay NaN."""
    R = np.asarray(R, dtype=np.float64).reshape(-1, 3, 3)
    ok = np.isfinite(R).all((1, 2))
    out = np.full(len(R), np.nan)
    if ok.any():
        out[ok] = np.abs(geometry.matrix_to_euler(R[ok])[:, 0])
    return out


def report_figures(labels: LabelTable, honeypots: HoneypotTable, review_deg: float) -> dict[str, Any]:
    """Every figure of the quality report from the tables: the reliability-weighted
    consensus (counts, dispersion, the noise floor), each annotator's noise, and
    per annotator code the scores (agreement against the others' weighted consensus)."""
    quaternions = _quaternions(labels.R)
    w = weighted_figures(labels, honeypots, quaternions)
    res = w.consensus
    several = res.member_count >= 2
    disp = res.dispersion_deg[several]
    noise = w.estimate.noise
    p = int(np.searchsorted(noise.codes, reliability.PROPOSER))
    proposer = p < len(noise.codes) and noise.codes[p] == reliability.PROPOSER
    return {
        "faces_labeled": int(len(w.estimate.members.faces)),
        "faces_with_overlap": int(several.sum()),
        "faces_needing_review": int(needs_review(res, review_deg).sum()),
        "dispersion_median": float(np.median(disp)) if len(disp) else None,
        "dispersion_p90": float(np.percentile(disp, 90)) if len(disp) else None,
        "noise_floor": noise_floor(res),
        "consensus_method": reliability.METHOD,
        "noise_rounds": int(w.estimate.rounds),
        "noise_prior_deg": float(noise.prior_deg),
        "proposer_noise_deg": float(noise.deg[p]) if proposer else None,
        "faces_pair_only": int((res.member_count == 2).sum()),
        "noise": noise.as_dict(),
        "scores": annotator_scores(labels, honeypots, w.agreement, w.rejected, w.face_yaw, quaternions, weighted=w),
    }
