"""'fused': every available pose model on the same detected faces, averaged on SO(3).

This is what annotators see when model weights are installed. Members: the
default landmark fit ('landmarks-fit', always there) plus whichever of
'mobilenet-3dmm', 'fsanet', '6drepnet', 'hopenet' have their weights in the
weights dir. Faces are detected once and handed to every member.

Rotation: inverse-variance weighting, per angle. Each member has a measured
MAE per angle (yaw, pitch, roll; MODEL_MAE_DEG) and gets the weight 1 / MAE^2
for that angle, normalised over the members present. The models differ most by
angle (FSA-Net's pitch is twice as bad as its yaw and roll; the landmark fit's
yaw is its weak angle), so one weight per model would throw that away
(scalar weights gave 2.49 deg mean MAE on the samples, per-angle 2.29; with the
per-angle figures of DATA.md / the published tables instead of ours, 2.34-2.39:
the gain does not hinge on the exact numbers). Computation:
  1. R0 = geometry.rotation_mean of the members (chordal L2 mean on SO(3)),
     one weight per model = 1 / mean(MAE)^2;
  2. each member's Euler angles (AFLW convention, in which the MAEs are measured)
     minus those of R0, wrapped to [-180, 180), averaged per angle with the
     per-angle weights and added back to R0's angles.
Step 2 is the per-angle weighted Euler mean, made safe against wrap-around by
working relative to R0. Where Euler angles degenerate (|yaw| of R0 above
EULER_LIMIT_DEG) the answer is R0 alone.

Where the MAEs come from: bench/proposer_accuracy.py on the 10 AFLW2000 samples
with the app's own detection, for the models whose weights are here; for the
others, their published AFLW2000 (protocol 1) per-angle MAE put on the same
scale through FSA-Net, which has both a published (5.07) and a measured (3.43)
mean. One set of numbers per model; nothing per sample.

Translation: the landmark fit's t (a full perspective fit to the reference face
through K) when it has one; else MobileNet-3DMM's weak-perspective estimate;
else None. The 2D landmarks come from the member that gave t; no 3D landmarks
(the member's would belong to its own rotation, not the fused one).

Without any model weights the members are the landmark fit alone, so 'fused'
returns exactly the default proposer's answer.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import numpy as np

from workers.core import geometry
from workers.core.proposers.base import PoseProposal, Proposer, check_batch
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import MissingWeightsError
from workers.core.proposers.registry import create_proposer, register_proposer
from workers.core.proposers.weights import WeightFiles

DEFAULT_MEMBER = "landmarks-fit"
OPTIONAL_MEMBERS = ("mobilenet-3dmm", "fsanet", "6drepnet", "hopenet")
EULER_LIMIT_DEG = 75.0
_FSANET_SCALE = 3.43 / 5.07  # measured here / published AFLW2000 (P1) mean MAE
# [yaw, pitch, roll] MAE, degrees
MODEL_MAE_DEG = {
    "landmarks-fit": (4.00, 3.19, 1.57),  # measured, 10 AFLW2000 samples, app detection
    "mobilenet-3dmm": (2.49, 3.91, 1.22),  # measured, same
    "fsanet": (2.23, 6.41, 1.66),  # measured, same
    "6drepnet": tuple(_FSANET_SCALE * v for v in (3.63, 4.91, 3.37)),  # published, rescaled
    "hopenet": tuple(_FSANET_SCALE * v for v in (6.47, 6.56, 5.44)),  # published, rescaled
}
T_SOURCES = ("landmarks-fit", "mobilenet-3dmm")

CONFIG = ProposerConfig(
    name="fused",
    version="1.0",
    description="Per-angle inverse-variance weighted mean (anchored on the SO(3) mean) of every available pose model "
                "(landmark fit always; MobileNet-3DMM, FSA-Net, 6DRepNet, HopeNet when their "
                "weights exist); t from the landmark fit.",
    licence="see the member proposers",
    crop="per member",
    weights_file=None,
    extra={"model_mae_deg": MODEL_MAE_DEG},
)


def angle_weights(names) -> np.ndarray:
    """(M, 3) per-angle weights 1 / MAE^2, each column summing to 1."""
    w = 1.0 / np.array([MODEL_MAE_DEG[n] for n in names], dtype=np.float64) ** 2
    return w / w.sum(0)


def model_weights(names) -> np.ndarray:
    """(M,) one weight per model, 1 / mean(MAE)^2, summing to 1."""
    w = 1.0 / np.array([np.mean(MODEL_MAE_DEG[n]) for n in names], dtype=np.float64) ** 2
    return w / w.sum()


def fuse_rotations(Rs, names) -> np.ndarray:
    """(M, 3, 3) rotations of the named members -> their fused rotation."""
    Rs = np.asarray(Rs, dtype=np.float64)
    R0 = geometry.rotation_mean(Rs, model_weights(names))
    if len(Rs) == 1:
        return Rs[0].copy()
    e0 = geometry.matrix_to_euler(R0)
    if abs(e0[0]) > EULER_LIMIT_DEG:
        return R0
    d = geometry.matrix_to_euler(Rs) - e0
    d = (d + 180.0) % 360.0 - 180.0
    return geometry.euler_to_matrix(e0 + (angle_weights(names) * d).sum(0))


class FusedProposer(Proposer):
    def __init__(self, config: ProposerConfig = CONFIG, weights_dir=None, device: str = "cpu",
                 members: Optional[list[str]] = None):
        super().__init__(config, WeightFiles(None if weights_dir is None else Path(weights_dir)), device)
        wanted = [DEFAULT_MEMBER, *OPTIONAL_MEMBERS] if members is None else list(members)
        unknown = [m for m in wanted if m not in MODEL_MAE_DEG]
        if unknown:
            raise ValueError(f"fused: no accuracy figure for member(s) {unknown}; known: {sorted(MODEL_MAE_DEG)}")
        self.members: dict[str, Proposer] = {}
        for name in wanted:
            try:
                self.members[name] = create_proposer(name, weights_dir=weights_dir, device=device)
            except MissingWeightsError:
                if members is not None or name == DEFAULT_MEMBER:
                    raise  # asked for explicitly, or the default: its absence is a real error
        h = hashlib.sha256()
        for name, p in self.members.items():
            h.update(f"{name}:{p.weights_sha256};".encode())
        self.weights_sha256 = h.hexdigest()

    @property
    def member_names(self) -> list[str]:
        return list(self.members)

    def propose_faces(self, images, Ks, faces):
        images, Ks = check_batch(images, Ks)
        if len(faces) != len(images):
            raise ValueError(f"{len(images)} images but {len(faces)} face lists")
        answers = {name: p.propose_faces(images, Ks, faces) for name, p in self.members.items()}
        result = []
        for i, per_image in enumerate(faces):
            # members return proposals only for faces they could handle; match by box
            by_member = {name: {tuple(p.box): p for p in ans[i]} for name, ans in answers.items()}
            props = []
            for face in per_image:
                key = tuple(float(v) for v in face.box)
                found = {n: d[key] for n, d in by_member.items() if key in d}
                if not found:
                    continue
                names = list(found)
                R = fuse_rotations([found[n].R for n in names], names)
                source = next((found[n] for n in T_SOURCES if n in found and found[n].t is not None), None)
                props.append(PoseProposal(
                    box=face.box, R=R, t=None if source is None else source.t, score=face.score,
                    landmarks_2d=None if source is None else source.landmarks_2d,
                    landmark_scheme=None if source is None else source.landmark_scheme,
                ))
            result.append(props)
        return result


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    # the members' weights are in the same weights dir
    return FusedProposer(config, weight_files.directory, device)
