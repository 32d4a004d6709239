"""`biwi_pose` export: a zip of BIWI Kinect Head Pose style pose.txt files,
one per face, plus one rgb.cal per directory.

Member names: BIWI frames 'NN/frame_XXXXX_rgb.png' get 'NN/frame_XXXXX_pose.txt';
any other image 'dir/stem.ext' gets 'dir/stem_pose.txt'. Face k > 0 gets
'..._face<k>_pose.txt'; further labels of one face '_label2', '_label3' ...

The poses are written in the image's (RGB) camera frame, as the project stores
them: pose.txt holds M = R and the centre t (formats.biwi.write_pose_txt), and
rgb.cal holds K with identity extrinsics (R_e = I, t_e = 0), so the project's
BIWI reader, which maps depth-frame poses to the RGB camera through rgb.cal,
returns the exported R and t. The original BIWI depth-frame poses are not
reconstructed. K per directory: the first face's K (else the project's default
camera, fx = fy = width, centred); faces of the same directory with another K
are listed in README.txt. Without t, t comes from geometry.translation_from_box.
A face that cannot be written (no K and no image size) is set aside and reported
per face (label_rows.writing_face), never the end of the export.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from workers.core import geometry
from workers.core.formats import biwi
from workers.core.formats.records import FormatError
from workers.core.label_rows import ExportError, InvalidRow, LabelRow, face_name, pose_batches, writing_face

from .common import MemberNames, camera_matrix, estimated_translation, member_stem, readme, require_size
from .zipstream import StreamingZip, write_skipped

_BIWI_FRAME = re.compile(r"_rgb$", re.IGNORECASE)
LISTED_PER_DIRECTORY = 20  # README lists this many faces with another K per directory, then counts


def pose_stem(image: str, face_index: int) -> str:
    """Member name without the '_pose.txt' suffix."""
    stem = member_stem(image)
    if biwi.frame_key(image) is not None:
        stem = _BIWI_FRAME.sub("", stem)
    return stem if face_index == 0 else f"{stem}_face{face_index}"


def _directory(member: str) -> str:
    parent = str(PurePosixPath(member).parent)
    return "" if parent == "." else parent


def _cal_size(row: LabelRow, K: NDArray[np.float64]) -> tuple[int, int]:
    if row.width > 0 and row.height > 0:
        return int(row.width), int(row.height)
    return int(round(2 * K[0, 2] + 1)), int(round(2 * K[1, 2] + 1))  # centred principal point


def write(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,
) -> int:
    names = MemberNames()
    cal_of: dict[str, tuple[NDArray[np.float64], str]] = {}  # directory -> (K, first image)
    other_K: dict[str, list[str]] = {}  # directory -> faces with a different K
    counts = {"faces": 0, "t_from_box": 0, "default_K": 0}
    with StreamingZip(out) as zf:
        for b in pose_batches(rows, on_progress=on_progress):
            for i, row in enumerate(b.rows):
                with writing_face(row, invalid, "biwi_pose"):  # a face pose.txt cannot hold is set aside
                    K = camera_matrix(row)
                    default_K = K is None
                    if K is None:
                        K = geometry.default_intrinsics(*require_size(row, "for the default camera (the row has no K)"))
                    t = b.t[i] if b.has_t[i] else estimated_translation(row, K)
                    pose = io.BytesIO()
                    try:  # before anything of this face is in the zip
                        biwi.write_pose_txt(pose, b.R[i], t)
                    except FormatError as exc:
                        raise ExportError(f"{face_name(row)}: {exc}") from None
                    member = names.claim(pose_stem(row.image, row.face_index), "_pose.txt")
                    folder = _directory(member)
                    if folder not in cal_of:
                        cal_of[folder] = (K, row.image)
                        cal = io.BytesIO()
                        biwi.write_rgb_cal(cal, K, np.eye(3), np.zeros(3), size=_cal_size(row, K))
                        zf.writestr(f"{folder}/rgb.cal" if folder else "rgb.cal", cal.getvalue())
                    elif not np.array_equal(cal_of[folder][0], K):
                        other_K.setdefault(folder, []).append(face_name(row))
                    zf.writestr(member, pose.getvalue())
                    counts["faces"] += 1
                    counts["default_K"] += int(default_K)
                    counts["t_from_box"] += int(not b.has_t[i])
        zf.writestr("README.txt", _readme(meta, counts, names.renamed, cal_of, other_K))
        write_skipped(zf, invalid)
    return counts["faces"]


def _readme(
    meta: dict[str, Any],
    c: dict[str, int],
    renamed: int,
    cal_of: dict[str, tuple[NDArray[np.float64], str]],
    other_K: dict[str, list[str]],
) -> str:
    paragraphs = [
        f"{c['faces']} pose.txt files, one per face ('NN/frame_XXXXX_pose.txt' for BIWI frames, "
        "'<dir>/<stem>_pose.txt' otherwise, '..._face<k>_pose.txt' for face k > 0): lines 1-3 the "
        "head-to-camera rotation R, line 5 the head origin t in mm.",
        "Frame: every pose is in the camera frame of its image (the RGB camera for BIWI frames), as "
        "HeadPose Studio stores it. Each directory's rgb.cal holds that K with identity extrinsics "
        "(R = I, t = 0), so BIWI readers that map poses through rgb.cal get these R and t back. The original "
        "BIWI depth-camera poses are NOT reconstructed; do not mix these files with the original BIWI "
        "rgb.cal / depth.cal. The head origin is the one of the exported label (for the project's own "
        "labels the centroid of the 68 iBUG landmarks, not BIWI's head centre).",
        f"{len(cal_of)} rgb.cal files, each with the K of the first face of its directory. "
        f"{c['default_K']} faces had no K and use the project's default camera (fx = fy = width, centred).",
        f"Translation: {c['t_from_box']} faces had no t; it was estimated from the face box (else the whole "
        "image) assuming a 150 mm wide face (geometry.translation_from_box).",
    ]
    if renamed:
        paragraphs.append(
            f"{renamed} extra labels of an already written face were saved as "
            "'<name>_label<n>_pose.txt' (BIWI readers will not pair those with an image)."
        )
    for folder, faces in other_K.items():
        listed = ", ".join(faces[:LISTED_PER_DIRECTORY])
        more = f" and {len(faces) - LISTED_PER_DIRECTORY} more" if len(faces) > LISTED_PER_DIRECTORY else ""
        paragraphs.append(
            f"Directory '{folder or '.'}': rgb.cal has the K of {cal_of[folder][1]}; these faces "
            f"have another K, so their poses are right but the directory's K is not theirs: "
            f"{listed}{more}."
        )
    return readme("HeadPose Studio labels as BIWI pose.txt files", meta, paragraphs)
