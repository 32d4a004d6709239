"""What every proposer is and returns: the Proposer base class and PoseProposal.

Every proposer returns, per image, one PoseProposal per detected face, in the
camera frame of ../shared/docs/POSE_CONVENTIONS.md (X_cam = R X_head + t, mm;
head origin = the centroid of the project's 68-point reference face)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core import geometry
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import InvalidInputError
from workers.core.proposers.parts.boxes import as_box
from workers.core.proposers.parts.weights import WeightFiles

if TYPE_CHECKING:  # annotations only: both modules load cv2 (see Proposer.propose)
    from workers.core.proposers.parts.detection import DetectedFace
    from workers.core.proposers.parts.faceboxes import FallbackDetector

LANDMARK_SCHEMES = ("mediapipe468", "ibug68")
Image = NDArray[np.uint8]
"""A BGR (H, W, 3) uint8 image."""
Matrix = NDArray[np.float64]
"""A float64 array: a rotation, a translation, an intrinsics matrix K, landmarks."""


@dataclass
class PoseProposal:
    """One face's proposed pose, camera frame (OpenCV), mm.

    box: (x0, y0, x1, y1) pixels; R: (3, 3) head -> camera; t: (3,) mm or None
    when the proposer gives rotation only; landmarks_2d (N, 2) pixels,
    landmarks_3d (N, 3) camera frame mm, in `landmark_scheme` order.
    residual: a landmark fit's weighted RMS reprojection error over the face box
    size (None for a network); twin_deg: the landmark fit's two readings (crop and
    mirrored crop) this many degrees apart; confidence: in [0, 1], calibrated (parts/confidence.py),
    None when not computed; provenance: what made it (fused: the members kept and
    dropped, each with its version and weights sha256)."""

    box: tuple[float, float, float, float]
    R: Matrix
    t: Matrix | None
    score: float
    landmarks_2d: Matrix | None = None
    landmarks_3d: Matrix | None = None
    landmark_scheme: str | None = None
    residual: float | None = None
    confidence: float | None = None
    provenance: dict[str, Any] | None = None
    twin_deg: float | None = None  # a landmark fit: its two readings' poses this far apart

    def __post_init__(self) -> None:
        self.R = np.asarray(self.R, dtype=np.float64)
        if not geometry.is_rotation(self.R):
            raise ValueError("PoseProposal.R is not a rotation matrix")
        if self.t is not None:
            self.t = np.asarray(self.t, dtype=np.float64).reshape(3)
        self.box = as_box(self.box)
        if self.landmark_scheme is not None and self.landmark_scheme not in LANDMARK_SCHEMES:
            raise ValueError(f"unknown landmark scheme {self.landmark_scheme!r}")

    @property
    def euler(self) -> Matrix:
        """[yaw, pitch, roll] degrees, AFLW convention (display only; store R)."""
        return geometry.matrix_to_euler(self.R)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists), for task results and the API."""

        def lst(a: ArrayLike | None) -> Any:
            return None if a is None else np.asarray(a).tolist()

        return {
            "box": list(self.box),
            "R": lst(self.R),
            "t": lst(self.t),
            "score": float(self.score),
            "landmarks_2d": lst(self.landmarks_2d),
            "landmarks_3d": lst(self.landmarks_3d),
            "landmark_scheme": self.landmark_scheme,
            "residual": self.residual,
            "confidence": self.confidence,
            "provenance": self.provenance,
        }


