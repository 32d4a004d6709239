"""What a proposer is and exactly how its input is prepared (timm-style config)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProposerConfig:
    """crop: name of the crop rule (for example 'none', 'mesh-landmarks',
    'detector-box-1.58', 'fsanet-0.6'); input_size: (width, height) fed to the
    network or None; color_order 'BGR' or 'RGB'; the network sees
    (pixel - mean) / std per channel, in colour_order.

    weights_file is relative to the weights dir, None when the proposer ships
    with the code; companion_files are further files it needs from the weights
    dir (statistics, a second model), required and hashed with weights_file."""

    name: str
    version: str
    description: str
    licence: str
    crop: str = "none"
    input_size: tuple[int, int] | None = None
    color_order: str = "BGR"
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    weights_file: str | None = None
    companion_files: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.color_order not in ("BGR", "RGB"):
            raise ValueError(f"color_order must be 'BGR' or 'RGB', not {self.color_order!r}")
        if not self.name or not self.version:
            raise ValueError("a proposer config needs a name and a version")
        if self.companion_files and self.weights_file is None:
            raise ValueError("companion_files need a weights_file")

    @property
    def weights_files(self) -> tuple[str, ...]:
        """Every file the proposer reads from the weights dir, weights_file first."""
        return () if self.weights_file is None else (self.weights_file, *self.companion_files)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
