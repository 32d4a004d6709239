"""FSA-Net (Yang et al., CVPR 2019) as a pose proposer, onnxruntime.

Two published ONNX exports (the 1x1-conv and the variance scoring variants) each
map a 64x64 BGR crop, (x - 127.5) / 128, to [yaw, pitch, roll] in degrees, AFLW
convention (checked on the real AFLW2000 samples: the signs agree with
Pose_Para through geometry.euler_to_matrix). As their authors do, the two are
averaged (mean of the Euler angles: they differ by a few degrees at most, where
the Euler mean and the rotation mean agree).

Crop: FSA-Net's rule on the box it was trained with, the bounding box of the
face's 68 landmarks (crops.tight_face_box: FaceMesh's iBUG-68 subset from the
app's detection; the detector box when a face has no landmarks), grown by 0.6 of
its size on every side, clamped to the image, resized to 64x64 without keeping
the aspect ratio. On the AFLW2000 samples the landmark box gave 3.36 deg mean
MAE against 3.77 for mediapipe's detector box (which reaches up to the forehead).
Rotation only: t is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.proposers._registry import register_proposer
from workers.core.proposers.base import Image, Matrix, Proposer, RotationProposer
from workers.core.proposers.config import ProposerConfig
from workers.core.proposers.parts import crops
from workers.core.proposers.parts.weights import PathLike, WeightFiles, require_file

if TYPE_CHECKING:  # annotations only: onnxruntime and detection (cv2) load on first use
    import onnxruntime

    from workers.core.proposers.parts.detection import DetectedFace

INPUT_SIZE = 64
MARGIN = 0.6
MODEL_FILES = ("fsanet-1x1-iter-688590.onnx", "fsanet-var-iter-688590.onnx")

CONFIG = ProposerConfig(
    name="fsanet",
    version="1.0",
    description="FSA-Net (1x1 and var ONNX exports, averaged), 64x64 crop, Euler output.",
    licence="MIT (FSA-Net, Tsun-Yi Yang et al.; ONNX exports)",
    crop="fsanet-0.6-landmarks68",
    input_size=(INPUT_SIZE, INPUT_SIZE),
    color_order="BGR",
    mean=(127.5, 127.5, 127.5),
    std=(128.0, 128.0, 128.0),
    weights_file="fsanet/" + MODEL_FILES[0],
    companion_files=tuple("fsanet/" + f for f in MODEL_FILES[1:]),
    extra={"margin": MARGIN},
)


def _available() -> list[str]:
    import onnxruntime as ort

    out: list[str] = ort.get_available_providers()
    return out


def _providers(device: str) -> list[str | tuple[str, dict[str, int]]]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device.startswith("cuda") and "CUDAExecutionProvider" in available:
        index = device.split(":", 1)[1] if ":" in device else "0"
        return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def load_sessions(paths: Iterable[PathLike], device: str = "cpu") -> list[onnxruntime.InferenceSession]:
    import onnxruntime as ort

    sessions = []
    for path in paths:
        p = require_file(path, "FSA-Net model")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sessions.append(ort.InferenceSession(str(p), sess_options=opts, providers=_providers(device)))
    return sessions


def fsanet_crop(image: Image, box: Sequence[float] | Matrix) -> Image:
    """`box`: the tight (68-landmark) face box."""
    h, w = image.shape[:2]
    return crops.crop_pixels(image, crops.margin_box(box, MARGIN, w, h), (INPUT_SIZE, INPUT_SIZE))


class FSANetProposer(RotationProposer):
    def __init__(self, config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu"):
        if device != "cpu" and not (device.startswith("cuda") and "CUDAExecutionProvider" in _available()):
            device = "cpu"  # no CUDA build of onnxruntime here: run on the CPU and say so
        super().__init__(config, weight_files, device)
        self.sessions = load_sessions(weight_files.paths, device)

    def predict_euler(self, patches: NDArray[np.uint8]) -> Matrix:
        """(N, 64, 64, 3) uint8 BGR crops -> (N, 3) [yaw, pitch, roll] degrees."""
        x = crops.normalise(patches, self.config.mean, self.config.std)
        out = np.zeros((len(x), 3))
        for s in self.sessions:
            name = s.get_inputs()[0].name
            # the exports have a fixed batch of 1
            out += np.concatenate([s.run(None, {name: x[k : k + 1]})[0] for k in range(len(x))])
        return out / len(self.sessions)

    def rotations(self, images: Sequence[Image], index: Sequence[tuple[int, DetectedFace]]) -> Matrix:
        patches = np.stack([fsanet_crop(images[i], crops.tight_face_box(f)) for i, f in index])
        return geometry.euler_to_matrix(self.predict_euler(patches))


@register_proposer(CONFIG.name, config=CONFIG)
def build(config: ProposerConfig, weight_files: WeightFiles, device: str = "cpu") -> Proposer:
    return FSANetProposer(config, weight_files, device)
