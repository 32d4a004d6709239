"""Face detection + 468 FaceMesh landmarks, offline (mediapipe 0.10.21, pip only).

Pipeline per image (RECIPES.md): the full-range BlazeFace detector
(`mp.solutions.face_detection`, model_selection=1) finds every face; FaceMesh
(static_image_mode, refine_landmarks=False) then runs on a square crop of
CROP_SCALE x the box around each face, because its own detector is short-range;
then twice more (refine=True, the default): on a square of REFINE_SCALE x that
first mesh's extent centred on it, and on the mirror image of that square
(`landmarks_mirrored`, vertices put back in this face's order). FaceMesh's
reading moves with its crop; the landmark fit averages the two later readings
and their disagreement feeds the confidence. Where mediapipe finds no face, a
`fallback` detector's boxes are used (FaceBoxes, faceboxes.py, when its weights
are there). Landmarks are mapped back to image pixels.

Coordinates: OpenCV pixels, (0, 0) = centre of the top-left pixel. mediapipe's
normalised coordinates run over the image edges (0 = left edge of the first
pixel), so u = x_norm * width - 0.5. Landmark z is FaceMesh's relative depth
(smaller = nearer the camera, origin near the head centre), in image pixels.

A face whose mesh fails (or whose mesh lands on another face) is kept with
`landmarks=None`: its box is still good for the box-crop networks; the
landmark-fit proposer skips it.

mediapipe graphs are built lazily, once per process and cached, because Celery
forks its workers: once a process has used mediapipe, a child forked from it
aborts inside malloc as soon as it runs a graph of its own (closing the graphs
before the fork does not help). So never call detect_faces in a process that
later forks workers (the Celery master, a Django process before it forks); a
forked child of such a process gets a DetectionError instead of the abort.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol, cast

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from workers.core.proposers.parts.boxes import as_box
from workers.core.proposers.parts.reference_face import load_reference_face

CROP_SCALE = 2.0
REFINE_SCALE = 2.0  # second pass: square of this x the first mesh's extent
MESH_CROP_SIZE = 256  # the crop around a face is resampled to this (px) for FaceMesh
MIN_SIDE = 192  # smaller images are upscaled before detection (detector input is 192)
DETECTOR_FLOOR = 0.2  # mediapipe threshold; callers filter with min_score above it

# The 68 iBUG / dlib points as FaceMesh vertices. Derived by
# tools/build_reference_face.py (--mapping): for each iBUG point, the FaceMesh vertex
# whose position (after a similarity alignment of each face) is nearest on average
# to the AFLW2000-3D ground-truth 3D landmark on the real samples, searched among
# vertices near the point. Order: 0-16 jaw (image-left to image-right on a frontal
# face), 17-21 / 22-26 brows, 27-30 nose bridge, 31-35 nostrils, 36-41 / 42-47
# eyes, 48-59 outer lips, 60-67 inner lips.
IBUG68_FROM_MESH468 = np.array(
    [
        234,
        93,
        132,
        58,
        172,
        150,
        149,
        176,
        152,
        400,
        378,
        365,
        397,
        288,
        361,
        323,
        454,
        70,
        53,
        52,
        65,
        107,
        336,
        295,
        282,
        283,
        276,
        6,
        197,
        5,
        4,
        75,
        97,
        2,
        328,
        305,
        7,
        159,
        158,
        133,
        153,
        144,
        382,
        385,
        387,
        249,
        373,
        380,
        61,
        39,
        37,
        0,
        267,
        269,
        291,
        404,
        314,
        17,
        84,
        180,
        76,
        38,
        13,
        312,
        306,
        317,
        14,
        87,
    ],
    dtype=np.int64,
)

# iBUG index groups (0-based)
IBUG_JAW = np.arange(0, 17)
IBUG_BROWS = np.arange(17, 27)
IBUG_NOSE = np.arange(27, 36)
IBUG_EYES = np.arange(36, 48)
IBUG_MOUTH = np.arange(48, 68)


class BoxDetector(Protocol):
    """A second face detector (faceboxes.FallbackDetector): boxes and scores, best first."""

    def detect(
        self, image_bgr: ArrayLike, min_score: float = 0.5
    ) -> list[tuple[tuple[float, float, float, float], float]]: ...


_Found = tuple[NDArray[np.float64], float, NDArray[np.float64]]
"""A detection: box (x0, y0, x1, y1) px, score, keypoints (6, 2) px."""


class DetectionError(ValueError):
    pass


@dataclass
class DetectedFace:
    """box (x0, y0, x1, y1) and keypoints (6, 2) from the detector, pixels; the
    keypoints follow mediapipe's order (right eye, left eye, nose tip, mouth
    centre, right ear tragion, left ear tragion; 'right' = the person's right).
    landmarks: (468, 3) FaceMesh (x px, y px, relative depth px) or None.
    landmarks_mirrored: the same from the mirrored crop, or None."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: NDArray[np.float64]
    landmarks: NDArray[np.float64] | None = None
    # FaceMesh on the mirror image of the refined crop, vertices back in this
    # face's order: a second, independent reading of the same face (the landmark
    # fit averages the two poses)
    landmarks_mirrored: NDArray[np.float64] | None = None

    @property
    def landmarks68(self) -> NDArray[np.float64] | None:
        """(68, 3) iBUG-order subset of the FaceMesh landmarks, or None."""
        return None if self.landmarks is None else self.landmarks[IBUG68_FROM_MESH468]

    @property
    def landmarks_box(self) -> tuple[float, float, float, float] | None:
        if self.landmarks is None:
            return None
        lo, hi = self.landmarks[:, :2].min(0), self.landmarks[:, :2].max(0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


_lock = threading.Lock()
_graphs: dict[int, tuple[Any, Any]] = {}  # pid -> mediapipe (FaceDetection, FaceMesh): untyped
_first_user_pid: int | None = None


def _get_graphs() -> tuple[Any, Any]:
    global _first_user_pid
    pid = os.getpid()
    graphs = _graphs.get(pid)
    if graphs is None:
        if _first_user_pid is not None and _first_user_pid != pid:
            raise DetectionError(
                f"face detection cannot run in process {pid}: it was forked from process "
                f"{_first_user_pid}, which had already used mediapipe, and mediapipe does not "
                "survive a fork. Run detection only inside worker processes (or start them "
                "with the 'spawn' method)."
            )
        _first_user_pid = pid
        import mediapipe as mp

        detector = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=DETECTOR_FLOOR)
        mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=2, refine_landmarks=False, min_detection_confidence=0.3
        )
        graphs = _graphs[pid] = (detector, mesh)
    return graphs


def _as_bgr(image: ArrayLike) -> NDArray[np.uint8]:
    img = np.asarray(image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.shape[0] < 2 or img.shape[1] < 2:
        raise DetectionError(f"expected a BGR image (H, W, 3), got shape {img.shape}")
    if img.dtype != np.uint8:
        raise DetectionError(f"expected uint8 pixels, got {img.dtype}")
    if img.shape[2] == 4:
        img = img[:, :, :3]
    return np.ascontiguousarray(img)


def _upscale(img: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], float]:
    h, w = img.shape[:2]
    s = max(1.0, MIN_SIDE / min(h, w))
    if s == 1.0:
        return img, 1.0
    # keep huge aspect ratios bounded: a 25x4000 strip is not worth 30 Mpx
    s = max(1.0, min(s, 4000 / max(h, w)))
    up = cv2.resize(img, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_CUBIC)
    return cast("NDArray[np.uint8]", up), s  # cv2 keeps the dtype (its stubs say any number array)


def _detect(rgb: NDArray[np.uint8], detector: Any) -> list[_Found]:
    """Boxes (edge-normalised -> pixel-centre px), scores, keypoints on `rgb`."""
    h, w = rgb.shape[:2]
    res = detector.process(rgb)
    out: list[_Found] = []
    for det in res.detections or []:
        bb = det.location_data.relative_bounding_box
        box = np.array([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h]) - 0.5
        kps = np.array([[k.x * w - 0.5, k.y * h - 0.5] for k in det.location_data.relative_keypoints])
        out.append((box, float(det.score[0]), kps))
    return out


