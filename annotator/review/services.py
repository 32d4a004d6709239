from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from annotator.common import access
from annotator.common.poses import PoseError, clean_pose
from annotator.labeling import queue_entries
from annotator.labeling.models import Annotation, AnnotationStatus, RejectReason, ReviewState
from annotator.labeling.services import _locked_at_version, _revision_of, moved_from
from annotator.quality.services import annotation_changed


class ReviewingDenied(PermissionDenied):
    """The user may not review this (a 403): access.why_not_review's reason."""


def _locked_for_review(annotation: Annotation, reviewer, expected_version: int | None) -> Annotation:
    """The annotation's row, locked, at `expected_version` (VersionConflict), and
    reviewable by `reviewer` as it is now (access.why_not_review: checked again on
    the locked row, so a label turned into a draft meanwhile, or a caller that did
    not ask the gate, cannot get a verdict through)."""
    current = _locked_at_version(annotation, expected_version)
    reason = access.why_not_review(reviewer, current)
    if reason:
        raise ReviewingDenied(reason)
    return current


def _set_verdict(annotation: Annotation, reviewer, state: str, note: str, reason: str = "") -> None:
    annotation.review_state, annotation.reviewed_by = state, reviewer
    annotation.reviewed_at, annotation.review_note, annotation.review_reason = timezone.now(), note, reason


def review_annotation(
    *,
    annotation: Annotation,
    reviewer,
    decision: str,
    note: str = "",
    reason: str = "",
    expected_version: int | None,
) -> Annotation:
    """A reviewer's verdict (approved / rejected) on the annotation's version
    `expected_version`: VersionConflict (409) when the annotation is at another
    one, so a verdict never lands on a version the reviewer has not seen. The
    verdict bumps the version (as a save does, without a revision: the pose did
    not change; the verdict is review_state, reviewed_by, reviewed_at), so a
    second verdict sent for the same version, another reviewer's included, is a
    409, never a silent overrule. `expected_version` must be given; None (judge
    whatever is current) is for scripts and fixtures, never for a request.
    Nobody reviews their own label or a draft (access.why_not_review, on the
    locked row). A rejection says why (`reason`, RejectReason; "other" when not
    given) and sends the face back to the top of its annotator's queue
    (labeling/queue.py)."""
    if decision not in (ReviewState.APPROVED, ReviewState.REJECTED):
        raise PoseError(f"decision must be {ReviewState.APPROVED.value} or {ReviewState.REJECTED.value}.")
    if decision == ReviewState.REJECTED:
        reason = reason or RejectReason.OTHER
        if reason not in RejectReason.values:
            raise PoseError(f"reason must be one of {RejectReason.values}.")
    else:
        reason = ""
    with transaction.atomic():
        current = _locked_for_review(annotation, reviewer, expected_version)
        _set_verdict(current, reviewer, decision, note, reason)
        current.version += 1
        # update_fields: a review is not an edit of the label (updated_at stays)
        current.save(
            update_fields=["version", "review_state", "reviewed_by", "reviewed_at", "review_note", "review_reason"]
        )
        annotation_changed(current)  # a rejected label leaves its face's consensus
        queue_entries.refresh(current.dataset_id, [current.face_id])  # its author's counters: done, rejected
    return current


def correct_annotation(
    *, annotation: Annotation, reviewer, R, t, expected_version: int, time_spent_s: float = 0.0, note: str = ""
) -> Annotation:
    """A reviewer replaces the pose of someone's annotation. The annotation's
    current pose becomes the reviewer's (status corrected, version + 1, review
    state amended): exports and the API read it from then on. The new revision
    is authored by the reviewer, so the annotator's version stays in the history
    (GET /api/v1/annotations/ID/revisions/). `author` stays the annotator: it is
    still their label of the face, and total_time_s stays their time."""
    R, t = clean_pose(R, t)
    time_spent_s = max(0.0, float(time_spent_s or 0.0))
    if time_spent_s != time_spent_s or time_spent_s > 86400:
        raise PoseError("time_spent_s must be between 0 and 86400 seconds.")
    with transaction.atomic():
        current = _locked_for_review(annotation, reviewer, expected_version)
        current.R, current.t = R, t
        current.status, current.flag_reason = AnnotationStatus.CORRECTED, ""
        current.landmark_pins = []  # the annotator's pins were evidence for their pose, not for this one
        current.time_spent_s = time_spent_s
        # how far the reviewer's pose is from the proposal the label started from (status stays corrected)
        current.moved_deg, current.moved_mm = moved_from(R, t, current.proposal)
        current.version += 1
        _set_verdict(current, reviewer, ReviewState.AMENDED, note)
        current.save()
        _revision_of(current, reviewer)
        annotation_changed(current)
        queue_entries.refresh(current.dataset_id, [current.face_id])  # an amended label is no longer rejected
    return current
