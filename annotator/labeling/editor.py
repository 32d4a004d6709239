from __future__ import annotations

import math

import numpy as np
from django.conf import settings
from django.urls import reverse

from annotator.common import access, poses
from annotator.datasets.models import Face
from annotator.datasets.selectors import detected_landmarks
from annotator.labeling.models import Annotation, AnnotationOrigin
from annotator.labeling.queue import labeling_progress
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import face_proposals, preferred_proposal
from workers.core import geometry
from workers.core.pose_rules import within_pose_limits
from workers.core.proposers.reference_face import load_reference_face

# Typical face width (ear to ear, as a detector box sees it) used to place a default pose.
FACE_WIDTH_MM = 150.0


# --- the pose to start from (selectors) ---------------------------------------------


def default_translation(face: Face, R) -> list[float]:
    """Head origin behind the face box centre, at the depth where a
    FACE_WIDTH_MM face is as wide as the box (pinhole, the image's K), pushed
    back along its ray only as far as the pose rules need for rotation R (the
    whole head in front of the camera: a frontal face filling the image under
    the default camera, at 150 mm, stays there; the same box with the back of
    the head to the camera goes back to about 193 mm), and no farther than the
    depth limit: the starting pose can always be saved."""
    try:
        box = [float(v) for v in face.box]
        if len(box) != 4 or not all(math.isfinite(v) for v in box):
            raise ValueError
    except (TypeError, ValueError):
        box = [0.0, 0.0, float(face.image.width), float(face.image.height)]
    t = geometry.translation_from_box(box, face.image.K_matrix, FACE_WIDTH_MM)
    return [float(v) for v in within_pose_limits(np.asarray(R, dtype=np.float64).reshape(3, 3), t, poses.limits())]


def editor_pose(R, t, face: Face) -> dict:
    """{R, t} as a page shows a stored pose: without a t, the guessed one for R (default_translation)."""
    return {
        "R": [float(v) for v in np.asarray(R, dtype=np.float64).reshape(9)],
        "t": [float(v) for v in (t if t is not None else default_translation(face, R))],
    }


def reference_pose(face: Face, proposals=None) -> dict:
    """The pose 'reset' goes back to: the preferred proposal, else a frontal
    default. {'R', 't', 'origin': {...}}. `proposals`: the face's, read already."""
    proposal = preferred_proposal(face, proposals)
    if proposal is not None:
        pose = editor_pose(proposal.R, proposal.t, face)
        pose["origin"] = {
            "kind": "proposal",
            "proposal_id": proposal.pk,
            "proposer": proposal.proposer,
            "version": proposal.proposer_version,
            "score": proposal.score,
            "confidence": proposal.confidence,
            "low_confidence": proposal.confidence is not None
            and proposal.confidence < settings.HEADPOSE_LOW_CONFIDENCE,
            # why: the expected error behind the confidence and the face's regime
            "expected_error_deg": (proposal.provenance or {}).get("expected_error_deg"),
            "regime": (proposal.provenance or {}).get("regime"),
        }
        return pose
    # no proposer gave a sane pose (none stored): a frontal head at the face box
    pose = editor_pose(np.eye(3), None, face)
    pose["origin"] = {
        "kind": "default",
        "proposal_id": None,
        "proposer": "frontal default",
        "version": "",
        "score": 0.0,
        "confidence": None,
        "low_confidence": False,
        "expected_error_deg": None,
        "regime": None,
    }
    return pose


def own_annotation(user, face: Face) -> Annotation | None:
    return Annotation.objects.filter(face=face, author=user, origin=AnnotationOrigin.ANNOTATOR).first()


def initial_pose(user, face: Face) -> dict:
    """This annotator's latest annotation, else reference_pose(face)."""
    return _own_pose(own_annotation(user, face), face) or reference_pose(face)


def _own_pose(annotation: Annotation | None, face: Face) -> dict | None:
    """The pose of the annotator's own label, as the page starts from it (None: no label)."""
    if annotation is None:
        return None
    pose = editor_pose(annotation.R, annotation.t, face)
    pose["origin"] = {"kind": "annotation", "version": annotation.version, "status": annotation.status}
    return pose


def review_of(annotation: Annotation) -> dict:
    """A reviewer's verdict on the annotator's label, as their labeling page shows it."""
    return {
        "review_state": annotation.review_state,
        "review_reason": annotation.review_reason,
        "review_reason_text": annotation.get_review_reason_display() if annotation.review_reason else "",
        "review_note": annotation.review_note,
    }


_UNREAD = object()  # `detected` not read yet: the functions below read it


