"""`aflw2000_mat` export: a zip of AFLW2000-3D style .mat files, one per face,
written by formats.aflw2000.write_mat (see its docstring for the camera model).

Member names: '<image path without extension>.mat' for face 0 and
'<...>_face<k>.mat' for face k > 0, so 'image00002.jpg' gets 'image00002.mat',
which the project's AFLW importer pairs with the image. A face with several
labels (labels='annotations') gets '_label2', '_label3' ... on the later ones.

Per face:
- K: the row's K, else aflw2000.model_intrinsics(width, height). Pose_Para
  angles never depend on K; reading the file back returns the exported t only
  when K is the model K (the reader assumes it).
- landmarks (pt3d_68): the row's own 3D landmarks when they are iBUG-68 and
  were stored with exactly this pose (dataset ground truth); otherwise the
  reference face's 68 points placed at the exported pose, R @ p + t.
- t: the row's t; without one, the centroid of the row's own landmarks when
  those are used, else geometry.translation_from_box (box, else whole image).
A README.txt member records the convention and how many faces needed each
fallback. A face the .mat cannot hold (a guessed t so close that landmarks fall
behind the camera; every pose the pose rules allow fits) is set aside and
reported per face (label_rows.writing_face), never the end of the export.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from workers.core.formats import aflw2000
from workers.core.formats.records import FormatError
from workers.core.label_rows import ExportError, InvalidRow, LabelRow, face_name, pose_batches, writing_face
from workers.core.proposers.parts.reference_face import load_reference_face

from .common import MemberNames, camera_matrix, estimated_translation, landmarks, member_stem, readme, require_size
from .zipstream import StreamingZip, write_skipped


def mat_name(image: str, face_index: int) -> str:
    """Member name without the '.mat' suffix."""
    stem = member_stem(image)
    return stem if face_index == 0 else f"{stem}_face{face_index}"


def own_landmarks(row: LabelRow) -> NDArray[np.float64] | None:
    """The row's 3D landmarks when they can go into pt3d_68 unchanged."""
    L = landmarks(row, "landmarks_3d", 3)
    if L is None or row.landmark_scheme != "ibug68" or L.shape != (68, 3) or not row.landmarks_match_pose:
        return None
    return L


def write(
    rows: Iterable[LabelRow],
    out: BinaryIO,
    meta: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
    invalid: list[InvalidRow] | None = None,
) -> int:
    reference = load_reference_face().points68
    names = MemberNames()
    counts = {"faces": 0, "t_from_box": 0, "t_from_landmarks": 0, "reference_landmarks": 0, "model_K": 0}
    with StreamingZip(out) as zf:
        for b in pose_batches(rows, on_progress=on_progress):
            for i, row in enumerate(b.rows):
                with writing_face(row, invalid, "aflw2000_mat"):  # a face the .mat cannot hold is set aside
                    _write_face(zf, names, counts, reference, row, b.R[i], b.t[i] if b.has_t[i] else None)
        zf.writestr("README.txt", _readme(meta, counts, names.renamed))
        write_skipped(zf, invalid)
    return counts["faces"]


def _write_face(
    zf: zipfile.ZipFile,
    names: MemberNames,
    counts: dict[str, int],
    reference: NDArray[np.float64],
    row: LabelRow,
    R: NDArray[np.float64],
    t: NDArray[np.float64] | None,
) -> None:
    """One face's .mat; raises ExportError before writing anything when the face cannot be written."""
    K = camera_matrix(row)
    model_K = K is None
    if K is None:
        K = aflw2000.model_intrinsics(*require_size(row, "for the AFLW model camera (the row has no K)"))
    L = own_landmarks(row)
    used = {"model_K": model_K, "t_from_landmarks": t is None and L is not None, "t_from_box": False}
    if t is None:
        used["t_from_box"] = L is None
        t = L.mean(0) if L is not None else estimated_translation(row, K)
    used["reference_landmarks"] = L is None
    if L is None:
        L = reference @ R.T + t
    buf = io.BytesIO()
    try:
        aflw2000.write_mat(buf, R, t, L, K)
    except FormatError as exc:
        raise ExportError(f"{face_name(row)}: {exc}") from None
    zf.writestr(names.claim(mat_name(row.image, row.face_index), ".mat"), buf.getvalue())
    counts["faces"] += 1
    for key, yes in used.items():  # counted once the face is written: a set-aside face counts nowhere
        counts[key] += yes


def _readme(meta: dict[str, Any], c: dict[str, int], renamed: int) -> str:
    return readme(
        "HeadPose Studio labels as AFLW2000-3D .mat files",
        meta,
        [
            f"{c['faces']} .mat files, one per face: '<image path without extension>.mat' for face 0, "
            "'<...>_face<k>.mat' for face k > 0. Keys: Pose_Para (1, 7) = [pitch, yaw, roll, tx, ty, tz, s], "
            "angles in radians (the AFLW2000 convention above); pt3d_68 (3, 68) = landmark x, y in image pixels "
            "and a depth z in pixels growing toward the viewer.",
            "Camera model (workers/core/formats/aflw2000.py): a pinhole camera; s = fx / (1000 t_z). "
            f"{c['model_K']} faces had no K and use the AFLW model K (f = 10 max(w, h), centred). "
            "Reading a file back gives the exported t only when K is that model K; the angles always survive.",
            f"Landmarks: {c['faces'] - c['reference_landmarks']} faces carry their own iBUG-68 3D landmarks "
            f"(stored with exactly this pose); {c['reference_landmarks']} carry the project's 68-point reference "
            "face placed at the exported pose (R p + t), not landmarks measured on the image.",
            f"Translation: {c['t_from_box']} faces had no t; it was estimated from the face box (else the whole "
            "image) assuming a 150 mm wide face (geometry.translation_from_box). "
            f"{c['t_from_landmarks']} faces had no t and use the centroid of their own landmarks.",
            f"{renamed} extra labels of an already written face were saved as '<name>_label<n>.mat' "
            "(AFLW readers will not pair those with an image)."
            if renamed
            else "",
        ],
    )
