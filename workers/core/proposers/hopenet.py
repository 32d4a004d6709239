"""HopeNet (Ruiz et al., CVPRW 2018) as a pose proposer, torch.

Architecture (written from the ResNet paper, He et al. 2016, and HopeNet's
description): ResNet-50 (bottleneck blocks 3, 4, 6, 3; the stride on the 3x3
convolution, torchvision's layout), global average pooling, then three linear
heads `fc_yaw`, `fc_pitch`, `fc_roll` (2048 -> 66 bins of 3 degrees). The angle
is the softmax expectation: sum_i p_i * i * 3 - 99 degrees, AFLW convention
(HopeNet reads AFLW2000's Pose_Para as pitch, yaw, roll like we do), so
R = geometry.euler_to_matrix([yaw, pitch, roll]).

Checkpoint layout (hopenet_robust_alpha1.pkl and the other published files): a
plain state_dict with torchvision's ResNet keys `conv1.weight`, `bn1.*`,
`layer1.0.conv1.weight`, ..., `layer1.0.downsample.0.weight`,
`layer1.0.downsample.1.*`, ..., then `fc_yaw.*`, `fc_pitch.*`, `fc_roll.*`.
The published network also declares `fc_finetune` (2051 -> 3), never used in its
forward pass: it is accepted when present and not required. A 'module.' prefix
is stripped. Everything else must match exactly.

Input: RGB, ImageNet mean/std, 224x224, the same crop as 6DRepNet
(crops.hopenet_box on the tight face box, then its centred square).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.proposers._registry import register_proposer
from workers.core.proposers.base import Image, Matrix, Proposer, RotationProposer
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.errors import MissingWeightsError
from workers.core.proposers.parts.weights import (
    PathLike,
    WeightFiles,
    load_torch_network,
    load_torch_state,
    resolve_torch_device,
)
from workers.core.proposers.sixdrepnet import IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, imagenet_crops

if TYPE_CHECKING:  # annotations only: torch is imported where a network is built
    import torch
    from torch import nn

    from workers.core.proposers.parts.detection import DetectedFace

NUM_BINS = 66
BIN_DEG = 3.0
BIN_OFFSET_DEG = -99.0
LAYERS = (3, 4, 6, 3)

CONFIG = ProposerConfig(
    name="hopenet",
    version="1.0",
    description="HopeNet (ResNet-50, 66 bins of 3 degrees per angle, softmax expectation), 224x224 RGB crop.",
    licence="Apache-2.0 (deep-head-pose, Nataniel Ruiz et al.)",
    crop="hopenet-aflw-0.2-centre-square",
    input_size=(INPUT_SIZE, INPUT_SIZE),
    color_order="RGB",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    weights_file="hopenet/hopenet_robust_alpha1.pkl",
)


def build_network() -> nn.Module:
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, planes: int, stride: int) -> None:
            super().__init__()
            cout = planes * 4
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.downsample: nn.Sequential | None = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.bn1(self.conv1(x)))
            y = torch.relu(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    class HopeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            cin = 64
            for i, (n, planes) in enumerate(zip(LAYERS, (64, 128, 256, 512)), start=1):
                blocks = []
                for b in range(n):
                    blocks.append(Bottleneck(cin, planes, 2 if (b == 0 and i > 1) else 1))
                    cin = planes * 4
                setattr(self, f"layer{i}", nn.Sequential(*blocks))
            self.fc_yaw = nn.Linear(cin, NUM_BINS)
            self.fc_pitch = nn.Linear(cin, NUM_BINS)
            self.fc_roll = nn.Linear(cin, NUM_BINS)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            x = torch.relu(self.bn1(self.conv1(x)))
            x = nn.functional.max_pool2d(x, 3, 2, 1)
            for i in range(1, 5):
                x = getattr(self, f"layer{i}")(x)
            x = x.mean((2, 3))
            return self.fc_yaw(x), self.fc_pitch(x), self.fc_roll(x)

    return HopeNet()


def load_network(path: PathLike, device: str = "cpu") -> Any:
    state = load_torch_state(path, "HopeNet weights", wrappers=())
    state = {k: v for k, v in state.items() if not k.startswith("fc_finetune.")}
    return load_torch_network(build_network(), state, device)


def bins_to_degrees(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, 66) logits -> (N,) degrees: softmax expectation over the bin indices."""
    z = np.asarray(logits, np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    out: NDArray[np.float64] = p @ np.arange(NUM_BINS) * BIN_DEG + BIN_OFFSET_DEG
    return out


class HopeNetProposer(RotationProposer):
    def __init__(self, config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu"):
        super().__init__(config, weight_files, resolve_torch_device(device))
        if weight_files.path is None:  # the registry builds a proposer only once its file exists
            raise MissingWeightsError(f"{config.name}: no weights file")
        self.net = load_network(weight_files.path, self.device)

    def predict_euler(self, x: NDArray[np.float32]) -> Matrix:
        """(N, 3, 224, 224) normalised -> (N, 3) [yaw, pitch, roll] degrees."""
        import torch

        with torch.no_grad():
            heads = self.net(torch.from_numpy(x).to(self.device))
        return np.stack([bins_to_degrees(h.float().cpu().numpy()) for h in heads], axis=1)

    def rotations(self, images: Sequence[Image], index: Sequence[tuple[int, DetectedFace]]) -> Matrix:
        return geometry.euler_to_matrix(self.predict_euler(imagenet_crops(images, index)))


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    return HopeNetProposer(config, weight_files, device)
