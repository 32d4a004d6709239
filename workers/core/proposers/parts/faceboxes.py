"""FaceBoxes (Zhang et al. 2017), the face detector of 3DDFA-V2, as a second
detector: detection.detect_faces falls back to it when mediapipe finds no face.

The network (written from the paper and the checkpoint's key names and shapes):
- RDCL: conv1 7x7 stride 4 (24 ch) + BN + CReLU (48), 3x3 max pool stride 2,
  conv2 5x5 stride 2 (64) + BN + CReLU (128), 3x3 max pool stride 2: stride 32.
- MSCL: three Inception modules (four branches of 32 channels: 1x1; 3x3 pool
  then 1x1; 1x1 reduce (24) then 3x3; 1x1 reduce (24) then two 3x3), then
  conv3_1 1x1 (128) + conv3_2 3x3 stride 2 (256), conv4_1 1x1 (128) + conv4_2
  3x3 stride 2 (256): feature maps of stride 32, 64 and 128.
- Heads (`loc.k`, `conf.k`, 3x3 convs): on the stride-32 map 21 anchors per cell
  (32 px densified 4x4, 64 px 2x2, 128 px once), on the others one anchor each
  (256 and 512 px). Boxes are SSD offsets with variances 0.1 / 0.2; scores are
  the softmax of two classes (background, face).
Every convolution but the heads is bias-free and followed by a BatchNorm (the
checkpoint stores `X.conv` + `X.bn`), with a ReLU except where CReLU replaces it.

Input as 3DDFA-V2 feeds it: the BGR image as float minus (104, 117, 123), no
scaling; an image larger than MAX_HEIGHT x MAX_WIDTH is first resized down.
Coordinates out: OpenCV pixels, (0, 0) = the centre of the top-left pixel.

Why a fallback (bench/bench_faceboxes.py, the 10 real AFLW2000 samples): upright,
both detectors find all 10; turned by 90 deg, mediapipe finds 3, FaceBoxes 6,
mediapipe with the FaceBoxes fallback 8. FaceBoxes costs 23-26 ms per
450x450 image on one CPU thread, so it runs only when mediapipe finds nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core.proposers.errors import ProposerError
from workers.core.proposers.parts.boxes import as_box
from workers.core.proposers.parts.detection import DetectionError, _as_bgr
from workers.core.proposers.parts.weights import PathLike, load_torch_network, load_torch_state, resolve_torch_device

if TYPE_CHECKING:  # annotations only: torch is imported where the network is built
    import torch
    from torch import nn

WEIGHTS_FILE = "3ddfa_v2/FaceBoxesProd.pth"  # relative to the weights dir
BGR_MEAN = (104.0, 117.0, 123.0)
VARIANCES = (0.1, 0.2)
# (stride, anchor sizes (px), densification per size) of the three heads
HEADS = (
    (32, (32, 64, 128), (4, 2, 1)),
    (64, (256,), (1,)),
    (128, (512,), (1,)),
)
# 3DDFA-V2 resizes larger images down to fit this box before detection
MAX_HEIGHT, MAX_WIDTH = 720, 1080
CANDIDATE_SCORE = 0.05  # boxes below this never reach NMS (cheap pre-filter)
PRE_NMS_TOP_K = 5000
NMS_IOU = 0.3


def anchors_per_cell(densities: Sequence[int]) -> int:
    """Anchors a head predicts per cell: n x n for each size densified n times."""
    return sum(d * d for d in densities)


def build_network() -> nn.Module:
    """The FaceBoxes module; torch imported here so the module stays cheap."""
    import torch
    from torch import nn
    from torch.nn import functional as fn

    class ConvBN(nn.Module):
        """conv (no bias) + BN; relu: 'relu', 'crelu' (concat(x, -x) then ReLU: the
        paper's CReLU, which doubles the channels for free) or None."""

        def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, relu: str | None = "relu") -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
            self.bn = nn.BatchNorm2d(cout)
            self.relu = relu

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.bn(self.conv(x))
            if self.relu == "crelu":
                x = torch.cat([x, -x], 1)
            return fn.relu(x) if self.relu else x

    class Inception(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branch1x1 = ConvBN(128, 32, 1)
            self.branch1x1_2 = ConvBN(128, 32, 1)
            self.branch3x3_reduce = ConvBN(128, 24, 1)
            self.branch3x3 = ConvBN(24, 32, 3)
            self.branch3x3_reduce_2 = ConvBN(128, 24, 1)
            self.branch3x3_2 = ConvBN(24, 32, 3)
            self.branch3x3_3 = ConvBN(32, 32, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pooled = fn.avg_pool2d(x, 3, 1, 1)
            return torch.cat(
                [
                    self.branch1x1(x),
                    self.branch1x1_2(pooled),
                    self.branch3x3(self.branch3x3_reduce(x)),
                    self.branch3x3_3(self.branch3x3_2(self.branch3x3_reduce_2(x))),
                ],
                1,
            )

    class FaceBoxes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = ConvBN(3, 24, 7, 4, relu="crelu")
            self.conv2 = ConvBN(48, 64, 5, 2, relu="crelu")
            self.inception1, self.inception2, self.inception3 = Inception(), Inception(), Inception()
            self.conv3_1 = ConvBN(128, 128, 1)
            self.conv3_2 = ConvBN(128, 256, 3, 2)
            self.conv4_1 = ConvBN(256, 128, 1)
            self.conv4_2 = ConvBN(128, 256, 3, 2)
            channels = (128, 256, 256)
            counts = [anchors_per_cell(dens) for _, _, dens in HEADS]
            self.loc = nn.ModuleList([nn.Conv2d(c, 4 * a, 3, 1, 1) for c, a in zip(channels, counts)])
            self.conf = nn.ModuleList([nn.Conv2d(c, 2 * a, 3, 1, 1) for c, a in zip(channels, counts)])

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """(N, 3, H, W) -> box offsets (N, P, 4) and face scores (N, P), P
            anchors ordered head by head, cell by cell (row-major), anchor by anchor."""
            x = fn.max_pool2d(self.conv1(x), 3, 2, 1)
            x = fn.max_pool2d(self.conv2(x), 3, 2, 1)
            f1 = self.inception3(self.inception2(self.inception1(x)))
            f2 = self.conv3_2(self.conv3_1(f1))
            f3 = self.conv4_2(self.conv4_1(f2))
            n = x.shape[0]
            loc = torch.cat([h(f).permute(0, 2, 3, 1).reshape(n, -1, 4) for h, f in zip(self.loc, (f1, f2, f3))], 1)
            conf = torch.cat([h(f).permute(0, 2, 3, 1).reshape(n, -1, 2) for h, f in zip(self.conf, (f1, f2, f3))], 1)
            return loc, torch.softmax(conf, -1)[..., 1]

    return FaceBoxes()


def load_network(path: PathLike, device: str = "cpu") -> Any:
    """FaceBoxes with the checkpoint loaded strictly (every key and shape must match)."""
    return load_torch_network(build_network(), load_torch_state(path, "FaceBoxes weights"), device)


def feature_size(size: int, stride: int) -> int:
    """Side of a feature map of the given stride for an input side (every conv and
    pool halves with ceil, as padding k // 2 does)."""
    for _ in range(int(np.log2(stride))):
        size = (size + 1) // 2
    return size


def prior_boxes(height: int, width: int) -> NDArray[np.float64]:
    """(P, 4) anchors (cx, cy, w, h) in input pixels, in the order the heads emit
    them. A plain anchor sits at its cell's centre; a densified one (n x n per
    cell) at offsets k / n of the stride (k = 0..n-1), the tiling the checkpoint
    was trained with: on the real samples shrunk to small faces it fits the
    landmark boxes better than offsets centred on the cell ((k + 0.5) / n).
    Large faces use the plain anchors and do not tell the two apart."""
    out = []
    for stride, sizes, densities in HEADS:
        fh, fw = feature_size(height, stride), feature_size(width, stride)
        per_cell = []
        for size, n in zip(sizes, densities):
            off = np.arange(n) / n if n > 1 else np.array([0.5])
            oy, ox = np.meshgrid(off, off, indexing="ij")
            per_cell += [(x, y, size) for y, x in zip(oy.ravel(), ox.ravel())]
        cell = np.array(per_cell)  # (A, 3): offset x, offset y (in strides), size
        gy, gx = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        cx = (gx.reshape(-1, 1) + cell[:, 0]) * stride
        cy = (gy.reshape(-1, 1) + cell[:, 1]) * stride
        s = np.broadcast_to(cell[:, 2], cx.shape)
        out.append(np.stack([cx, cy, s, s], -1).reshape(-1, 4))
    return np.concatenate(out)


def decode(loc: NDArray[np.float64], priors: NDArray[np.float64]) -> NDArray[np.float64]:
    """SSD offsets (P, 4) on anchors (cx, cy, w, h) -> boxes (x0, y0, x1, y1), same units."""
    centre = priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[:, 2:] * VARIANCES[1])
    return np.concatenate([centre - size / 2, centre + size / 2], 1)


def iou(box: NDArray[np.float64], boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of one (x0, y0, x1, y1) box with each of (N, 4) boxes."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2]) + np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) - inter
    return np.where(area > 0, inter / np.maximum(area, 1e-12), 0.0)


def nms(boxes: NDArray[np.float64], scores: NDArray[np.float64], threshold: float = NMS_IOU) -> NDArray[np.int64]:
    """Greedy non-maximum suppression: indices kept, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, order = order[0], order[1:]
        keep.append(i)
        order = order[iou(boxes[i], boxes[order]) <= threshold]
    return np.array(keep, dtype=np.int64)


def input_scale(height: int, width: int) -> float:
    """The factor 3DDFA-V2 resizes an image by before detection (<= 1): large
    images are slow and their faces are big enough for the coarse anchors."""
    scale = min(1.0, MAX_HEIGHT / height)
    return min(scale, MAX_WIDTH / (width * scale)) if width * scale > MAX_WIDTH else scale


class FaceBoxesDetector:
    """FaceBoxes on one device: detect(image_bgr) -> [(box, score)], best first."""

    def __init__(self, weights_path: PathLike, device: str = "cpu"):
        self.weights_path = Path(weights_path)
        self.device = device
        self.net = load_network(self.weights_path, device)

    def detect(
        self, image_bgr: ArrayLike, min_score: float = 0.5
    ) -> list[tuple[tuple[float, float, float, float], float]]:
        """Faces as ((x0, y0, x1, y1) OpenCV pixel-centre coords, score), best first."""
        import torch

        if not 0 <= min_score <= 1:
            raise DetectionError(f"min_score must be in [0, 1], got {min_score}")
        img = _as_bgr(image_bgr)  # detection's check: the same images are valid for both
        h, w = img.shape[:2]
        scale = input_scale(h, w)
        if scale < 1:
            img = cast(
                "NDArray[np.uint8]",
                cv2.resize(  # cv2 keeps the dtype
                    img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
                ),
            )
        ih, iw = img.shape[:2]
        x = torch.from_numpy(
            (img.astype(np.float32) - np.array(BGR_MEAN, dtype=np.float32)).transpose(2, 0, 1)[None].copy()
        )
        with torch.no_grad():
            loc, scores = self.net(x.to(self.device))
        loc, scores = loc[0].float().cpu().numpy(), scores[0].float().cpu().numpy()
        keep = np.flatnonzero(scores >= max(min_score, CANDIDATE_SCORE))
        keep = keep[np.argsort(-scores[keep], kind="stable")[:PRE_NMS_TOP_K]]
        boxes = decode(loc[keep], prior_boxes(ih, iw)[keep])
        scores = scores[keep]
        kept = nms(boxes, scores)
        # input pixel edges -> original image pixel-centre coords
        boxes = boxes[kept] * np.array([w / iw, h / ih, w / iw, h / ih]) - 0.5
        return [(as_box(b), float(s)) for b, s in zip(boxes, scores[kept])]


class FaceBoxesForkError(ProposerError):
    """FaceBoxes asked for in a process forked from one that had already run it."""


_lock = threading.Lock()
_detectors: dict[tuple[int, str, str], FaceBoxesDetector] = {}  # (pid, weights file, device)
_first_user_pid: int | None = None


def cached_detector(weights_path: PathLike, device: str = "cpu") -> FaceBoxesDetector:
    """One detector per process, weights file and device, built on first use.

    Like mediapipe (detection.py), torch does not survive a fork once it has run:
    a child forked from a process whose torch had used its OpenMP thread pool
    hangs in the first torch operation (even building the network). So the
    detector is built only in the process that will use it (a Celery worker, not
    its master), and a forked child of a process that already used it gets this
    error instead of the hang."""
    global _first_user_pid
    pid = os.getpid()
    key = (pid, str(Path(weights_path).resolve()), str(device))
    with _lock:
        if key not in _detectors:
            if _first_user_pid is not None and _first_user_pid != pid:
                raise FaceBoxesForkError(
                    f"FaceBoxes cannot run in process {pid}: it was forked from process {_first_user_pid}, "
                    "which had already run torch, and torch hangs after such a fork. Build detectors only "
                    "inside worker processes (or start them with the 'spawn' method)."
                )
            _first_user_pid = pid
            _detectors[key] = FaceBoxesDetector(weights_path, device)
        return _detectors[key]


class FallbackDetector:
    """FaceBoxes as detect_faces' fallback, built on its first detect: most images
    never need it (mediapipe finds their faces), so a process that only proposes
    on those neither starts torch for it nor falls under the fork rule above."""

    def __init__(self, weights_path: Path, device: str):
        self.weights_path, self.device = weights_path, device

    def detect(
        self, image_bgr: ArrayLike, min_score: float = 0.5
    ) -> list[tuple[tuple[float, float, float, float], float]]:
        return cached_detector(self.weights_path, resolve_torch_device(self.device)).detect(image_bgr, min_score)


_fallbacks: dict[tuple[str, str], FallbackDetector] = {}  # (weights file, device)


def detector_in(weights_dir: PathLike | None, device: str = "cpu") -> FallbackDetector | None:
    """The fallback detector for weights_dir's FaceBoxes file (one per weights dir
    and device); None when there is no weights dir or the file is not in it
    (FaceBoxes is an optional extra)."""
    if weights_dir is None:
        return None
    path = Path(weights_dir) / WEIGHTS_FILE
    if not path.is_file():
        return None
    key = (str(path.resolve()), str(device))
    with _lock:
        return _fallbacks.setdefault(key, FallbackDetector(path, device))
