"""Dataset readers/writers (no Django). Every reader is
``iter_samples(source) -> Iterator[Sample | SampleError]`` plus ``count(source)``;
a source is a folder, a .zip path, an open zip file, or an `archive.Source`.
"""

from __future__ import annotations

from . import aflw2000, biwi, images
from .archive import Limits, SourceLike, open_source, opened, suffix
from .records import FaceLabel, FormatError, Record, Sample, SampleError

READERS = {"aflw2000": aflw2000, "biwi": biwi, "images": images}


def detect_format(source: SourceLike, limits: Limits | None = None) -> str:
    """'aflw2000' if any .mat, 'biwi' if any *_pose.txt or .npz, else 'images'."""
    if str(source).lower().endswith(".npz"):
        return "biwi"
    with opened(source, limits) as src:
        exts = {suffix(n) for n in src.names()}
        if ".mat" in exts:
            return "aflw2000"
        if ".npz" in exts or any(n.endswith("_pose.txt") for n in src.names()):
            return "biwi"
        return "images"


__all__ = [
    "READERS",
    "FaceLabel",
    "FormatError",
    "Limits",
    "Record",
    "Sample",
    "SampleError",
    "detect_format",
    "open_source",
    "opened",
]
