"""'fused': every available pose model on the same detected faces, fused robustly per face.

This is what annotators see when model weights are installed. Members: the
default landmark fit ('landmarks-fit', always there) plus whichever of
'mobilenet-3dmm', 'fsanet', '6drepnet', 'hopenet' have their weights in the
weights dir. Faces are detected once and handed to every member.

Rotation: fusion.fuse per face: a member farther than fusion.DROP_DEG from the
members' medoid is dropped for that face; the rest are averaged per angle with
weights 1 / MAE^2 (MODEL_MAE_DEG, the landmark fit's grown by its measured
degradation in the face's regime: fusion.LANDMARK_FIT_DEGRADATION). When the members agree on nothing the face
gets no proposal (a wrong pose is worse than none: the labeling page then starts
from a frontal head at the face box and says so).

Where the MAEs come from (yaw, pitch, roll): for the members whose weights are
here, their errors on the 10 real AFLW2000 samples with the app's own detection
(landmarks-fit's own errors leave-one-out: each face fitted with a reference face
built without it). The bench never scores fused with this table: it refits the
table for each held-out face on the other faces only (bench/proposer_loo.py).
6DRepNet and HopeNet (no weights here): their published AFLW2000 (protocol 1)
per-angle MAE put on the same scale through FSA-Net, which has both a published
(5.07) and a measured (3.43) mean.

Confidence: parts/confidence.py, from the members' spread, the dropped count, the
landmark fit's residual and its two readings' disagreement, with the regime's
expected error (fusion.combined_mae) as a floor.

Provenance: every proposal records the members that ran, kept and dropped, each
with version and weights sha256; the proposer's own version is its code version
plus a hash of those (so a run with and one without weights differ by version,
and the leaderboard keeps them apart).

Translation: the landmark fit's t (a full perspective fit to the reference face
through K) when it has one and was kept; else MobileNet-3DMM's weak-perspective
estimate; else None. The 2D landmarks come from the member that gave t; no 3D
landmarks (the member's would belong to its own rotation, not the fused one).

Without any model weights the members are the landmark fit alone, so 'fused'
returns the default proposer's rotation, with a confidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core.proposers._registry import create_proposer, register_proposer
from workers.core.proposers.base import Image, Matrix, PoseProposal, Proposer, check_batch
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.default import LANDMARK_FIT_MAE_DEG
from workers.core.proposers.errors import MissingWeightsError
from workers.core.proposers.parts import confidence, fusion
from workers.core.proposers.parts.weights import WeightFiles

if TYPE_CHECKING:  # annotations only: detection loads cv2 (see Proposer.propose)
    from workers.core.proposers.parts.detection import DetectedFace

DEFAULT_MEMBER = "landmarks-fit"
OPTIONAL_MEMBERS = ("mobilenet-3dmm", "fsanet", "6drepnet", "hopenet")
_FSANET_SCALE = 3.40 / 5.07  # measured here / published AFLW2000 (P1) mean MAE
# [yaw, pitch, roll] MAE, degrees
MODEL_MAE_DEG = {
    "landmarks-fit": LANDMARK_FIT_MAE_DEG,  # leave-one-out, 10 AFLW2000 samples, app detection
    "mobilenet-3dmm": (2.49, 3.91, 1.22),  # measured, same samples (trained elsewhere)
    "fsanet": (2.36, 5.82, 2.02),  # measured, same (its crop follows the refined FaceMesh)
    "6drepnet": tuple(_FSANET_SCALE * v for v in (3.63, 4.91, 3.37)),  # published, rescaled
    "hopenet": tuple(_FSANET_SCALE * v for v in (6.47, 6.56, 5.44)),  # published, rescaled
}
T_SOURCES = ("landmarks-fit", "mobilenet-3dmm")

CONFIG = ProposerConfig(
    name="fused",
    version="2.0",
    description="Robust per-face fusion of every available pose model (outliers from the medoid dropped, "
    "per-angle 1/MAE^2 weights; landmark fit always; MobileNet-3DMM, FSA-Net, 6DRepNet, HopeNet "
    "when their weights exist); t from the landmark fit; calibrated confidence.",
    licence="see the member proposers",
    crop="per member",
    weights_file=None,
    extra={"model_mae_deg": MODEL_MAE_DEG, "drop_deg": fusion.DROP_DEG},
)


def fuse_rotations(Rs: ArrayLike, names: Sequence[str]) -> NDArray[np.float64]:
    """(M, 3, 3) rotations of the named members -> their per-angle weighted mean (no dropping)."""
    return fusion.weighted_rotation(Rs, np.array([MODEL_MAE_DEG[n] for n in names]))


def member_record(name: str, p: Proposer) -> dict[str, Any]:
    return {"name": name, "version": p.config.version, "weights_sha256": p.weights_sha256}


class FusedProposer(Proposer):
    def __init__(
        self,
        config: ProposerConfig = CONFIG,
        weights_dir: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        members: list[str] | None = None,
    ):
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
            h.update(f"{name}@{p.config.version}:{p.weights_sha256};".encode())
        self.weights_sha256 = h.hexdigest()
        # one version per member set: 'fused' with and without weights are different proposers
        self.config = dataclasses.replace(config, version=f"{config.version}+{self.weights_sha256[:8]}")
        self.member_records = {name: member_record(name, p) for name, p in self.members.items()}

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "members": list(self.member_records.values())}

    @property
    def member_names(self) -> list[str]:
        return list(self.members)

    def propose_faces(
        self, images: Sequence[Image], Ks: Sequence[Matrix], faces: Sequence[Sequence[DetectedFace]]
    ) -> list[list[PoseProposal]]:
        images, Ks = check_batch(images, Ks)
        if len(faces) != len(images):
            raise ValueError(f"{len(images)} images but {len(faces)} face lists")
        answers = {name: p.propose_faces(images, Ks, faces) for name, p in self.members.items()}
        result: list[list[PoseProposal]] = []
        for i, per_image in enumerate(faces):
            # members return proposals only for faces they could handle; match by box
            by_member = {name: {tuple(p.box): p for p in ans[i]} for name, ans in answers.items()}
            props: list[PoseProposal] = []
            for face in per_image:
                key = tuple(float(v) for v in face.box)
                found = {n: d[key] for n, d in by_member.items() if key in d}
                if not found:
                    continue
                names = list(found)
                f = fusion.fuse([found[n].R for n in names], names, MODEL_MAE_DEG)
                if f.R is None:
                    continue  # no two members agree: no sane pose for this face
                source = next((found[n] for n in T_SOURCES if n in f.kept and found[n].t is not None), None)
                lf = found[DEFAULT_MEMBER] if DEFAULT_MEMBER in f.kept else None
                residual = None if lf is None else lf.residual
                expected = confidence.expected_error(
                    confidence.features(
                        f.spread_deg, len(f.dropped), residual, f.expected_deg, None if lf is None else lf.twin_deg
                    )
                )
                props.append(
                    PoseProposal(
                        box=face.box,
                        R=f.R,
                        t=None if source is None else source.t,
                        score=face.score,
                        landmarks_2d=None if source is None else source.landmarks_2d,
                        landmark_scheme=None if source is None else source.landmark_scheme,
                        residual=residual,
                        confidence=confidence.confidence(expected),
                        provenance={
                            "members": [self.member_records[n] for n in self.members],
                            "kept": f.kept,
                            "dropped": f.dropped,
                            "spread_deg": round(f.spread_deg, 3),
                            "regime": f.regime,
                            "twin_deg": None if lf is None or lf.twin_deg is None else round(lf.twin_deg, 3),
                            "expected_error_deg": round(expected, 3),
                        },
                    )
                )
            result.append(props)
        return result


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    # the members' weights are in the same weights dir
    return FusedProposer(config, weight_files.directory, device)
