"""The benchmark protocols, as data: one frozen description per protocol.

In the spirit of timm's pretrained configs: everything a published number
depends on is written down here once (which split recipe, the angle filter,
the crop rule, the error definition) next to the numbers themselves. The
seeding step (evaluation/seeding.py) turns each description into a Benchmark
of an imported dataset; nothing else needs to know a protocol's details.

The split recipes themselves live in annotator/splits.py (they are named by
`split` here); the AFLW2000 angle filter is workers.core.formats.splits'
(P1_MAX_ABS_DEG, within_max_abs_angle), the one definition the split recipe and
the benchmark's sample selection share."""

from __future__ import annotations

from dataclasses import dataclass

from annotator.datasets.models import Dataset
from evaluation.models import CropRule, ErrorDefinition
from workers.core.formats.splits import P1_MAX_ABS_DEG


@dataclass(frozen=True)
class PublishedResult:
    """A published MAE row (degrees), shown on the leaderboard as a reference."""

    method: str
    mae_yaw: float
    mae_pitch: float
    mae_roll: float
    mae_mean: float

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "mae_yaw": self.mae_yaw,
            "mae_pitch": self.mae_pitch,
            "mae_roll": self.mae_roll,
            "mae_mean": self.mae_mean,
        }


@dataclass(frozen=True)
class Protocol:
    key: str
    dataset_kind: str  # Dataset.Kind: which imports get this benchmark
    split: str  # the split (annotator/splits.py's recipe) the samples come from
    title: str
    description: str
    max_abs_angle: float | None  # angle filter: drop a sample if any ground-truth |angle| exceeds it
    crop: str  # CropRule
    error_definition: str  # ErrorDefinition
    published: tuple[PublishedResult, ...]
    published_note: str  # how far the published numbers compare with ours

    def benchmark_name(self, dataset_name: str) -> str:
        return f"{dataset_name}-{self.split}"

    def benchmark_title(self, dataset_name: str) -> str:
        return f"{self.title} ({dataset_name})"


def _published(*rows) -> tuple[PublishedResult, ...]:
    return tuple(PublishedResult(*row) for row in rows)


# Published MAE (yaw, pitch, roll, mean), degrees, from ../shared/docs/DATA.md.
AFLW2000_P1 = Protocol(
    key="aflw2000-p1",
    dataset_kind=Dataset.Kind.AFLW2000,
    split="p1",
    title="AFLW2000-3D protocol 1",
    description="Train elsewhere (300W-LP), test on AFLW2000-3D; "
    f"a sample is dropped if any |angle| > {P1_MAX_ABS_DEG:g} deg.",
    max_abs_angle=P1_MAX_ABS_DEG,
    crop=CropRule.HOPENET,
    error_definition=ErrorDefinition.PLAIN,
    published=_published(
        ("HopeNet", 6.47, 6.56, 5.44, 6.16),
        ("FSA-Net", 4.50, 6.08, 4.64, 5.07),
        ("WHENet-V", 4.44, 5.75, 4.31, 4.83),
        ("img2pose", 3.43, 5.03, 3.28, 3.91),
        ("6DRepNet", 3.63, 4.91, 3.37, 3.97),
        ("WQuatNet (2025)", 3.39, 4.62, 3.23, 3.75),
    ),
    published_note="Published on the full 2000-image set with the HopeNet crop; a smaller import is not comparable.",
)

BIWI_P1 = Protocol(
    key="biwi-p1",
    dataset_kind=Dataset.Kind.BIWI,
    split="p1",
    title="BIWI protocol 1",
    description="Train elsewhere (300W-LP), test on all BIWI frames.",
    max_abs_angle=None,
    crop=CropRule.FSANET,
    error_definition=ErrorDefinition.PLAIN,
    published=_published(
        ("HopeNet", 4.81, 6.61, 3.27, 4.90),
        ("FSA-Net", 4.27, 4.96, 2.76, 4.00),
        ("WHENet-V", 3.60, 4.10, 2.73, 3.48),
        ("img2pose", 4.57, 3.55, 3.24, 3.79),
        ("6DRepNet", 3.24, 4.48, 2.68, 3.47),
        ("WQuatNet (2025)", 3.91, 4.20, 2.64, 3.58),
    ),
    published_note="Published on the 13,219-frame protocol-1 list (FSA-Net's preprocessed crops).",
)

BIWI_P2_TEST = Protocol(
    key="biwi-p2",
    dataset_kind=Dataset.Kind.BIWI,
    split="p2-test",
    title="BIWI protocol 2 (70/30), test part",
    description="Train on 70% of the BIWI sequences, test on the other 30% (seeded, sequences recorded in the split).",
    max_abs_angle=None,
    crop=CropRule.FSANET,
    error_definition=ErrorDefinition.PLAIN,
    published=_published(
        ("HopeNet", 3.29, 3.39, 3.00, 3.23),
        ("FSA-Net", 2.89, 4.29, 3.60, 3.60),
        ("6DRepNet", 2.69, 2.92, 2.36, 2.66),
        ("WQuatNet (2025)", 2.39, 2.37, 2.08, 2.28),
    ),
    published_note="Published 70/30 splits were unseeded permutations: another sequence list than ours, "
    "so these numbers are indicative only.",
)

PROTOCOLS: dict[str, Protocol] = {p.key: p for p in (AFLW2000_P1, BIWI_P1, BIWI_P2_TEST)}


def protocols_for(dataset_kind: str) -> list[Protocol]:
    return [p for p in PROTOCOLS.values() if p.dataset_kind == dataset_kind]
