"""Simulation, not a test: labels spent and consensus error for a fixed overlap of
3 and for adaptive overlap (workers/core/overlap.labels_wanted, the rule the queue
runs), on the same faces with the same simulated annotators. Prints one JSON
document.

Set-up (all in `setup` of the output):

- Faces: the real head poses of AFLW2000-3D (../shared/data/aflw2000/gt_arrays:
  each face's rotation from its 3D landmarks, as bench/landmarks_fit_by_yaw.py
  computes it; |angle| <= 99), else, without the shared data, synthetic poses
  (yaw uniform in +-90, pitch N(0, 15), roll N(0, 10) degrees).
- Proposal: the truth turned by a random rotation whose geodesic RMS grows
  off-frontal, e_exp = 3 + 9 (|yaw| / 90)^2 degrees, with 5% gross misses
  (20-60 degrees); its confidence is calibrated on e_exp (exp(-e_exp / 8),
  jittered by N(0, 0.08)) and missed on a gross miss only half the time (a
  miss the proposer does not know about keeps its confidence).
- Annotators: 12, each with a known noise sigma (geodesic RMS, 1.5 to 6
  degrees) and a blunder rate (1 to 5%: a label 20-45 degrees off); each label
  also keeps 25% of the proposal's error (anchoring: people start from the
  proposal). Each face's labels come from distinct annotators drawn at random.
- Consensus: workers/core/consensus.consensus (chordal mean with outlier
  rejection), the app's; a face with one label is that label.
- Adaptive: first label; a second when the proposal's confidence is under
  HEADPOSE_LOW_CONFIDENCE (0.45) or the face is in the sampled share; a third
  when the first two are further apart than the noise floor; at most 3.
  Run for noise floors and sampled shares in --floors / --shares.

Output: per policy, `labels` (total), `labels_per_face`, consensus error to the
truth (geodesic degrees): median, p90, p99, and the share of faces over 10
degrees. Run: .venv/bin/python bench/bench_adaptive_overlap.py [--seed N]
[--faces N] [--floors 3,5,8] [--shares 0,0.1,0.2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import print_json, shared_dir
from workers.core import consensus as core_consensus
from workers.core import geometry, overlap

LOW_CONFIDENCE = 0.45  # HEADPOSE_LOW_CONFIDENCE's default
N_ANNOTATORS = 12
SIGMAS_DEG = np.linspace(1.5, 6.0, N_ANNOTATORS)
BLUNDER_RATES = np.linspace(0.01, 0.05, N_ANNOTATORS)
ANCHORING = 0.25
PROPOSAL_MISS_RATE = 0.05


def turned(R: np.ndarray, rms_deg, rng) -> np.ndarray:
    """Each R turned by a random rotation of geodesic RMS rms_deg (per row or one)."""
    rms = np.broadcast_to(np.asarray(rms_deg, dtype=np.float64), (len(R),))
    v = rng.normal(size=(len(R), 3)) * np.deg2rad(rms)[:, None] / np.sqrt(3)
    return R @ geometry.axis_angle_to_matrix(v)


def turned_by(R: np.ndarray, angle_deg: np.ndarray, rng) -> np.ndarray:
    """Each R turned by exactly angle_deg about a random axis."""
    axis = rng.normal(size=(len(R), 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return R @ geometry.axis_angle_to_matrix(axis * np.deg2rad(angle_deg)[:, None])


def real_poses() -> tuple[np.ndarray, str]:
    shared = shared_dir()
    if not (shared / "data" / "aflw2000" / "gt_arrays" / "AFLW2000-3D.pts68.npy").exists():
        return np.empty((0, 3, 3)), ""
    from bench.landmarks_fit_by_yaw import pseudo_truth, read_arrays
    from workers.core.proposers.parts.reference_face import load_reference_face

    _, pts3d, _ = read_arrays(shared)
    ref68 = load_reference_face().points68
    out = []
    for pts in pts3d:
        if not np.all(np.isfinite(pts)):
            continue
        R = pseudo_truth(ref68, pts)
        if np.abs(geometry.matrix_to_euler(R)).max() <= 99:
            out.append(R)
    return np.asarray(out), "AFLW2000-3D (rotation from each face's 3D landmarks, |angle| <= 99)"


def synthetic_poses(n: int, rng) -> np.ndarray:
    euler = np.column_stack([rng.uniform(-90, 90, n), rng.normal(0, 15, n), rng.normal(0, 10, n)])
    return geometry.euler_to_matrix(euler)


class World:
    """The faces, their proposals, and the simulated annotators' labels (drawn on demand)."""

    def __init__(self, truth: np.ndarray, rng):
        self.truth = truth
        self.rng = rng
        n = len(truth)
        yaw = np.abs(geometry.matrix_to_euler(truth)[:, 0])
        expected = 3.0 + 9.0 * (yaw / 90.0) ** 2
        proposal = turned(truth, expected, rng)
        miss = rng.random(n) < PROPOSAL_MISS_RATE
        proposal[miss] = turned_by(truth[miss], rng.uniform(20, 60, int(miss.sum())), rng)
        confidence = np.exp(-expected / 8.0) + rng.normal(0, 0.08, n)
        known = miss & (rng.random(n) < 0.5)
        confidence[known] = rng.uniform(0.0, 0.3, int(known.sum()))
        self.proposal = proposal
        self.confidence = np.clip(confidence, 0.0, 1.0)
        # who labels each face, in order: a random permutation of distinct annotators
        self.order = np.argsort(rng.random((n, N_ANNOTATORS)), axis=1)

    def labels(self, k: int) -> np.ndarray:
        """The k-th label (0-based) of every face, (F, 3, 3): the truth with part of
        the proposal's error, the annotator's noise and now and then a blunder."""
        rng = np.random.default_rng([k, 12345])  # the same k-th label whatever the policy
        who = self.order[:, k]
        n = len(self.truth)
        # anchoring: a quarter of the way from the truth toward the proposal
        delta = np.swapaxes(self.truth, 1, 2) @ self.proposal
        anchored = self.truth @ geometry.axis_angle_to_matrix(geometry.matrix_to_axis_angle(delta) * ANCHORING)
        labels = turned(anchored, SIGMAS_DEG[who], rng)
        blunder = rng.random(n) < BLUNDER_RATES[who]
        labels[blunder] = turned_by(labels[blunder], rng.uniform(20, 45, int(blunder.sum())), rng)
        return labels


