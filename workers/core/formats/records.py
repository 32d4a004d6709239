"""The records every dataset reader yields, and the errors they raise.

A reader is a generator of `Sample | SampleError`: one bad file becomes a
`SampleError` and the import goes on with the next one.
Poses follow ../shared/docs/POSE_CONVENTIONS.md: X_cam = R @ X_head + t,
OpenCV camera frame, millimetres, pixel (0, 0) = centre of the top-left pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Bounds on the numbers a dataset's files and an import's options give
# (workers/core/bounded_numbers.py); outside them a file is a per-file error.
MAX_FRAME_INDEX = 2**31 - 1  # Image.frame_index is a 32-bit database integer
MAX_FPS = 1000.0  # frames per second: above any camera a head-pose dataset uses
MAX_EVERY = 10_000  # --every: keep one frame in 10,000 at the sparsest
MAX_IMAGE_SIDE = 65_535  # pixels: JPEG's limit, and WebP's is lower
MAX_PIXEL_COORDINATE = 1e6  # pixels: focal lengths, principal points, landmarks


class FormatError(ValueError):
    """Bad input data; the message is meant for a person."""


@dataclass
class FaceLabel:
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) pixels
    R: NDArray[np.float64] | None = None  # (3, 3) head -> camera
    t: NDArray[np.float64] | None = None  # (3,) mm, camera frame; None when unknown
    landmarks_2d: NDArray[np.float64] | None = None  # (N, 2) pixels
    landmarks_3d: NDArray[np.float64] | None = None  # (N, 3) camera frame, mm
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sample:
    name: str  # relative to the dataset root, '/'-separated
    image_bytes: bytes  # the encoded image (PNG for images stored as arrays)
    width: int
    height: int
    K: NDArray[np.float64]  # (3, 3) intrinsics, pixels
    faces: list[FaceLabel] = field(default_factory=list)
    frame: FrameOf | None = None  # set when the image is a frame of a sequence

    ok = True


@dataclass
class FrameOf:
    """Where a sample sits in a sequence (a video, a folder of frames, a BIWI `NN` folder)."""

    sequence: str  # the sequence's name inside the dataset
    frame_index: int  # the frame's number in the sequence (positions after --every; BIWI: the file's number)
    timestamp_s: float  # seconds from the start of the source
    fps: float  # the sequence's frame rate (of the frames kept)
    input_name: str = ""  # the video file or folder it was read from (Job.input_name's word)


@dataclass
class SampleError:
    name: str
    message: str

    ok = False


Record = Sample | SampleError
