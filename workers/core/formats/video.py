"""Sequences: a video file (OpenCV) or a folder / zip of frames (sorted by name).

Frames are extracted at import, each stored as a JPEG of quality 95 (video) or
as the frame file itself (a folder of frames): the labeling page, proposers and
exports then read a frame like any image, with no codec on the web host and no
seek-and-decode per request (bench/bench_video.py measures both ways).

A video yields one `Sample` per kept frame (every `every`-th, at most
`max_frames`), named `<video stem>/frame_000123.jpg`, with `frame` set: the
sequence's name, the frame's position in it (0, 1, 2 ... after thinning), its
timestamp in the video and the sequence's frame rate (the video's / every).
Per-file errors, as for images: an unreadable video, one with no frame, one that
ends before the frames its header announces (a frame that fails to decode), one
whose header gives a frame rate outside (0, MAX_FPS] (0: none, 25 assumed).
`every` is 1..MAX_EVERY and `max_frames` 1..2^31 (`check_thinning`)."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import bounded_numbers, geometry
from .archive import Limits, SourceLike, is_ignored, opened, suffix
from .images import image_sample, is_image_name
from .records import MAX_EVERY, MAX_FPS, MAX_FRAME_INDEX, FormatError, FrameOf, Record, Sample, SampleError

if TYPE_CHECKING:  # annotations only: cv2 is imported where a video is read
    import cv2

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv"}
JPEG_QUALITY = 95
FRAMES_FPS = 25.0  # a folder of frames says no rate; the common video rate is assumed


def is_video_name(name: str | os.PathLike[str]) -> bool:
    return suffix(str(name)) in VIDEO_SUFFIXES


def check_thinning(every: object, max_frames: object) -> None:
    """--every in 1..MAX_EVERY, --max-frames in 1..MAX_FRAME_INDEX + 1 (frames
    are numbered 0..MAX_FRAME_INDEX), or a FormatError saying which and why."""
    try:
        bounded_numbers.integer(every, "--every", low=1, high=MAX_EVERY)
        if max_frames is not None:
            bounded_numbers.integer(max_frames, "--max-frames", low=1, high=MAX_FRAME_INDEX + 1)
    except bounded_numbers.NumberError as exc:
        raise FormatError(str(exc)) from None


def video_fps(reported: float, name: str) -> float:
    """The frame rate a video's header gives: 0 means none (FRAMES_FPS is
    assumed); otherwise it must be a number in (0, MAX_FPS] (a FormatError)."""
    if reported == 0:
        return FRAMES_FPS
    try:
        return bounded_numbers.real(reported, f"{name}: frame rate (fps)", low=1e-3, high=MAX_FPS)
    except bounded_numbers.NumberError as exc:
        raise FormatError(str(exc)) from None


def _open_video(path: str | os.PathLike[str]) -> cv2.VideoCapture | None:
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        return None
    return cap


def iter_video(
    path: str | os.PathLike[str], name: str, every: int = 1, max_frames: int | None = None
) -> Iterator[Record]:
    import cv2

    check_thinning(every, max_frames)
    cap = _open_video(path)
    if cap is None:
        yield SampleError(name, f"{name}: cannot open the video (not a video, or a codec OpenCV lacks)")
        return
    try:
        try:
            fps = video_fps(cap.get(cv2.CAP_PROP_FPS), name)
        except FormatError as exc:
            yield SampleError(name, str(exc))
            return
        announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        stem = PurePosixPath(name).stem
        read = kept = 0
        while max_frames is None or kept < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            if read % every == 0:
                ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if not ok:
                    yield SampleError(f"{stem}/frame_{kept:06d}.jpg", f"{name}: frame {read} cannot be encoded")
                    return
                h, w = bgr.shape[:2]
                yield Sample(
                    name=f"{stem}/frame_{kept:06d}.jpg",
                    image_bytes=jpeg.tobytes(),
                    width=w,
                    height=h,
                    K=geometry.default_intrinsics(w, h),
                    frame=FrameOf(
                        sequence=stem, frame_index=kept, timestamp_s=read / fps, fps=fps / every, input_name=name
                    ),
                )
                kept += 1
            read += 1
    finally:
        cap.release()
    if kept == 0:
        yield SampleError(name, f"{name}: no frame could be decoded (an empty or corrupt video)")
    elif (max_frames is None or kept < max_frames) and announced and read < announced:
        yield SampleError(
            name,
            f"{name}: frame {read} failed to decode; the video announces {announced} frames "
            f"(truncated or corrupt); the {kept} frames before it were imported",
        )


def iter_frames(
    source: SourceLike,
    limits: Limits | None,
    name: str,
    every: int = 1,
    max_frames: int | None = None,
    fps: float = FRAMES_FPS,
) -> Iterator[Record]:
    """A folder or zip of frames: one sequence per folder holding images (the
    frames at its top level make the sequence `name`), frames sorted by name."""
    check_thinning(every, max_frames)
    with opened(source, limits) as src:
        yield from src.rejected
        groups: dict[str, list[str]] = defaultdict(list)
        for n in src.names():
            if is_image_name(n):
                groups[str(PurePosixPath(n).parent)].append(n)
            else:
                yield SampleError(
                    n,
                    f"{n}: unsupported file type '{suffix(n) or 'none'}' among frames "
                    "(expected .jpg, .jpeg, .png or .webp; import a video file on its own)",
                )
        for folder, names in sorted(groups.items()):
            sequence = name if folder == "." else folder
            kept = sorted(names)[::every][:max_frames]
            for position, n in enumerate(kept):
                try:
                    sample = image_sample(n, src.read(n))
                except FormatError as exc:
                    yield SampleError(n, str(exc))
                    continue
                sample.frame = FrameOf(
                    sequence=sequence,
                    frame_index=position,
                    timestamp_s=position * every / fps,
                    fps=fps / every,
                    input_name=folder,
                )
                yield sample


def iter_samples(
    source: SourceLike, limits: Limits | None = None, every: int = 1, max_frames: int | None = None, name: str = ""
) -> Iterator[Record]:
    """`name`: what the user named (the video's file name, the folder's name)."""
    if isinstance(source, (str, os.PathLike)) and is_video_name(source) and Path(source).is_file():
        yield from iter_video(source, name or Path(source).name, every, max_frames)
    else:
        yield from iter_frames(source, limits, Path(name).stem or Path(str(source)).stem, every, max_frames)


def count(
    source: SourceLike, limits: Limits | None = None, every: int = 1, max_frames: int | None = None, name: str = ""
) -> int:
    if isinstance(source, (str, os.PathLike)) and is_video_name(source) and Path(source).is_file():
        import cv2

        cap = _open_video(source)
        if cap is None:
            return 1
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        cap.release()
        n = math.ceil(n / max(every, 1))
    else:
        with opened(source, limits) as src:
            n = len(src.rejected) + len([x for x in src.names() if not is_ignored(x)])
    return max(1, min(n, max_frames) if max_frames else n)
