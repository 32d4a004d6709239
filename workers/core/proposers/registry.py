"""Pose proposer registry, in the spirit of timm's model registry.

A proposer module declares a `ProposerConfig` (how its input is prepared, which
weights file it needs, licence) and registers a builder:

    @register_proposer("my-net", config=ProposerConfig(name="my-net", ...))
    def build(config, weights_path, device): return MyNet(config, weights_path, device)

`create_proposer(name, weights_dir, device)` resolves the weights file (relative
to the weights dir), refuses a missing one with `MissingWeightsError`, builds the
proposer and records the sha256 of the weights on it. Every proposer returns, per
image, one `PoseProposal` per detected face, in the camera frame of
../shared/docs/POSE_CONVENTIONS.md (X_cam = R X_head + t, mm; head origin = the
centroid of the project's 68-point reference face).

The weights dir defaults to $HEADPOSE_WEIGHTS_DIR, else $HEADPOSE_SHARED_DIR/weights,
else ../shared/weights beside the repository.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from workers.core import geometry

REPO_ROOT = Path(__file__).resolve().parents[3]

# Modules of this package that register proposers; imported on first use so that
# `import workers.core.proposers` stays cheap (no torch, no mediapipe).
BUILTIN_MODULES = ("default", "mobilenet_3dmm", "fsanet", "sixdrepnet", "hopenet", "fused")

LANDMARK_SCHEMES = ("mediapipe468", "ibug68")


class ProposerError(ValueError):
    """Base of the errors a caller can show to a person."""


class UnknownProposerError(ProposerError, KeyError):
    def __str__(self):  # KeyError would quote the message
        return self.args[0] if self.args else ""


class MissingWeightsError(ProposerError, FileNotFoundError):
    """A proposer's weights file is not where the weights dir setting says."""


class InvalidInputError(ProposerError):
    pass


@dataclass(frozen=True)
class ProposerConfig:
    """What a proposer is and exactly how its input is prepared.

    crop: name of the crop rule (for example 'none', 'mesh-landmarks',
    'detector-box-1.58', 'fsanet-0.6'); input_size: (width, height) fed to the
    network or None; color_order 'BGR' or 'RGB'; the network sees
    (pixel - mean) / std per channel, in colour_order. weights_file is relative to
    the weights dir, None when the proposer ships with the code."""

    name: str
    version: str
    description: str
    licence: str
    crop: str = "none"
    input_size: Optional[tuple[int, int]] = None
    color_order: str = "BGR"
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    weights_file: Optional[str] = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.color_order not in ("BGR", "RGB"):
            raise ValueError(f"color_order must be 'BGR' or 'RGB', not {self.color_order!r}")
        if not self.name or not self.version:
            raise ValueError("a proposer config needs a name and a version")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PoseProposal:
    """One face's proposed pose, camera frame (OpenCV), mm.

    box: (x0, y0, x1, y1) pixels; R: (3, 3) head -> camera; t: (3,) mm or None
    when the proposer gives rotation only; landmarks_2d (N, 2) pixels,
    landmarks_3d (N, 3) camera frame mm, in `landmark_scheme` order."""

    box: tuple[float, float, float, float]
    R: np.ndarray
    t: Optional[np.ndarray]
    score: float
    landmarks_2d: Optional[np.ndarray] = None
    landmarks_3d: Optional[np.ndarray] = None
    landmark_scheme: Optional[str] = None

    def __post_init__(self):
        self.R = np.asarray(self.R, dtype=np.float64)
        if not geometry.is_rotation(self.R):
            raise ValueError("PoseProposal.R is not a rotation matrix")
        if self.t is not None:
            self.t = np.asarray(self.t, dtype=np.float64).reshape(3)
        self.box = tuple(float(v) for v in self.box)
        if self.landmark_scheme is not None and self.landmark_scheme not in LANDMARK_SCHEMES:
            raise ValueError(f"unknown landmark scheme {self.landmark_scheme!r}")

    @property
    def euler(self) -> np.ndarray:
        """[yaw, pitch, roll] degrees, AFLW convention (display only; store R)."""
        return geometry.matrix_to_euler(self.R)

    def to_dict(self) -> dict:
        """JSON-ready (lists), for task results and the API."""
        def lst(a):
            return None if a is None else np.asarray(a).tolist()
        return {
            "box": list(self.box), "R": lst(self.R), "t": lst(self.t), "score": float(self.score),
            "landmarks_2d": lst(self.landmarks_2d), "landmarks_3d": lst(self.landmarks_3d),
            "landmark_scheme": self.landmark_scheme,
        }


