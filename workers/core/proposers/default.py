"""The default proposer, 'landmarks-fit': FaceMesh landmarks + a 6DoF fit.

Per face found by detection.detect_faces, the 468 FaceMesh 2D landmarks are fitted
(landmark_fit.fit_pose, weighted, the face outline down-weighted) to the bundled
468-point reference face through the image's K; FaceMesh's reading of the
mirrored crop (DetectedFace.landmarks_mirrored) is fitted too and the two poses
averaged. Needs nothing but pip packages
and assets/reference_face.npz; weights_sha256 is the sha256 of that file.

A face whose FaceMesh failed (landmarks None), or whose landmarks no rigid face
fits (residual above MAX_RESIDUAL), gets no proposal from this proposer. Each
proposal carries a confidence from its fit residual (parts/confidence.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from workers.core import geometry
from workers.core.proposers._registry import register_proposer
from workers.core.proposers.base import Image, Matrix, PoseProposal, Proposer, check_batch
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.parts import confidence, detection, fusion
from workers.core.proposers.parts.boxes import Box
from workers.core.proposers.parts.landmark_fit import FitError, fit_pose
from workers.core.proposers.parts.reference_face import ASSET_PATH, ReferenceFace, load_reference_face
from workers.core.proposers.parts.weights import WeightFiles, sha256_of

NAME = "landmarks-fit"
# The fit's RMS residual over the face size beyond which there is no pose: the
# real samples stay below 3.5 %; set a priori well above that, not fitted.
MAX_RESIDUAL = 0.08
SCHEME = "mediapipe468"
# (yaw, pitch, roll) MAE on frontal faces, degrees: leave-one-out over the 10 real
# AFLW2000 samples (bench/proposer_accuracy.py); off-frontal it grows by
# fusion.LANDMARK_FIT_DEGRADATION. The confidence's floor and fused's weights use it.
LANDMARK_FIT_MAE_DEG = (3.40, 3.05, 1.39)


def prior_deg(face_regime: str) -> float:
    """The landmark fit's expected mean error for a face in this regime (fusion.regime):
    the confidence's floor."""
    return float(fusion.member_mae(NAME, {NAME: LANDMARK_FIT_MAE_DEG}, face_regime).mean())


CONFIG = ProposerConfig(
    name=NAME,
    version="1.2",  # 1.2: refined crop + mirrored reading averaged
    description=(
        "mediapipe full-range face detector + 468-point FaceMesh on a 2x square crop "
        "around each face, again on a crop centred on that mesh and on its mirror image, then a weighted "
        "perspective fit (EPnP + Levenberg-Marquardt) of both readings to the project's 468-point "
        "reference face, the two poses averaged; face outline weighted 0.25."
    ),
    licence=(
        "MediaPipe models Apache-2.0; reference face built by the project from "
        "AFLW2000-3D annotations (research use) and FaceMesh outputs"
    ),
    crop="mesh-square-2.0",
    input_size=(detection.MESH_CROP_SIZE, detection.MESH_CROP_SIZE),
    color_order="RGB",
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),  # mediapipe normalises internally
    weights_file=None,
)


def face_size(box: Box) -> float:
    """The box's mean side, pixels (the scale a residual is measured against)."""
    return max(((box[2] - box[0]) + (box[3] - box[1])) / 2.0, 1.0)


class LandmarksFitProposer(Proposer):
    def __init__(
        self,
        config: ProposerConfig,
        weight_files: WeightFiles | None = None,
        device: str = "cpu",
        reference: ReferenceFace | None = None,
    ) -> None:
        """reference: the bundled face unless given (the bench passes faces built
        without the held-out sample)."""
        super().__init__(config, weight_files, device)
        self.reference = load_reference_face() if reference is None else reference
        self.model = self.reference.points(SCHEME)
        self.weights = self.reference.weights(SCHEME)
        self.weights_sha256 = sha256_of(ASSET_PATH) if reference is None else "in-memory reference face"

    def propose_face(self, face: detection.DetectedFace, K: ArrayLike) -> PoseProposal | None:
        """One face -> its proposal, or None when it has no landmarks or no fit."""
        if face.landmarks is None:
            return None
        K = np.asarray(K, dtype=np.float64)
        pts = face.landmarks[:, :2]
        readings = [pts] if face.landmarks_mirrored is None else [pts, face.landmarks_mirrored[:, :2]]
        fits = []
        for reading in readings:
            try:
                fits.append(fit_pose(reading, self.model, K, self.weights))
            except FitError:
                return None  # a reading no rigid face fits: not trusted, nor its twin
        residual = float(np.mean([f.rms_px for f in fits])) / face_size(face.box)
        if residual > MAX_RESIDUAL:
            return None  # no rigid face explains these landmarks (not a face, the back of a head): no pose
        # the two readings' poses averaged (FaceMesh's reading of a face and of its mirror image
        # err independently; their mean is nearer the truth, bench/proposer_accuracy.py)
        R = geometry.rotation_mean(np.array([f.R for f in fits]))
        t = np.mean([f.t for f in fits], axis=0)
        twin = float(geometry.geodesic_distance(fits[0].R, fits[-1].R)) if len(fits) == 2 else None
        face_regime = fusion.regime(R)
        expected = confidence.expected_error(
            confidence.features(0.0, 0, residual, prior_deg(face_regime), twin), confidence.CALIBRATION_LANDMARKS_FIT
        )
        return PoseProposal(
            box=face.box,
            R=R,
            t=t,
            score=face.score,
            landmarks_2d=pts.copy(),
            landmarks_3d=geometry.transform(self.model, R, t),
            landmark_scheme=SCHEME,
            residual=residual,
            twin_deg=twin,
            confidence=confidence.confidence(expected),
            provenance={
                "readings": len(fits),
                "twin_deg": None if twin is None else round(twin, 3),
                "regime": face_regime,
                "expected_error_deg": round(expected, 3),
            },
        )

    def propose_faces(
        self, images: Sequence[Image], Ks: Sequence[Matrix], faces: Sequence[Sequence[detection.DetectedFace]]
    ) -> list[list[PoseProposal]]:
        images, Ks = check_batch(images, Ks)
        if len(faces) != len(images):
            raise ValueError(f"{len(images)} images but {len(faces)} face lists")
        out: list[list[PoseProposal]] = []
        for K, per_image in zip(Ks, faces):
            props = (self.propose_face(f, K) for f in per_image)
            out.append([p for p in props if p is not None])
        return out


@register_proposer(NAME, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles | None = None, device: str = "cpu") -> LandmarksFitProposer:
    return LandmarksFitProposer(config, weight_files, device)
