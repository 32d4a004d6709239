"""3DDFA-V2's MobileNet-V1 (width 0.5) 3DMM regressor as a pose proposer (torch).

The network (written from the MobileNet-V1 paper, Howard et al. 2017, and the
checkpoint's key names and shapes): a 3x3 stride-2 stem (`conv1`/`bn1`), then 13
depthwise-separable blocks `dw2_1 ... dw6` (3x3 depthwise + BN + ReLU, 1x1
pointwise + BN + ReLU) with the paper's strides (2 at dw2_2, dw3_2, dw4_2, dw5_6),
global average pooling and two linear heads: `fc_param` (62 normalised 3DMM
parameters) and `fc_lm` (68 2D landmarks, all x then all y, in [-1, 1] over the
crop). Input: a 120x120 BGR crop, (x - 127.5) / 128.

Pose: the first 12 de-normalised parameters are P = [sR | t] (3x4), the weak
perspective map from the Basel Face Model (x right, y up, z toward the viewer;
units of 1 micrometre) to the crop with y pointing up. Our head frame and camera
frame are those two frames with y and z flipped, so
    R_cam = F @ R @ F,   F = diag(1, -1, -1),
which is exactly the POSE_CONVENTIONS relation between `angle2matrix_3ddfa` and
our R. (3DDFA's own pose helper decomposes R instead of R^T and so reports Euler
angles in another convention; we never use it.) Checked on the real AFLW2000
samples: R_cam agrees with Pose_Para to a few degrees; R^T instead is off by 20+.

Translation (mm): weak perspective gives the scale s (image pixels per model
unit) of the face as a whole, i.e. at its mean depth Z = f * unit_mm / s with
unit_mm = 1e-3 (BFM micrometres; the scale matches AFLW2000's Pose_Para scale to
within about 5% on the samples). The head origin (centroid of the 68 reference
landmarks) projects, under weak perspective, to the centroid of the 68 predicted
2D landmarks (u, v), so t = Z K^-1 (u, v, 1). The error of this is that of the
weak-perspective model: the face's depth extent (~10 cm) against Z.

Crops (parts/crops.py): the detector box rule of 3DDFA-V2 (1.58 x mean side, centre
0.14 x mean side lower) for a first pass, then, as 3DDFA-V2 does for its second
pass, the landmark rule on the network's own 68 landmarks; the second pass is
the answer (on the AFLW2000 samples: box crop 2.8 deg mean MAE, re-crop 2.5).
Mirror test-time augmentation is available (extra['mirror_tta']) but off: it
did not help on the samples (2.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.proposers._registry import register_proposer
from workers.core.proposers.base import Image, Matrix, PoseProposal, Proposer
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.parts import crops
from workers.core.proposers.parts.weights import (
    PathLike,
    WeightFiles,
    load_torch_network,
    load_torch_state,
    require_file,
    resolve_torch_device,
)

if TYPE_CHECKING:  # annotations only: torch is imported where a network is built
    import torch
    from torch import nn

    from workers.core.proposers.parts.detection import DetectedFace

INPUT_SIZE = 120
_Estimate = tuple[Matrix, Matrix, Matrix]
"""One face's R (3, 3), weak-perspective scales (2,) and 68 landmarks (68, 2) px."""
BFM_UNIT_MM = 1e-3
PARAM_STATS_FILE = "param_mean_std_62d_120x120.npz"
# (name, in, out, stride) at width 1.0; the checkpoint is width 0.5.
_BLOCKS = (
    ("dw2_1", 32, 64, 1),
    ("dw2_2", 64, 128, 2),
    ("dw3_1", 128, 128, 1),
    ("dw3_2", 128, 256, 2),
    ("dw4_1", 256, 256, 1),
    ("dw4_2", 256, 512, 2),
    ("dw5_1", 512, 512, 1),
    ("dw5_2", 512, 512, 1),
    ("dw5_3", 512, 512, 1),
    ("dw5_4", 512, 512, 1),
    ("dw5_5", 512, 512, 1),
    ("dw5_6", 512, 1024, 2),
    ("dw6", 1024, 1024, 1),
)
MIRROR = np.diag([-1.0, 1.0, 1.0])  # x -> -x: a mirrored image has pose MIRROR R MIRROR

