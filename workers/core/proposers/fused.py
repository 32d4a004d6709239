"""'fused': every available pose model on the same detected faces, averaged on SO(3).

This is what annotators see when model weights are installed. Members: the
default landmark fit ('landmarks-fit', always there) plus whichever of
'mobilenet-3dmm', 'fsanet', '6drepnet', 'hopenet' have their weights in the
weights dir. Faces are detected once and handed to every member.

Rotation: the weighted chordal mean on SO(3) (geometry.rotation_mean) of the
members' rotations, weight = 1 / MAE^2 (inverse-variance weighting, taking each
model's mean absolute error as its error scale). The MAEs are in MODEL_MAE_DEG:
measured by bench/proposer_accuracy.py on the 10 AFLW2000 samples with the app's
own detection where the model is here; for models without weights here, their
published AFLW2000 mean MAE put on the same scale through FSA-Net, which has
both a published (5.07) and a measured (3.43) figure. One number per model, no
per-sample or per-angle tuning. The errors are complementary where it matters:
the landmark fit over-estimates pitch where the two networks under-estimate it.

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
from workers.core.proposers.registry import (
    MissingWeightsError, PoseProposal, Proposer, ProposerConfig, check_batch, create_proposer,
    default_weights_dir, register_proposer,
)

DEFAULT_MEMBER = "landmarks-fit"
OPTIONAL_MEMBERS = ("mobilenet-3dmm", "fsanet", "6drepnet", "hopenet")
_FSANET_SCALE = 3.43 / 5.07  # measured here / published AFLW2000 (P1) mean MAE
MODEL_MAE_DEG = {
    "landmarks-fit": 3.18,  # measured, 10 AFLW2000 samples, app detection
    "mobilenet-3dmm": 2.51,  # measured, same
    "fsanet": 3.43,  # measured, same
    "6drepnet": 3.97 * _FSANET_SCALE,  # published 3.97, rescaled
    "hopenet": 6.16 * _FSANET_SCALE,  # published 6.16, rescaled
}
T_SOURCES = ("landmarks-fit", "mobilenet-3dmm")

CONFIG = ProposerConfig(
    name="fused",
    version="1.0",
    description="Inverse-variance weighted SO(3) mean of every available pose model "
                "(landmark fit always; MobileNet-3DMM, FSA-Net, 6DRepNet, HopeNet when their "
                "weights exist); t from the landmark fit.",
    licence="see the member proposers",
    crop="per member",
    weights_file=None,
    extra={"model_mae_deg": MODEL_MAE_DEG},
)


def member_weight(name: str) -> float:
    return 1.0 / MODEL_MAE_DEG[name] ** 2


def fuse_rotations(Rs, names) -> np.ndarray:
    """Weighted SO(3) mean of (M, 3, 3) rotations from the named members."""
    return geometry.rotation_mean(np.asarray(Rs), [member_weight(n) for n in names])


class FusedProposer(Proposer):
    def __init__(self, config: ProposerConfig = CONFIG, weights_dir=None, device: str = "cpu",
                 members: Optional[list[str]] = None):
        super().__init__(config, None, device)
        weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
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
def build(config: ProposerConfig, weights_path=None, device: str = "cpu") -> Proposer:
    # the registry passes no weights dir to builders without a weights file: the
    # members are looked up in the default weights dir (settings / environment)
    return FusedProposer(config, None, device)
