"""Where landmarks-fit's error comes from: leave-one-out variants on the real AFLW2000 samples.

Each held-out face is fitted with a reference face built without it
(reference_build.build_from(exclude=[face])); FaceMesh landmarks from the app's
own detection; K = the AFLW2000 importer's model camera unless a variant says
otherwise. Variants (one cause each):
  shipped          the shipped proposer: both FaceMesh readings (the refined crop
                   and its mirror image) fitted, outline (face oval) weight 0.25,
                   the two poses averaged; every other variant fits one reading
  one_reading      the refined crop's reading alone
  first_pass       the first crop's reading alone (detect_faces(refine=False): the
                   proposer before version 1.2)
  first_and_mirror the first crop and its mirror image (one FaceMesh run fewer)
  depth_3d         a 3D similarity alignment of the refined reading's x, y and
                   FaceMesh's own depth to the reference (no camera model)
  outline_0 / _1   outline points left out / weighted like the rest
  short_focal      K with fx = image width (the app's default for unknown cameras)
  rest_fix         the reference's rest orientation corrected by the mean
                   R_fit^T R_gt over the other faces (fitted leave-one-out)
  visibility       a second pass weighting each point by how squarely it faces
                   the camera (outward direction from a point 0.6 of the face
                   depth behind the centroid)
Prints JSON: per variant MAE yaw / pitch / roll / mean, mean signed error, and
the mean over |yaw| < 30 and |yaw| >= 30. The mediapipe wheel (0.10.21) ships
only the face-geometry protobuf definitions, not the canonical face model, so
that check is not possible offline (printed as such).
Usage: .venv/bin/python bench/landmarks_fit_diagnosis.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, print_json, shared_dir
from bench.proposer_accuracy import load_samples
from bench.proposer_loo import pick
from workers.core import geometry
from workers.core.formats.aflw2000 import model_intrinsics
from workers.core.proposers.parts import detection
from workers.core.proposers.parts.detection import detect_faces
from workers.core.proposers.parts.landmark_fit import fit_pose
from workers.core.proposers.parts.reference_build import build_from, read_inputs, similarity
from workers.core.proposers.parts.reference_face import reference_face_from_arrays

VARIANTS = (
    "shipped",
    "one_reading",
    "first_pass",
    "first_and_mirror",
    "depth_3d",
    "outline_0",
    "outline_1",
    "short_focal",
    "rest_fix",
    "visibility",
)


def canonical_model_in_wheel() -> list[str]:
    import mediapipe

    root = Path(mediapipe.__file__).parent
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if "canonical" in p.name.lower() or (p.suffix in (".obj", ".binarypb") and "geometry" in str(p).lower())
    ]


def readings(variant, face, plain_face, image):
    """The FaceMesh reading(s) (468, 3) a variant fits."""
    if variant == "shipped":
        return [face.landmarks, face.landmarks_mirrored]
    if variant == "first_pass":
        return [plain_face.landmarks]
    if variant == "first_and_mirror":
        import cv2

        _, mesh = detection._get_graphs()
        b = plain_face.box
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        side = detection.CROP_SCALE * max(b[2] - b[0], b[3] - b[1])
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        mirrored = detection._nearest(detection._mesh_square(rgb, cx, cy, side, mesh, flip=True), cx, cy)
        return [plain_face.landmarks, mirrored[detection.mesh_mirror()]]
    return [face.landmarks]


def fit(ref, lm, K, variant):
    X, w = ref.points468, ref.weights468.copy()
    if variant == "depth_3d":
        return similarity(X, lm)[1]
    lm = lm[:, :2]
    outline = w < 1
    if variant == "outline_0":
        w[outline] = 0
    elif variant == "outline_1":
        w[:] = 1
    f = fit_pose(lm, X, K, w)
    if variant == "visibility":
        centre = np.array([0.0, 0.0, 0.6 * X[:, 2].max()])
        n = (X - centre) / np.linalg.norm(X - centre, axis=1, keepdims=True)
        Xc = X @ f.R.T + f.t
        facing = -((n @ f.R.T) * (Xc / np.linalg.norm(Xc, axis=1, keepdims=True))).sum(1)
        f = fit_pose(lm, X, K, w * np.clip(facing, 0.05, 1.0), init=(f.R, f.t))
    return f.R


def main() -> dict:
    samples = load_samples(aflw_samples_dir())
    faces = [pick(detect_faces(s[1]), s[3].mean(0)) for s in samples]
    plain = [pick(detect_faces(s[1], refine=False), s[3].mean(0)) for s in samples]
    inputs = read_inputs(shared_dir())
    gt = np.array([s[2] for s in samples])
    R_gt = geometry.euler_to_matrix(gt)
    stems = [Path(s[0]).stem for s in samples]
    refs = [reference_face_from_arrays(build_from(inputs, {stems[i]})) for i in range(len(samples))]
    out = {
        "samples": len(samples),
        "canonical_face_model_in_mediapipe_wheel": canonical_model_in_wheel(),
        "variants": {},
    }
    hard = np.abs(gt[:, 0]) >= 30
    for variant in VARIANTS:
        signed = []
        for i, (s, face) in enumerate(zip(samples, faces)):
            K = (geometry.default_intrinsics if variant == "short_focal" else model_intrinsics)(450, 450)
            base = "shipped" if variant in ("rest_fix", "short_focal") else variant
            R = geometry.rotation_mean(
                np.array([fit(refs[i], lm, K, base) for lm in readings(base, face, plain[i], s[1])])
            )
            if variant == "rest_fix":
                others = [j for j in range(len(samples)) if j != i]
                C = geometry.rotation_mean(
                    np.array([fit(refs[i], faces[j].landmarks, K, "shipped").T @ R_gt[j] for j in others])
                )
                R = R @ C
            signed.append(geometry.matrix_to_euler(R) - gt[i])
        signed = np.array(signed)
        err = np.abs(signed)
        out["variants"][variant] = {
            "mae_yaw": float(err[:, 0].mean()),
            "mae_pitch": float(err[:, 1].mean()),
            "mae_roll": float(err[:, 2].mean()),
            "mae_mean": float(err.mean()),
            "mean_signed_error": signed.mean(0).round(3).tolist(),
            "mae_mean_abs_yaw_below_30": float(err[~hard].mean()),
            "faces_below_30": int((~hard).sum()),
            "mae_mean_abs_yaw_30_or_more": float(err[hard].mean()) if hard.any() else None,
            "faces_30_or_more": int(hard.sum()),
        }
    print_json(out)
    return out


if __name__ == "__main__":
    main()