CONFIG = ProposerConfig(
    name="mobilenet-3dmm",
    version="1.0",
    description="3DDFA-V2 MobileNet-V1 x0.5 3DMM regressor (120x120); rotation from the "
    "weak-perspective matrix, t from its scale and 68 landmarks; box crop + "
    "landmark re-crop (3DDFA-V2's two passes).",
    licence="MIT (3DDFA-V2 weights, Jianzhu Guo et al.)",
    crop="detector-box-1.58+landmarks-3ddfa",
    input_size=(INPUT_SIZE, INPUT_SIZE),
    color_order="BGR",
    mean=(127.5, 127.5, 127.5),
    std=(128.0, 128.0, 128.0),
    weights_file="3ddfa_v2/mb05_120x120.pth",
    companion_files=("3ddfa_v2/" + PARAM_STATS_FILE,),
    extra={"width": 0.5, "landmark_passes": 2, "mirror_tta": False, "bfm_unit_mm": BFM_UNIT_MM},
)


def build_network(width: float = 0.5) -> nn.Module:
    """MobileNet-V1 3DMM regressor; torch imported here so the module stays cheap."""
    import torch
    from torch import nn

    def ch(c: int) -> int:
        return int(c * width)

    class DepthwiseSeparable(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv_dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
            self.bn_dw = nn.BatchNorm2d(cin)
            self.conv_sep = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)
            self.bn_sep = nn.BatchNorm2d(cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.bn_dw(self.conv_dw(x)))
            return torch.relu(self.bn_sep(self.conv_sep(x)))

    class MobileNetV1_3DMM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, ch(32), 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(ch(32))
            for name, cin, cout, stride in _BLOCKS:
                setattr(self, name, DepthwiseSeparable(ch(cin), ch(cout), stride))
            self.fc_param = nn.Linear(ch(1024), 62)
            self.fc_lm = nn.Linear(ch(1024), 136)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.relu(self.bn1(self.conv1(x)))
            for name, *_ in _BLOCKS:
                x = getattr(self, name)(x)
            x = x.mean((2, 3))
            return self.fc_param(x), self.fc_lm(x)

    return MobileNetV1_3DMM()


def load_network(path: PathLike, device: str = "cpu") -> Any:
    """Network with the checkpoint loaded strictly (every key and shape must match)."""
    return load_torch_network(build_network(0.5), load_torch_state(path, "MobileNet-3DMM weights"), device)


