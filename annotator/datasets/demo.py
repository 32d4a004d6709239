"""A small demo dataset from real photos that pip packages ship (no download)."""

import tempfile
from pathlib import Path

import cv2
import numpy as np


def demo_photos() -> dict[str, np.ndarray]:
    """name -> RGB array: scikit-image's astronaut and cameraman (a near-profile
    face) and matplotlib's Grace Hopper."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.asarray(Image.open(fh).convert("RGB"))
    camera = skimage.data.camera()
    return {
        "astronaut.png": skimage.data.astronaut(),
        "grace_hopper.jpg": hopper,
        "cameraman.png": np.stack([camera] * 3, -1),
    }


def write_demo_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="headpose-demo-"))
    for name, rgb in demo_photos().items():
        cv2.imwrite(str(folder / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder
