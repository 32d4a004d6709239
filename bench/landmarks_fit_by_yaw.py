"""How a landmark fit's error grows off-frontal: the fitting stage alone on all of AFLW2000-3D.

The 2000 faces of AFLW2000-3D have no images here, but they have landmarks
(gt_arrays/): 3D ones from the 3DMM fit (`pts68`, depth included) and 2D ones
placed by people (`Reannotated.pts68`; like a detector's, the outline follows the
visible silhouette). That is enough to measure the part of landmarks-fit that
does not depend on FaceMesh: fitting 2D landmarks to the rigid reference face
(landmark_fit.fit_pose, the shipped weights and camera) — per |yaw| bin, at a
scale the 10 real images cannot reach (279 faces at |yaw| >= 60).

Pose per face: the 3D landmarks similarity-aligned (rotation + scale, Umeyama) to
the shipped reference face's 68 points; on the 10 real samples (which have
Pose_Para) this agrees with the label within `pseudo_truth_check` degrees. The
real samples are left out of every figure. Only faces with every |angle| <= 99
(the AFLW2000 protocol filter) count.

Variants: shipped (outline weight 0.25), outline_1 (weighted like the rest),
outline_0 (left out), visibility (a second pass weighting each point by how
squarely it faces the camera), and `3d_style` (the 3D landmarks' own x, y: where
the occluded points really are; what FaceMesh, a mesh model, aims at).

`degradation` is what fusion.py's LANDMARK_FIT_DEGRADATION holds: the shipped
fit's MAE per angle in each regime over its MAE on frontal faces (|yaw| < 30,
|pitch| < 20). Nothing in it is fitted to the 10 real images.
Usage: .venv/bin/python bench/landmarks_fit_by_yaw.py [--variants shipped,...] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import print_json, shared_dir
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.proposers.parts.fusion import regime
from workers.core.proposers.parts.landmark_fit import FitError, fit_pose
from workers.core.proposers.parts.reference_build import JAW, aflw_to_camera, load_samples, similarity
from workers.core.proposers.parts.reference_face import load_reference_face

VARIANTS = ("shipped", "outline_1", "outline_0", "visibility", "3d_style")
REGIMES = ("frontal", "pitched", "turned", "profile")
IMAGE_SIDE = 450  # AFLW2000 images are 450 x 450


def read_arrays(shared: Path):
    g = shared / "data" / "aflw2000" / "gt_arrays"
    pts3d = aflw_to_camera(np.load(g / "AFLW2000-3D.pts68.npy"))
    pts2d = np.swapaxes(np.load(g / "AFLW2000-3D-Reannotated.pts68.npy"), 1, 2).astype(np.float64)
    names = [Path(n).stem for n in (g / "file_list.txt").read_text().split()]
    if not len(names) == len(pts3d) == len(pts2d):
        raise SystemExit(f"gt_arrays disagree on the face count: {len(names)}, {len(pts3d)}, {len(pts2d)}")
    return names, pts3d, pts2d


def pseudo_truth(ref68: np.ndarray, pts3d: np.ndarray) -> np.ndarray:
    """(3, 3) head -> camera rotation of one face from its 3D landmarks."""
    return similarity(ref68, pts3d)[1]


def fit(variant: str, u: np.ndarray, ref68: np.ndarray, K: np.ndarray) -> np.ndarray:
    w = np.ones(68)
    if variant in ("shipped", "visibility", "3d_style"):
        w[JAW] = 0.25
    elif variant == "outline_0":
        w[JAW] = 0.0
    f = fit_pose(u, ref68, K, w)
    if variant == "visibility":
        centre = np.array([0.0, 0.0, 0.6 * ref68[:, 2].max()])
        n = (ref68 - centre) / np.linalg.norm(ref68 - centre, axis=1, keepdims=True)
        facing = -(n @ f.R.T)[:, 2]
        f = fit_pose(u, ref68, K, w * np.clip(facing, 0.05, 1.0), init=(f.R, f.t))
    return f.R


def summarize(errors: np.ndarray, geodesic: np.ndarray) -> dict:
    if not len(errors):
        return {"faces": 0}
    return {
        "faces": int(len(errors)),
        "mae_yaw": round(float(errors[:, 0].mean()), 3),
        "mae_pitch": round(float(errors[:, 1].mean()), 3),
        "mae_roll": round(float(errors[:, 2].mean()), 3),
        "mae_mean": round(float(errors.mean()), 3),
        "mean_geodesic": round(float(geodesic.mean()), 3),
    }


def run(shared: Path, variants=VARIANTS, limit=None) -> dict:
    names, pts3d, pts2d = read_arrays(shared)
    ref68 = load_reference_face().points68
    K = model_intrinsics(IMAGE_SIDE, IMAGE_SIDE)
    samples = load_samples(shared / "data" / "aflw2000" / "samples")
    check = [float(geometry.geodesic_distance(pseudo_truth(ref68, d["pts"]), d["R"])) for d in samples]
    own = {d["name"] for d in samples}
    idx = [
        i
        for i, n in enumerate(names)
        if n not in own and np.all(np.isfinite(pts3d[i])) and np.all(np.isfinite(pts2d[i]))
    ]
    if limit:
        idx = idx[:limit]
    truth, kept = [], []
    for i in idx:
        R = pseudo_truth(ref68, pts3d[i])
        if np.abs(geometry.matrix_to_euler(R)).max() <= 99:
            truth.append(R)
            kept.append(i)
    truth = np.array(truth)
    euler = geometry.matrix_to_euler(truth)
    regimes = np.array([regime(R) for R in truth])
    out = {
        "faces": len(kept),
        "left_out": sorted(own),
        "pseudo_truth_check": {
            "samples": len(check),
            "mean_geodesic_deg": round(float(np.mean(check)), 3),
            "max_geodesic_deg": round(float(np.max(check)), 3),
        },
        "regimes": {r: int((regimes == r).sum()) for r in REGIMES},
        "variants": {},
    }
    for variant in variants:
        errs, geo = [], []
        for R_true, e_true, i in zip(truth, euler, kept):
            u = pts3d[i][:, :2] if variant == "3d_style" else pts2d[i]
            try:
                R = fit(variant, u, ref68, K)
            except FitError:
                R = np.full((3, 3), np.nan)
            d = geometry.matrix_to_euler(R) - e_true if np.all(np.isfinite(R)) else np.full(3, np.nan)
            errs.append(np.abs((d + 180.0) % 360.0 - 180.0))
            geo.append(float(geometry.geodesic_distance(R, R_true)) if np.all(np.isfinite(R)) else np.nan)
        errs, geo = np.array(errs), np.array(geo)
        ok = np.isfinite(geo)
        row = {
            "fit_failures": int((~ok).sum()),
            "all": summarize(errs[ok], geo[ok]),
            "per_abs_yaw_bin": [
                dict(
                    abs_yaw_deg=[lo, hi],
                    **summarize(
                        errs[ok & (np.abs(euler[:, 0]) >= lo) & (np.abs(euler[:, 0]) < hi)],
                        geo[ok & (np.abs(euler[:, 0]) >= lo) & (np.abs(euler[:, 0]) < hi)],
                    ),
                )
                for lo, hi in ((0, 30), (30, 60), (60, 99.01))
            ],
            "per_regime": {r: summarize(errs[ok & (regimes == r)], geo[ok & (regimes == r)]) for r in REGIMES},
        }
        out["variants"][variant] = row
    if "shipped" in out["variants"]:
        per = out["variants"]["shipped"]["per_regime"]
        base = np.array([per["frontal"][f"mae_{a}"] for a in ("yaw", "pitch", "roll")])
        out["degradation"] = {
            r: np.round(np.array([per[r][f"mae_{a}"] for a in ("yaw", "pitch", "roll")]) / base, 2).tolist()
            for r in REGIMES
            if per[r]["faces"]
        }
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--limit", type=int, default=None, help="only the first N faces (a quick look)")
    args = ap.parse_args(argv)
    shared = shared_dir()
    if not (shared / "data" / "aflw2000" / "gt_arrays").is_dir():
        raise SystemExit(f"needs the AFLW2000 arrays in {shared}/data/aflw2000/gt_arrays (set HEADPOSE_SHARED_DIR)")
    out = run(shared, [v for v in args.variants.split(",") if v], args.limit)
    print_json(out)
    return out


if __name__ == "__main__":
    main()