def load_param_stats(path: PathLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    path = require_file(path, "MobileNet-3DMM parameter statistics")
    with np.load(path) as z:
        mean, std = np.asarray(z["mean"], np.float64).reshape(-1), np.asarray(z["std"], np.float64).reshape(-1)
    if mean.shape != (62,) or std.shape != (62,):
        raise ValueError(f"{path}: expected 62 means and stds, got {mean.shape} and {std.shape}")
    return mean, std


def rotation_from_params(params: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(N, 62) de-normalised parameters -> camera-frame R (N, 3, 3) and the weak
    perspective scales (N, 2) of the x and y rows (crop pixels per model unit)."""
    P = np.asarray(params, np.float64)[:, :12].reshape(-1, 3, 4)
    sR = P[:, :, :3]
    R = geometry.F @ geometry.nearest_rotation(sR) @ geometry.F
    return R, np.linalg.norm(sR[:, :2], axis=-1)


def translation_mm(
    scale_xy_img: NDArray[np.float64], centre_uv: NDArray[np.float64], K: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Head origin in mm from the weak-perspective scale (image px per model
    unit, x and y rows) and the image point the origin projects to."""
    K = np.asarray(K, np.float64)
    z = BFM_UNIT_MM * (K[0, 0] / scale_xy_img[0] + K[1, 1] / scale_xy_img[1]) / 2
    ray = np.linalg.solve(K, np.array([centre_uv[0], centre_uv[1], 1.0]))
    out: NDArray[np.float64] = z * ray
    return out


class MobileNet3DMMProposer(Proposer):
    def __init__(self, config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu"):
        super().__init__(config, weight_files, resolve_torch_device(device))
        network, stats = weight_files.paths
        self.param_mean, self.param_std = load_param_stats(stats)
        self.net = load_network(network, self.device)
        self.passes = int(config.extra.get("landmark_passes", 2))
        self.mirror = bool(config.extra.get("mirror_tta", False))

    def _forward(
        self, images: Sequence[Image], rois: Sequence[tuple[int, Matrix]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """One batched forward of (image index, roi) crops (plus mirrored copies).
        Returns R (N, 3, 3) averaged over the mirror pair, weak-perspective scales
        (N, 2) in image px per unit, and 68 landmarks (N, 68, 2) in image px."""
        import torch

        patches = np.stack([crops.crop_box(images[i], roi, INPUT_SIZE) for i, roi in rois])
        if self.mirror:
            patches = np.concatenate([patches, patches[:, :, ::-1]])
        x = torch.from_numpy(crops.normalise(patches, self.config.mean, self.config.std)).to(self.device)
        with torch.no_grad():
            p, lm = self.net(x)
        params = p.float().cpu().numpy() * self.param_std + self.param_mean
        lm = lm.float().cpu().numpy().reshape(-1, 2, 68).transpose(0, 2, 1)
        R, scale = rotation_from_params(params)
        n = len(rois)
        if self.mirror:
            R_back = MIRROR @ R[n:] @ MIRROR
            R = geometry.nearest_rotation(R[:n] + R_back)
            scale = (scale[:n] + scale[n:]) / 2
            lm = lm[:n]
        side = np.array([roi[2] - roi[0] for _, roi in rois])
        lm_img = np.stack(
            [
                crops.crop_to_image((face_lm + 1) * INPUT_SIZE / 2 - 0.5, roi, INPUT_SIZE)
                for face_lm, (_, roi) in zip(lm, rois)
            ]
        )
        return R, scale * (side / INPUT_SIZE)[:, None], lm_img

    def estimate(
        self, images: Sequence[Image], boxes_per_image: Sequence[Sequence[Sequence[float]]]
    ) -> list[list[_Estimate | None]]:
        """Per image, per box: (R, scale_xy, landmarks68) after all passes."""
        index = [(i, j) for i, boxes in enumerate(boxes_per_image) for j in range(len(boxes))]
        if not index:
            return [[] for _ in images]
        rois = [(i, crops.box_square_3ddfa(boxes_per_image[i][j])) for i, j in index]
        R, scale, lm = self._forward(images, rois)
        for _ in range(1, self.passes):  # each further pass re-crops on the previous pass's landmarks
            rois = [(i, crops.landmark_square_3ddfa(face_lm)) for (i, _), face_lm in zip(rois, lm)]
            R, scale, lm = self._forward(images, rois)
        out: list[list[_Estimate | None]] = [[None] * len(b) for b in boxes_per_image]
        for k, (i, j) in enumerate(index):
            out[i][j] = (R[k], scale[k], lm[k])
        return out

    def propose_faces(
        self, images: Sequence[Image], Ks: Sequence[Matrix], faces: Sequence[Sequence[DetectedFace]]
    ) -> list[list[PoseProposal]]:
        est = self.estimate(images, [[f.box for f in fs] for fs in faces])
        result: list[list[PoseProposal]] = []
        for K, fs, es in zip(Ks, faces, est):
            props: list[PoseProposal] = []
            for face, e in zip(fs, es):
                assert e is not None  # estimate answers every box
                R, scale, lm = e
                t = translation_mm(scale, lm.mean(0), K)
                props.append(
                    PoseProposal(box=face.box, R=R, t=t, score=face.score, landmarks_2d=lm, landmark_scheme="ibug68")
                )
            result.append(props)
        return result


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    return MobileNet3DMMProposer(config, weight_files, device)