class Proposer:
    """Base class. Subclasses implement `propose_faces`; `propose` detects faces
    with the app's detector first (detection.detect_faces), so a fused proposer
    can detect once and hand the same faces to several proposers."""

    config: ProposerConfig
    weights_sha256: str = ""
    device: str = "cpu"

    def __init__(self, config: ProposerConfig, weights_path: Optional[Path] = None, device: str = "cpu"):
        self.config = config
        self.weights_path = weights_path
        self.device = device

    def propose(self, images: Sequence[np.ndarray], Ks: Sequence[np.ndarray]) -> list[list[PoseProposal]]:
        images, Ks = check_batch(images, Ks)
        from workers.core.proposers.detection import detect_faces

        faces = [detect_faces(img) for img in images]
        return self.propose_faces(images, Ks, faces)

    def propose_faces(self, images, Ks, faces) -> list[list[PoseProposal]]:
        """images (BGR uint8), Ks (3x3), faces: per image a list of DetectedFace.
        Returns per image a list of PoseProposal (one per face it could handle)."""
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.config.name} v{self.config.version} on {self.device}>"


def check_batch(images, Ks):
    """Validate a batch: BGR uint8 (H, W, 3) images (gray (H, W) accepted) and 3x3 Ks."""
    if isinstance(images, np.ndarray) and images.ndim in (2, 3):
        raise InvalidInputError("propose() takes a list of images, not one image")
    images, Ks = list(images), list(Ks)
    if len(images) != len(Ks):
        raise InvalidInputError(f"{len(images)} images but {len(Ks)} intrinsics matrices")
    out_imgs, out_Ks = [], []
    for i, (img, K) in enumerate(zip(images, Ks)):
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
            raise InvalidInputError(f"image {i}: expected a BGR (H, W, 3) array, got shape {img.shape}")
        if img.dtype != np.uint8:
            raise InvalidInputError(f"image {i}: expected uint8 pixels, got {img.dtype}")
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InvalidInputError(f"image {i}: K must be a finite 3x3 matrix with positive focal lengths")
        out_imgs.append(np.ascontiguousarray(img))
        out_Ks.append(K)
    return out_imgs, out_Ks


Builder = Callable[[ProposerConfig, Optional[Path], str], Proposer]
_REGISTRY: dict[str, tuple[ProposerConfig, Builder]] = {}
_builtins_loaded = False


def register_proposer(name: str, *, config: ProposerConfig):
    """Decorator: register `builder(config, weights_path, device) -> Proposer`."""
    if config.name != name:
        raise ValueError(f"config name {config.name!r} differs from registered name {name!r}")

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY and _REGISTRY[name][1] is not builder:
            existing = _REGISTRY[name][1]
            # re-importing the same module (reload) may re-register; a clash is an error
            if getattr(existing, "__qualname__", None) != builder.__qualname__ or existing.__module__ != builder.__module__:
                raise ValueError(f"a proposer named {name!r} is already registered")
        _REGISTRY[name] = (config, builder)
        builder.proposer_config = config
        return builder

    return decorator


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    for mod in BUILTIN_MODULES:
        full = f"{__package__}.{mod}"
        try:
            importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:  # a missing dependency inside the module is a real error
                raise
    _builtins_loaded = True


def list_proposers() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_config(name: str) -> ProposerConfig:
    _load_builtins()
    if name not in _REGISTRY:
        raise UnknownProposerError(f"unknown proposer {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}")
    return _REGISTRY[name][0]


def default_weights_dir() -> Path:
    if os.environ.get("HEADPOSE_WEIGHTS_DIR"):
        return Path(os.environ["HEADPOSE_WEIGHTS_DIR"])
    shared = os.environ.get("HEADPOSE_SHARED_DIR") or str(REPO_ROOT.parent / "shared")
    return Path(shared) / "weights"


def weights_path_for(config: ProposerConfig, weights_dir=None) -> Optional[Path]:
    if config.weights_file is None:
        return None
    return Path(weights_dir if weights_dir is not None else default_weights_dir()) / config.weights_file


def available_proposers(weights_dir=None) -> list[str]:
    """Registered proposers whose weights file exists (or that need none)."""
    names = []
    for name in list_proposers():
        path = weights_path_for(get_config(name), weights_dir)
        if path is None or path.is_file():
            names.append(name)
    return names


def sha256_of(*paths: Path) -> str:
    """sha256 over the bytes of the given files, in order."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def create_proposer(name: str, weights_dir=None, device: str = "cpu") -> Proposer:
    config = get_config(name)
    path = weights_path_for(config, weights_dir)
    if path is not None and not path.is_file():
        raise MissingWeightsError(
            f"proposer {name!r} needs its weights file {path}, which does not exist. "
            f"Put the file there, or point the weights dir setting at the folder that holds "
            f"{config.weights_file!r} (weights_dir argument, HEADPOSE_WEIGHTS_DIR, or "
            f"HEADPOSE_SHARED_DIR/weights; now {path.parent if weights_dir is not None else default_weights_dir()})."
        )
    builder = _REGISTRY[name][1]
    # Proposers built from other proposers (fused) need the folder, not a file.
    extra = {"weights_dir": weights_dir} if "weights_dir" in inspect.signature(builder).parameters else {}
    proposer = builder(config, path, device, **extra)
    if not isinstance(proposer, Proposer):
        raise TypeError(f"builder of {name!r} returned {type(proposer).__name__}, not a Proposer")
    if not proposer.weights_sha256:
        if path is None:
            raise TypeError(f"proposer {name!r} has no weights file and set no weights_sha256")
        proposer.weights_sha256 = sha256_of(path)
    return proposer