def visible_landmarks_2d(user, face: Face, detected=_UNREAD):
    """The face's 2D landmarks as `user` may see them on a page: imported ones are the
    dataset's ground truth (AFLW2000), so only for those who may read its labels
    (reviewers, admins); an annotator gets the app's own detections only."""
    if access.may_read_labels(user, face.image.dataset_id) and face.landmarks_2d:
        return face.landmarks_2d
    if detected is _UNREAD:
        detected = detected_landmarks(face)
    return None if detected is None else detected[0]


def face_editor_state(user, face: Face) -> dict:
    """Everything the labeling page needs about one face, JSON-ready."""
    image = face.image
    dataset = image.dataset
    annotation = own_annotation(user, face)
    proposals = face_proposals(face)  # read once: the reference pose, the landmarks, the proposal list
    reference = reference_pose(face, proposals)  # the initial pose too when there is no label yet
    detected = detected_landmarks(face, proposals)  # the landmarks shown and the handles' snap
    landmarks_2d = visible_landmarks_2d(user, face, detected)
    K = poses.image_intrinsics(image)
    return {
        # an annotator gets only landmarks the app detected: imported ones are ground truth (AFLW2000)
        "face": {"id": face.pk, "index": face.index, "box": face.box, "landmarks_2d": landmarks_2d},
        "image": {
            "id": image.pk,
            "file_name": image.file_name,
            "width": image.width,
            "height": image.height,
            "K": [float(v) for v in np.asarray(K).reshape(9)],
        },
        "dataset": {"id": dataset.pk, "name": dataset.name},
        "initial": _own_pose(annotation, face) or reference,
        "reference": reference,
        "annotation": None
        if annotation is None
        else {
            "version": annotation.version,
            "status": annotation.status,
            "flag_reason": annotation.flag_reason,
            "note": annotation.note,
            "total_time_s": annotation.total_time_s,
            "updated_at": annotation.updated_at.isoformat(),
            "landmark_pins": annotation.landmark_pins,
            **review_of(annotation),
        },
        "progress": labeling_progress(user, dataset),
        **landmark_editing_state(face, detected, proposals),
        **face_links(face),
    }


def face_links(face: Face) -> dict:
    """Where the labeling page finds one face (it shows the next ones in place):
    `links` (its page, editor state, save and image URLs) and `sequence` (a
    frame's sequence, frame number and timeline; null for a photo)."""
    image = face.image
    sequence = None
    if image.sequence_id is not None:
        sequence = {
            "id": image.sequence_id,
            "frame_index": image.frame_index,
            "url": reverse("label-sequence", args=[image.sequence_id]),
        }
    return {
        "links": {
            "page": reverse("label-face", args=[face.pk]),
            "state": reverse("api-label-face", args=[face.pk]),
            "save": reverse("api-label-save", args=[face.pk]),
            "image": reverse("label-image", args=[image.pk]),
        },
        "sequence": sequence,
    }


def landmark_editing_state(face: Face, detected=_UNREAD, proposals=None) -> dict:
    """What the page's landmark handles need (static/js/editor/pins.js): the
    reference face's iBUG-68 points (the 3D points the proposers fit, so the
    browser solves with the same ones), the face's landmarks in iBUG-68 order for
    "snap" (only those the app detected itself, whoever looks: imported landmarks
    are the dataset's ground truth, and Snap fitted to them would pull a honeypot
    answer toward the truth; null when the app detected none), and every proposal
    of the face to compare starting poses."""
    reference = load_reference_face()
    own = None
    if detected is _UNREAD:
        detected = detected_landmarks(face)
    if detected is not None:
        points, scheme = np.asarray(detected[0], dtype=np.float64), detected[1]
        if scheme == "ibug68" and points.shape == (68, 2):
            own = points
        elif scheme == "mediapipe468" and points.shape == (468, 2):
            own = points[reference.ibug68_from_mesh468]
    proposals = face_proposals(face) if proposals is None else proposals
    latest: dict[str, Proposal] = {}
    for p in sorted(proposals, key=lambda p: p.proposer):  # stable: newest first within a proposer
        latest.setdefault(p.proposer, p)
    return {
        "reference_face": poses.reference_face_state(),
        "face_landmarks_ibug68": None if own is None else [[float(v) for v in p] for p in own],
        "proposals": [
            {
                **editor_pose(p.R, p.t, face),
                "proposal_id": p.pk,
                "proposer": p.proposer,
                "version": p.proposer_version,
                "score": p.score,
            }
            for p in latest.values()
        ],
    }
