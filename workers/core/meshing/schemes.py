"""Landmark index sets the face mesher needs, for both supported schemes.

All indices are 0-based. "Right"/"left" are the subject's: in an unmirrored photo
the subject's right eye is on the image left.

ibug68 (the iBUG 300-W / AFLW2000-3D 68-point markup):
    jaw 0-16 (from the subject's right ear to the left), right brow 17-21,
    left brow 22-26, nose bridge 27-30, nostrils 31-35, right eye 36-41,
    left eye 42-47, outer lip 48-59, inner lip 60-67.
    Outline: the jaw 0..16, then the brows back from 26 to 17 (there are no
    forehead points, so the mesh stops at the brows).
    Holes: right eye 36-41, left eye 42-47, inner lip 60-67.
    Inner features: 17-67.

mediapipe468 (MediaPipe FaceMesh, without the 10 iris points some versions add):
    Outline: FACEMESH_FACE_OVAL as one closed loop (36 points, starting at the
    forehead top 10 and going toward the subject's left).
    Holes: FACEMESH_RIGHT_EYE and FACEMESH_LEFT_EYE (16 points each, the eyelid
    margins) and the inner lip loop of FACEMESH_LIPS (20 points).
    Inner features: every landmark not on the outline.
    Named: nose_tip is 4, the most protruding vertex (1, often called the tip,
    sits ~7 mm lower and ~2 mm further back on the reference face); eye corners
    are the ends of the eye loops (33, 133, 362, 263).

Why "inner features": on a turned face, AFLW2000-3D's jaw points (and FaceMesh's
oval) are the projections of 3D points, not the visible silhouette, so the far
jaw line crosses the cheek and the nose, eyes and mouth stick out past it. The
face region is therefore the outline polygon united with the convex hull of the
inner features; on a frontal face that only adds the small gap between the brows.
These loops were chained from the edge lists in mediapipe 0.10.21
(mediapipe.python.solutions.face_mesh_connections); a test re-derives them there.
"""

from __future__ import annotations

from dataclasses import dataclass


class MeshingError(ValueError):
    """Bad input to the mesher, with a message a person can act on."""


@dataclass(frozen=True)
class LandmarkScheme:
    name: str
    n_points: int
    outline: tuple[int, ...]  # closed loop, order matters
    holes: dict[str, tuple[int, ...]]  # closed loops, order matters
    inner: tuple[int, ...]  # brows, eyes, nose, mouth: their convex hull is face too
    named: dict[str, int]  # a few landmarks by name (tests, UI)


IBUG68 = LandmarkScheme(
    name="ibug68",
    n_points=68,
    outline=tuple(range(17)) + tuple(range(26, 16, -1)),
    holes={
        "right_eye": tuple(range(36, 42)),
        "left_eye": tuple(range(42, 48)),
        "inner_lip": tuple(range(60, 68)),
    },
    inner=tuple(range(17, 68)),
    named={
        "chin": 8,
        "nose_tip": 30,
        "right_eye_outer": 36,
        "right_eye_inner": 39,
        "left_eye_inner": 42,
        "left_eye_outer": 45,
        "mouth_right": 48,
        "mouth_left": 54,
    },
)

MEDIAPIPE468 = LandmarkScheme(
    name="mediapipe468",
    n_points=468,
    outline=(
        10,
        338,
        297,
        332,
        284,
        251,
        389,
        356,
        454,
        323,
        361,
        288,
        397,
        365,
        379,
        378,
        400,
        377,
        152,
        148,
        176,
        149,
        150,
        136,
        172,
        58,
        132,
        93,
        234,
        127,
        162,
        21,
        54,
        103,
        67,
        109,
    ),
    holes={
        "right_eye": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
        "left_eye": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
        "inner_lip": (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191),
    },
    inner=(),  # filled below: every landmark not on the outline
    named={
        "chin": 152,
        "nose_tip": 4,
        "right_eye_outer": 33,
        "right_eye_inner": 133,
        "left_eye_inner": 362,
        "left_eye_outer": 263,
        "mouth_right": 61,
        "mouth_left": 291,
        "forehead": 10,
    },
)

object.__setattr__(MEDIAPIPE468, "inner", tuple(i for i in range(468) if i not in set(MEDIAPIPE468.outline)))

SCHEMES = {s.name: s for s in (IBUG68, MEDIAPIPE468)}


def get_scheme(name: str) -> LandmarkScheme:
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        raise MeshingError(f"unknown landmark scheme {name!r}; use one of {sorted(SCHEMES)}") from None