class Proposer:
    """Base class. Subclasses implement `propose_faces`; `propose` detects faces
    with the app's detector first (detection.detect_faces), so a fused proposer
    can detect once and hand the same faces to several proposers.

    weight_files: the files the registry found for config.weights_files
    (weight_files.path is the main one); weights_sha256 is their hash unless the
    proposer sets its own."""

    config: ProposerConfig
    weights_sha256: str = ""
    device: str = "cpu"

    def __init__(self, config: ProposerConfig, weight_files: WeightFiles | None = None, device: str = "cpu"):
        self.config = config
        self.weight_files = weight_files if weight_files is not None else WeightFiles()
        self.device = device

    def propose(self, images: Sequence[ArrayLike], Ks: Sequence[ArrayLike]) -> list[list[PoseProposal]]:
        images, Ks = check_batch(images, Ks)
        # detection loads cv2, which a web host does not install (tests/web/test_web_host_imports.py):
        # imported on first use so the web process can import this package; no circle (test_layout.py)
        from workers.core.proposers.parts.detection import detect_faces

        fallback = self.fallback_detector()
        faces = [detect_faces(img, fallback=fallback) for img in images]
        return self.propose_faces(images, Ks, faces)

    def fallback_detector(self) -> FallbackDetector | None:
        """FaceBoxes (parts/faceboxes.py) for the faces mediapipe misses, from this
        proposer's weights dir, built on its first use; None when its file is not there."""
        from workers.core.proposers.parts.faceboxes import detector_in  # cv2: see propose()

        return detector_in(self.weight_files.directory, self.device)

    def propose_faces(
        self, images: Sequence[Image], Ks: Sequence[Matrix], faces: Sequence[Sequence[DetectedFace]]
    ) -> list[list[PoseProposal]]:
        """images (BGR uint8), Ks (3x3), faces: per image a list of DetectedFace.
        Returns per image a list of PoseProposal (one per face it could handle)."""
        raise NotImplementedError

    def provenance(self) -> dict[str, Any]:
        """What a run of this proposer is, for a leaderboard entry."""
        return {"name": self.config.name, "version": self.config.version, "weights_sha256": self.weights_sha256}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.name} v{self.config.version} on {self.device}>"


class RotationProposer(Proposer):
    """A model that gives each face a rotation and no translation (t None):
    subclasses implement `rotations`, one batched call for every face of the batch."""

    def rotations(self, images: Sequence[Image], index: Sequence[tuple[int, DetectedFace]]) -> Matrix:
        """index: (image index, DetectedFace) pairs -> (N, 3, 3) camera-frame rotations."""
        raise NotImplementedError

    def propose_faces(
        self, images: Sequence[Image], Ks: Sequence[Matrix], faces: Sequence[Sequence[DetectedFace]]
    ) -> list[list[PoseProposal]]:
        index = [(i, f) for i, fs in enumerate(faces) for f in fs]
        result: list[list[PoseProposal]] = [[] for _ in images]
        if index:
            for (i, f), R in zip(index, self.rotations(images, index)):
                result[i].append(PoseProposal(box=f.box, R=R, t=None, score=f.score))
        return result


def check_batch(images: Sequence[ArrayLike] | ArrayLike, Ks: Sequence[ArrayLike]) -> tuple[list[Image], list[Matrix]]:
    """Validate a batch: BGR uint8 (H, W, 3) images (gray (H, W) accepted) and 3x3 Ks."""
    if isinstance(images, np.ndarray) and images.ndim in (2, 3):
        raise InvalidInputError("propose() takes a list of images, not one image")
    image_list, K_list = list(images), list(Ks)  # type: ignore[arg-type]  # one array was refused above
    if len(image_list) != len(K_list):
        raise InvalidInputError(f"{len(image_list)} images but {len(K_list)} intrinsics matrices")
    out_imgs: list[Image] = []
    out_Ks: list[Matrix] = []
    for i, (image, K_in) in enumerate(zip(image_list, K_list)):
        img = np.asarray(image)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
            raise InvalidInputError(f"image {i}: expected a BGR (H, W, 3) array, got shape {img.shape}")
        if img.dtype != np.uint8:
            raise InvalidInputError(f"image {i}: expected uint8 pixels, got {img.dtype}")
        K = np.asarray(K_in, dtype=np.float64)
        if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InvalidInputError(f"image {i}: K must be a finite 3x3 matrix with positive focal lengths")
        out_imgs.append(np.ascontiguousarray(img))
        out_Ks.append(K)
    return out_imgs, out_Ks