def consensus_error(world: World, labels: list[np.ndarray], count: np.ndarray) -> np.ndarray:
    """Geodesic error to the truth of each face's consensus of its first count[f] labels."""
    R = np.stack(labels, axis=1)  # (F, K, 3, 3)
    mask = np.arange(R.shape[1])[None, :] < count[:, None]
    est = core_consensus.consensus(R, mask=mask).R
    return np.asarray(geometry.geodesic_distance(est, world.truth))


def summary(errors: np.ndarray, count: np.ndarray) -> dict:
    return {
        "labels": int(count.sum()),
        "labels_per_face": round(float(count.mean()), 3),
        "faces_with": {str(k): int((count == k).sum()) for k in (1, 2, 3)},
        "consensus_error_deg": {
            "median": round(float(np.median(errors)), 3),
            "p90": round(float(np.percentile(errors, 90)), 3),
            "p99": round(float(np.percentile(errors, 99)), 3),
            "over_10_share": round(float(np.mean(errors > 10)), 4),
        },
    }


def adaptive_counts(
    world: World, labels: list[np.ndarray], floor: float, share: float, seed: int, proposal_check: bool = True
) -> np.ndarray:
    """How many labels each face gets under overlap.labels_wanted, asked as the queue asks it."""
    n = len(world.truth)
    low = world.confidence < LOW_CONFIDENCE
    salt = f"bench-{seed}".encode()
    sampled = np.array([overlap.sampled(salt + str(f).encode(), share) for f in range(n)])
    first_two = np.asarray(geometry.geodesic_distance(labels[0], labels[1]))
    to_proposal = np.asarray(geometry.geodesic_distance(labels[0], world.proposal))
    count = np.ones(n, dtype=int)
    for f in range(n):
        asked = {"low_confidence": bool(low[f]), "sampled": bool(sampled[f]), "noise_floor_deg": floor}
        gap = float(to_proposal[f]) if proposal_check else None
        if overlap.labels_wanted(**asked, first_two_deg=None, first_to_proposal_deg=gap) >= 2:
            count[f] = overlap.labels_wanted(**asked, first_two_deg=float(first_two[f]), first_to_proposal_deg=gap)
    return count


def run(seed: int = 0, faces: int | None = None, floors=(3.0, 5.0, 8.0), shares=(0.0, 0.1, 0.2)) -> dict:
    rng = np.random.default_rng(seed)
    truth, source = real_poses()
    if len(truth) == 0:
        truth, source = synthetic_poses(faces or 2000, rng), "synthetic (no ../shared/data/aflw2000)"
    if faces:
        truth = truth[:faces]
    world = World(truth, rng)
    labels = [world.labels(k) for k in range(3)]
    n = len(truth)
    single = geometry.geodesic_distance(labels[0], truth)
    out = {
        "setup": {
            "faces": n,
            "poses": source,
            "seed": seed,
            "annotators": N_ANNOTATORS,
            "annotator_sigma_deg": [round(float(s), 2) for s in SIGMAS_DEG],
            "annotator_blunder_rate": [round(float(b), 3) for b in BLUNDER_RATES],
            "anchoring_to_proposal": ANCHORING,
            "proposal_expected_error_deg": "3 + 9 (|yaw| / 90)^2, plus 5% misses of 20-60 deg",
            "low_confidence": LOW_CONFIDENCE,
            "low_confidence_faces": int((world.confidence < LOW_CONFIDENCE).sum()),
            "proposal_error_deg_median": round(float(np.median(geometry.geodesic_distance(world.proposal, truth))), 3),
            "single_label_error_deg_median": round(float(np.median(single)), 3),
        },
        "fixed_1": summary(consensus_error(world, labels, np.ones(n, int)), np.ones(n, int)),
        "fixed_3": summary(consensus_error(world, labels, np.full(n, 3)), np.full(n, 3)),
        "adaptive": [],
    }
    for floor in floors:
        for share in shares:
            for check in (True, False):
                count = adaptive_counts(world, labels, floor, share, seed, proposal_check=check)
                out["adaptive"].append(
                    {
                        "noise_floor_deg": floor,
                        "sample_share": share,
                        "proposal_check": check,
                        **summary(consensus_error(world, labels, count), count),
                    }
                )
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faces", type=int, default=None)
    parser.add_argument("--floors", default="3,5,8")
    parser.add_argument("--shares", default="0,0.1,0.2")
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    result = run(
        args.seed,
        args.faces,
        tuple(float(v) for v in args.floors.split(",")),
        tuple(float(v) for v in args.shares.split(",")),
    )
    print_json(result)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
