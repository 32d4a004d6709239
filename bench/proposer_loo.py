"""Leave-one-out figures for everything fitted in the proposers (used by
bench/proposer_accuracy.py; no figure here comes from data that tuned it).

Fitted constants and how each held-out face i is kept out of them:
- landmarks-fit's reference face (orientation and size from the samples'
  Pose_Para; the FaceMesh 468-point mean and the 68 <- 468 mapping from the
  samples' images): rebuilt without face i (tools/build_reference_face.py
  build_from(exclude=[i])); its GPA shape mean never contains the samples.
- fused's per-angle member MAEs: measured on the other faces j != i, with
  landmarks-fit's prediction on j made by a reference face built without i and
  j (nested leave-one-out).
- the confidence calibration: fitted on the other faces' leave-one-out fused
  errors and features (confidence.fit_calibration).
The networks (MobileNet-3DMM, FSA-Net, ...) were trained elsewhere; nothing of
theirs is fitted here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workers.core import geometry
from workers.core.metrics import angle_errors
from workers.core.proposers.default import CONFIG as LF_CONFIG
from workers.core.proposers.default import LandmarksFitProposer
from workers.core.proposers.default import prior_deg as lf_prior_deg
from workers.core.proposers.parts import confidence as conf
from workers.core.proposers.parts import fusion
from workers.core.proposers.parts.reference_build import build_from, read_inputs
from workers.core.proposers.parts.reference_face import reference_face_from_arrays

LF = "landmarks-fit"
YAW_BINS = (0.0, 30.0, 60.0, 99.0)
DROP_CHECKS = (10.0, 15.0, 20.0, 30.0, 1000.0)


def pick(proposals, centre):
    """The proposal whose box centre is nearest `centre`, or None."""
    if not proposals:
        return None
    d = [np.hypot((p.box[0] + p.box[2]) / 2 - centre[0], (p.box[1] + p.box[3]) / 2 - centre[1]) for p in proposals]
    return proposals[int(np.argmin(d))]


class LandmarksFitFolds:
    """landmarks-fit predictions with reference faces built without given samples."""

    def __init__(self, shared: Path, samples, faces, Ks):
        self.inputs = read_inputs(shared)
        self.samples, self.faces, self.Ks = samples, faces, Ks
        self.stems = [Path(s[0]).stem for s in samples]
        self._cache: dict[frozenset, LandmarksFitProposer] = {}

    def proposer(self, exclude: frozenset) -> LandmarksFitProposer:
        if exclude not in self._cache:
            ref = reference_face_from_arrays(build_from(self.inputs, {self.stems[k] for k in exclude}))
            self._cache[exclude] = LandmarksFitProposer(LF_CONFIG, reference=ref)
        return self._cache[exclude]

    def predict(self, j: int, exclude) -> object:
        """The chosen proposal for sample j, reference face built without `exclude` (indices)."""
        p = self.proposer(frozenset(exclude))
        props = p.propose_faces([self.samples[j][1]], [self.Ks[j]], [self.faces[j]])[0]
        return pick(props, self.samples[j][3].mean(0))


def mae_rows(err: np.ndarray) -> dict:
    """err (N, 3) -> MAE yaw / pitch / roll / mean."""
    if len(err) == 0:
        return {"faces": 0}
    m = err.mean(0)
    return {
        "faces": int(len(err)),
        "mae_yaw": float(m[0]),
        "mae_pitch": float(m[1]),
        "mae_roll": float(m[2]),
        "mae_mean": float(m.mean()),
    }


def by_yaw_bin(err: np.ndarray, gt_yaw: np.ndarray) -> list[dict]:
    out = []
    for lo, hi in zip(YAW_BINS[:-1], YAW_BINS[1:]):
        sel = (np.abs(gt_yaw) >= lo) & (np.abs(gt_yaw) < hi)
        out.append({"abs_yaw_deg": [lo, hi], **mae_rows(err[sel])})
    return out


def leave_one_out(samples, faces, Ks, member_preds: dict, shared: Path) -> dict:
    """member_preds: name -> list (per sample) of the chosen PoseProposal or None,
    for the members with nothing fitted here. Returns the leave-one-out report."""
    n = len(samples)
    gt = np.array([s[2] for s in samples])
    folds = LandmarksFitFolds(shared, samples, faces, Ks)
    preds = dict(member_preds)
    preds[LF] = [folds.predict(i, [i]) for i in range(n)]
    names = [LF, *[m for m in member_preds if m != LF]]

    def errors_of(R, i):
        return angle_errors(geometry.matrix_to_euler(R[None]), gt[i : i + 1], "plain")[0]

    # members, each face predicted without itself in anything fitted
    member_err = {}
    for name in names:
        rows = [(i, errors_of(p.R, i)) for i, p in enumerate(preds[name]) if p is not None]
        member_err[name] = dict(rows)

    fused = {d: {} for d in DROP_CHECKS}
    flat = {}  # the same without the per-regime degradation (a check, not what ships)
    features, maes_used = {}, {}
    for i in range(n):
        # per-angle MAEs of each member on the other faces; landmarks-fit nested
        mae = {}
        for name in names:
            errs = []
            for j in range(n):
                if j == i:
                    continue
                p = folds.predict(j, [i, j]) if name == LF else preds[name][j]
                if p is not None:
                    errs.append(errors_of(p.R, j))
            if errs:
                mae[name] = np.mean(errs, axis=0)
        maes_used[samples[i][0]] = {k: np.round(v, 3).tolist() for k, v in mae.items()}
        present = [m for m in names if preds[m][i] is not None and m in mae]
        for drop in DROP_CHECKS:
            if not present:
                continue
            f = fusion.fuse([preds[m][i].R for m in present], present, mae, drop_deg=drop)
            if f.R is None:
                continue
            fused[drop][i] = (errors_of(f.R, i), f)
        if present:
            f = fusion.fuse([preds[m][i].R for m in present], present, mae, degradation={})
            if f.R is not None:
                flat[i] = errors_of(f.R, i)
        if i in fused[fusion.DROP_DEG]:
            _e, f = fused[fusion.DROP_DEG][i]
            lf = preds[LF][i]
            features[i] = conf.features(
                f.spread_deg,
                len(f.dropped),
                lf.residual if lf is not None else None,
                f.expected_deg,
                lf.twin_deg if lf is not None else None,
            )

    report = {
        "members": {},
        "fused": {},
        "fused_drop_threshold_check": {},
        "fused_without_regimes_check": mae_rows(np.array(list(flat.values())).reshape(-1, 3)),
    }
    gt_yaw = gt[:, 0]
    for name in names:
        idx = sorted(member_err[name])
        err = np.array([member_err[name][i] for i in idx]).reshape(-1, 3)
        report["members"][name] = {
            **mae_rows(err),
            "per_yaw_bin": by_yaw_bin(err, gt_yaw[idx]),
            "per_sample_mean_error": {samples[i][0]: round(float(member_err[name][i].mean()), 3) for i in idx},
        }
    for drop in DROP_CHECKS:
        idx = sorted(fused[drop])
        err = np.array([fused[drop][i][0] for i in idx]).reshape(-1, 3)
        report["fused_drop_threshold_check"][str(drop)] = {**mae_rows(err), "no_pose": n - len(idx)}
    idx = sorted(fused[fusion.DROP_DEG])
    err = np.array([fused[fusion.DROP_DEG][i][0] for i in idx]).reshape(-1, 3)
    report["fused"] = {
        **mae_rows(err),
        "drop_deg": fusion.DROP_DEG,
        "no_pose": n - len(idx),
        "per_yaw_bin": by_yaw_bin(err, gt_yaw[idx]),
        "per_sample_mean_error": {samples[i][0]: round(float(fused[fusion.DROP_DEG][i][0].mean()), 3) for i in idx},
        "dropped": {
            samples[i][0]: fused[fusion.DROP_DEG][i][1].dropped for i in idx if fused[fusion.DROP_DEG][i][1].dropped
        },
        "member_mae_per_fold": maes_used,
    }
    lf_idx = sorted(member_err[LF])
    lf_features = {
        i: conf.features(
            0.0, 0, preds[LF][i].residual, lf_prior_deg(fusion.regime(preds[LF][i].R)), preds[LF][i].twin_deg
        )
        for i in lf_idx
    }
    report["confidence_landmarks_fit"] = calibration_report(
        lf_idx, lf_features, {i: member_err[LF][i].mean() for i in lf_idx}, [s[0] for s in samples]
    )
    report["confidence"] = calibration_report(
        idx, features, {i: fused[fusion.DROP_DEG][i][0].mean() for i in idx}, [s[0] for s in samples]
    )
    return report


def calibration_report(idx, features, mean_err, names) -> dict:
    """Each face's confidence from a calibration fitted on the other faces; the
    curve: mean error per confidence bin (low to high)."""
    rows = []
    for i in idx:
        others = [j for j in idx if j != i]
        cal = conf.fit_calibration(np.array([features[j] for j in others]), np.array([mean_err[j] for j in others]))
        expected = conf.expected_error(features[i], cal)
        rows.append((names[i], float(conf.confidence(expected)), float(expected), float(mean_err[i])))
    rows.sort(key=lambda r: r[1])
    c = np.array([r[1] for r in rows])
    e = np.array([r[3] for r in rows])
    curve = conf.curve(c, e)
    all_faces = conf.fit_calibration(np.array([features[j] for j in idx]), np.array([mean_err[j] for j in idx]))
    rho = float(np.corrcoef(np.argsort(np.argsort(c)), np.argsort(np.argsort(e)))[0, 1]) if len(rows) > 2 else None
    return {
        "how": "per face: calibration fitted on the other faces' leave-one-out errors",
        "curve_low_to_high_confidence": curve,
        "spearman_confidence_vs_error": rho,
        "calibration_all_faces": np.round(all_faces, 3).tolist(),
        "per_sample": [
            {
                "sample": r[0],
                "confidence": round(r[1], 3),
                "expected_error_deg": round(r[2], 3),
                "mean_error_deg": round(r[3], 3),
            }
            for r in rows
        ],
    }
