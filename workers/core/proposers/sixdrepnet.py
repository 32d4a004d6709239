"""6DRepNet (Hempel et al., ICIP 2022) as a pose proposer, torch.

Architecture (written from the RepVGG paper, Ding et al. 2021, and 6DRepNet's
description): a RepVGG-B1g2 backbone in its deployed form, where each block is
one 3x3 convolution with bias + ReLU (`rbr_reparam`): stage 0 is 3 -> 64
stride 2; stages 1-4 have 4, 6, 16, 1 blocks of 128, 256, 512, 2048 channels,
the first block of each with stride 2, and blocks number 2, 4, ..., 26
(counting stage 0 as 0) are grouped convolutions with 2 groups. Global average
pooling, then `linear_reg` 2048 -> 6.

Checkpoint layout (the published deploy file 6DRepNet_300W_LP_AFLW2000.pth as
loaded by its test code): a plain state_dict, or one under 'model_state_dict',
with keys `layer0.rbr_reparam.{weight,bias}`, `layer1.0.rbr_reparam.weight`,
..., `layer4.0.rbr_reparam.bias`, `linear_reg.{weight,bias}`. Keys written as
RepVGG's own `stage0` ... `stage4` and a 'module.' prefix are accepted too. A
training-form checkpoint (`rbr_dense`/`rbr_1x1` branches) must be converted to
the deploy form first (RepVGG's repvgg_model_convert).

Output convention: the 6 numbers are two column vectors, Gram-Schmidt'ed into
M = [x | y | z] (columns). M is in 6DRepNet's own convention, where the
ground truth is get_R(pitch, yaw, roll) = Rz(roll) Ry(yaw) Rx(pitch) =
angle2matrix_3ddfa(...)^T (POSE_CONVENTIONS.md), so our camera-frame rotation is
    R_cam = F @ M^T @ F,   F = diag(1, -1, -1).

Input: RGB, ImageNet mean/std, 224x224: the tight face box with the AFLW2000
test margins of crops.hopenet_box (HopeNet/6DRepNet's evaluation crop rule),
then the centred square of it (their Resize(224) + CenterCrop(224)).
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
from workers.core.proposers.parts import crops
from workers.core.proposers.parts.weights import (
    PathLike,
    WeightFiles,
    load_torch_network,
    load_torch_state,
    resolve_torch_device,
)

if TYPE_CHECKING:  # annotations only: torch is imported where a network is built
    import torch
    from torch import nn

    from workers.core.proposers.parts.detection import DetectedFace

INPUT_SIZE = 224
IMAGENET_MEAN = (123.675, 116.28, 103.53)  # 255 x (0.485, 0.456, 0.406), RGB
IMAGENET_STD = (58.395, 57.12, 57.375)  # 255 x (0.229, 0.224, 0.225)
STAGE_BLOCKS = (4, 6, 16, 1)
STAGE_WIDTHS = (128, 256, 512, 2048)  # RepVGG-B1: 64 x (2, 2, 2) and 512 x 4
GROUPED_LAYERS = frozenset(range(2, 27, 2))  # "g2": these block indices use 2 groups

CONFIG = ProposerConfig(
    name="6drepnet",
    version="1.0",
    description="6DRepNet (RepVGG-B1g2, deploy form) regressing a 6D rotation, 224x224 RGB crop.",
    licence="MIT (6DRepNet, Thorsten Hempel et al.)",
    crop="hopenet-aflw-0.2-centre-square",
    input_size=(INPUT_SIZE, INPUT_SIZE),
    color_order="RGB",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    weights_file="6drepnet/6DRepNet_300W_LP_AFLW2000.pth",
)


def build_network() -> nn.Module:
    import torch
    from torch import nn

    class RepVGGBlockDeploy(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, groups: int) -> None:
            super().__init__()
            self.rbr_reparam = nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.rbr_reparam(x))

    class SixDRepNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer0 = RepVGGBlockDeploy(3, 64, 2, 1)
            cin, idx = 64, 1
            for s, (n, width) in enumerate(zip(STAGE_BLOCKS, STAGE_WIDTHS), start=1):
                blocks = []
                for b in range(n):
                    blocks.append(RepVGGBlockDeploy(cin, width, 2 if b == 0 else 1, 2 if idx in GROUPED_LAYERS else 1))
                    cin, idx = width, idx + 1
                setattr(self, f"layer{s}", nn.Sequential(*blocks))
            self.linear_reg = nn.Linear(cin, 6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for s in range(5):
                x = getattr(self, f"layer{s}")(x)
            out: torch.Tensor = self.linear_reg(x.mean((2, 3)))
            return out

    return SixDRepNet()


def _normalise_keys(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in state.items():
        if k.startswith("stage"):
            k = "layer" + k[len("stage") :]
        out[k] = v
    if any(".rbr_dense." in k for k in out):
        raise ValueError(
            "this 6DRepNet checkpoint is in RepVGG's training form (rbr_dense/rbr_1x1); "
            "convert it to the deploy form (repvgg_model_convert) first"
        )
    return out


def load_network(path: PathLike, device: str = "cpu") -> Any:
    state = load_torch_state(path, "6DRepNet weights", wrappers=("model_state_dict",))
    return load_torch_network(build_network(), _normalise_keys(state), device)


def sixd_to_own_matrix(d6: NDArray[np.float64]) -> NDArray[np.float64]:
    """6DRepNet's ortho6d -> its rotation M with columns x, y, z (x from the first
    3 numbers, z = x cross y_raw, y = z cross x)."""
    d6 = np.asarray(d6, np.float64)
    x = d6[:, :3] / np.linalg.norm(d6[:, :3], axis=1, keepdims=True)
    z = np.cross(x, d6[:, 3:])
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def own_matrix_to_camera(M: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = geometry.F @ np.swapaxes(M, -1, -2) @ geometry.F
    return out


def imagenet_crops(
    images: Sequence[Image], index: Sequence[tuple[int, DetectedFace]], size: int = INPUT_SIZE
) -> NDArray[np.float32]:
    """HopeNet/6DRepNet crops of (image index, face) pairs, (N, 3, size, size) float32."""
    patches = [
        crops.crop_box(images[i], crops.centre_square(crops.hopenet_box(crops.tight_face_box(f))), size)
        for i, f in index
    ]
    return crops.normalise(np.stack(patches), IMAGENET_MEAN, IMAGENET_STD, to_rgb=True)


class SixDRepNetProposer(RotationProposer):
    def __init__(self, config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu"):
        super().__init__(config, weight_files, resolve_torch_device(device))
        if weight_files.path is None:  # the registry builds a proposer only once its file exists
            raise MissingWeightsError(f"{config.name}: no weights file")
        self.net = load_network(weight_files.path, self.device)

    def predict(self, x: NDArray[np.float32]) -> Matrix:
        """(N, 3, 224, 224) normalised -> (N, 3, 3) camera-frame rotations."""
        import torch

        with torch.no_grad():
            d6 = self.net(torch.from_numpy(x).to(self.device)).float().cpu().numpy()
        return own_matrix_to_camera(sixd_to_own_matrix(d6))

    def rotations(self, images: Sequence[Image], index: Sequence[tuple[int, DetectedFace]]) -> Matrix:
        return self.predict(imagenet_crops(images, index))


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    return SixDRepNetProposer(config, weight_files, device)