def _mesh_square(
    rgb: NDArray[np.uint8], cx: float, cy: float, side: float, mesh: Any, flip: bool = False
) -> list[NDArray[np.float64]]:
    """FaceMesh on the square of `side` px centred on (cx, cy) (mirrored first if
    flip); every mesh it finds as (468, 3) in `rgb` pixels, in the crop's own
    vertex order (a mirrored crop's vertex i is the person's other side)."""
    if side < 4:
        return []
    s = side / MESH_CROP_SIZE  # source pixels per crop pixel
    left, top = cx + 0.5 - side / 2, cy + 0.5 - side / 2  # crop edges, continuous coords
    # src pixel-centre u -> crop pixel-centre u' = (u + 0.5 - left) / s - 0.5
    M = np.array([[1 / s, 0, (0.5 - left) / s - 0.5], [0, 1 / s, (0.5 - top) / s - 0.5]])
    crop = cv2.warpAffine(
        rgb,
        M,
        (MESH_CROP_SIZE, MESH_CROP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    if flip:
        crop = np.ascontiguousarray(crop[:, ::-1])
    res = mesh.process(crop)
    out: list[NDArray[np.float64]] = []
    for face in res.multi_face_landmarks or []:
        lm = np.array([[p.x, p.y, p.z] for p in face.landmark], dtype=np.float64)
        if flip:
            lm[:, 0] = 1.0 - lm[:, 0]  # edge-normalised x mirrors exactly
        pts = np.empty_like(lm)
        pts[:, 0] = lm[:, 0] * side + left - 0.5
        pts[:, 1] = lm[:, 1] * side + top - 0.5
        pts[:, 2] = lm[:, 2] * side
        out.append(pts)
    return out


def _nearest(meshes: list[NDArray[np.float64]], cx: float, cy: float) -> NDArray[np.float64] | None:
    if not meshes:
        return None
    out: NDArray[np.float64] | None = min(meshes, key=lambda pts: np.hypot(*(pts[:, :2].mean(0) - (cx, cy))))
    return out


def _mesh_on_crop(rgb: NDArray[np.uint8], box: NDArray[np.float64], mesh: Any) -> NDArray[np.float64] | None:
    """FaceMesh on a square crop around box; (468, 3) in `rgb` pixels or None."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    best = _nearest(_mesh_square(rgb, cx, cy, CROP_SCALE * max(box[2] - box[0], box[3] - box[1]), mesh), cx, cy)
    if best is None:
        return None
    # the mesh must describe this face, not a neighbour that the crop also caught
    lo, hi = best[:, :2].min(0), best[:, :2].max(0)
    inter = np.prod(np.clip(np.minimum(hi, box[2:]) - np.maximum(lo, box[:2]), 0, None))
    union = np.prod(hi - lo) + np.prod(box[2:] - box[:2]) - inter
    if union <= 0 or inter / union < 0.25:
        return None
    return best


def _refined_meshes(
    rgb: NDArray[np.uint8], first: NDArray[np.float64], mesh: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Second pass (why: FaceMesh's landmarks move with the crop it is given, by
    degrees of pose on some faces): FaceMesh again on a square of REFINE_SCALE x
    the first mesh's extent centred on it, and on the mirror image of that crop,
    whose vertices are put back in this face's order (mesh_mirror). Returns
    (refined landmarks, mirrored-pass landmarks or None); the refined pass falls
    back to the first one when FaceMesh finds nothing."""
    lo, hi = first[:, :2].min(0), first[:, :2].max(0)
    cx, cy = (lo + hi) / 2
    side = REFINE_SCALE * float((hi - lo).max())
    again = _nearest(_mesh_square(rgb, cx, cy, side, mesh), cx, cy)
    mirrored = _nearest(_mesh_square(rgb, cx, cy, side, mesh, flip=True), cx, cy)
    if mirrored is not None:
        mirrored = mirrored[mesh_mirror()]
    return (first if again is None else again), mirrored


def mesh_mirror() -> NDArray[np.int64]:
    """(468,) FaceMesh vertex -> its left-right mirror vertex (from the bundled
    reference face, where it was matched on the symmetrised mean mesh)."""
    return load_reference_face().mesh_mirror


def _fallback_found(img: NDArray[np.uint8], s: float, fallback: BoxDetector, min_score: float) -> list[_Found]:
    """The fallback detector's boxes on the original image as _detect's triples in
    the upscaled image's coords, keypoints unknown (NaN). No FaceMesh
    confirmation: FaceBoxes, the one fallback, scores no face-free test image
    near min_score's default (nothing on a dark head-shaped blob, under 0.3 on
    a coffee cup and a cat: tests/core/proposers/test_faceboxes.py), and a face
    FaceMesh cannot read still has a box the box-crop networks can use."""
    return [
        ((np.asarray(box, np.float64) + 0.5) * s - 0.5, float(score), np.full((6, 2), np.nan))
        for box, score in fallback.detect(img, min_score=min_score)
    ]


def detect_faces(
    image_bgr: ArrayLike,
    min_score: float = 0.5,
    with_landmarks: bool = True,
    refine: bool = True,
    fallback: BoxDetector | None = None,
) -> list[DetectedFace]:
    """Every face in a BGR image, best score first; [] when there is none.
    refine: the second FaceMesh pass and its mirrored twin (_refined_meshes).
    fallback: a second detector (faceboxes.FaceBoxesDetector) whose boxes are used
    when mediapipe finds no face (it misses some near-profile and rotated faces)."""
    if not 0 <= min_score <= 1:
        raise DetectionError(f"min_score must be in [0, 1], got {min_score}")
    img = _as_bgr(image_bgr)
    up, s = _upscale(img)
    rgb = cast("NDArray[np.uint8]", cv2.cvtColor(up, cv2.COLOR_BGR2RGB))  # cv2 keeps the dtype
    with _lock:
        detector, mesh = _get_graphs()
        found = [d for d in _detect(rgb, detector) if d[1] >= min_score]
        if not found:
            # a face that fills the frame can be too big for the full-range model
            pad = max(rgb.shape[:2]) // 2
            padded = cast(
                "NDArray[np.uint8]", cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            )
            found = [(b - pad, sc, k - pad) for b, sc, k in _detect(padded, detector) if sc >= min_score]
        if not found and fallback is not None:
            found = _fallback_found(img, s, fallback, min_score)
        faces: list[
            tuple[
                NDArray[np.float64], float, NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64] | None
            ]
        ] = []
        for box, score, kps in sorted(found, key=lambda d: -d[1]):
            lm = _mesh_on_crop(rgb, box, mesh) if with_landmarks else None
            mirrored: NDArray[np.float64] | None = None
            if lm is not None and refine:
                lm, mirrored = _refined_meshes(rgb, lm, mesh)
            faces.append((box, score, kps, lm, mirrored))

    def back(p: NDArray[np.float64]) -> NDArray[np.float64]:  # upscaled pixel-centre coords -> original
        out: NDArray[np.float64] = (p + 0.5) / s - 0.5
        return out

    def back3(lm: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
        return None if lm is None else np.column_stack([back(lm[:, :2]), lm[:, 2] / s])

    out: list[DetectedFace] = []
    for box, score, kps, lm, mirrored in faces:
        b = back(box)
        out.append(
            DetectedFace(
                box=as_box(b), score=score, keypoints=back(kps), landmarks=back3(lm), landmarks_mirrored=back3(mirrored)
            )
        )
    return out
