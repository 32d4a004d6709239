"""The default proposer, 'landmarks-fit': FaceMesh landmarks + a 6DoF fit.

Per face found by detection.detect_faces, the 468 FaceMesh 2D landmarks are fitted
(landmark_fit.fit_pose, weighted, the face outline down-weighted) to the bundled
468-point reference face through the image's K. Needs nothing but pip packages
and assets/reference_face.npz; weights_sha256 is the sha256 of that file.

A face whose FaceMesh failed (landmarks None) gets no proposal from this proposer.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from workers.core import geometry
from workers.core.proposers import detection
from workers.core.proposers.landmark_fit import FitError, fit_pose
from workers.core.proposers.reference_face import ASSET_PATH, load_reference_face
from workers.core.proposers.base import PoseProposal, Proposer, check_batch
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.registry import register_proposer
from workers.core.proposers.weights import sha256_of

NAME = "landmarks-fit"
SCHEME = "mediapipe468"

CONFIG = ProposerConfig(
    name=NAME,
    version="1.0",
    description=(
        "mediapipe full-range face detector + 468-point FaceMesh on a 2x square crop "
        "around each face, then a weighted perspective fit (EPnP + Levenberg-Marquardt) "
        "to the project's 468-point reference face; face outline weighted 0.25."
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


class LandmarksFitProposer(Proposer):
    def __init__(self, config: ProposerConfig, weight_files=None, device: str = "cpu"):
        super().__init__(config, weight_files, device)
        self.reference = load_reference_face()
        self.model = self.reference.points(SCHEME)
        self.weights = self.reference.weights(SCHEME)
        self.weights_sha256 = sha256_of(ASSET_PATH)

    def propose_face(self, face: detection.DetectedFace, K) -> Optional[PoseProposal]:
        """One face -> its proposal, or None when it has no landmarks or no fit."""
        if face.landmarks is None:
            return None
        K = np.asarray(K, dtype=np.float64)
        pts = face.landmarks[:, :2]
        try:
            fit = fit_pose(pts, self.model, K, self.weights)
        except FitError:
            return None
        return PoseProposal(
            box=face.box, R=fit.R, t=fit.t, score=face.score,
            landmarks_2d=pts.copy(), landmarks_3d=geometry.transform(self.model, fit.R, fit.t),
            landmark_scheme=SCHEME,
        )

    def propose_faces(self, images, Ks, faces):
        images, Ks = check_batch(images, Ks)
        if len(faces) != len(images):
            raise ValueError(f"{len(images)} images but {len(faces)} face lists")
        out = []
        for K, per_image in zip(Ks, faces):
            props = (self.propose_face(f, K) for f in per_image)
            out.append([p for p in props if p is not None])
        return out


@register_proposer(NAME, config=CONFIG)
def build(config: ProposerConfig, weight_files=None, device: str = "cpu") -> LandmarksFitProposer:
    return LandmarksFitProposer(config, weight_files, device)
