"""Writes. Each service is one transaction; views, admin actions, commands and
Celery tasks call these instead of touching models directly."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from annotator.common.poses import PoseError, clean_landmark_pins, clean_pins_for_pose, clean_pose
from annotator.datasets.models import Face
from annotator.labeling import queue_entries
from annotator.labeling.models import (
    Annotation,
    AnnotationOrigin,
    AnnotationRevision,
    AnnotationStatus,
    FaceClaim,
    FlagReason,
)
from annotator.proposals.models import Proposal
from annotator.quality.services import annotation_changed
from workers.core.geometry import pose_moved

ANNOTATOR_STATUSES = {
    AnnotationStatus.ACCEPTED,
    AnnotationStatus.CORRECTED,
    AnnotationStatus.SKIPPED,
    AnnotationStatus.FLAGGED,
    AnnotationStatus.DRAFT,
}

# A finished save (accepted or corrected) within these of the proposal it started from is stored
# `accepted`, whatever button sent it: "Save" on an untouched proposal, or a drag undone by hand,
# did not correct anything. 0.5 degrees is reliability.UNMOVED_DEG (the quality scores' "unmoved
# accept") and about one tap of the finest rotation key; 1 mm is below what an annotator can see
# or set on the page (a depth key step is 5 mm), so only a pose the proposal already had passes.
ACCEPT_TOLERANCE_DEG = 0.5
ACCEPT_TOLERANCE_MM = 1.0
POSE_SAVES = {AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED}


def moved_from(R, t, proposal: Proposal | None) -> tuple[float | None, float | None]:
    """(moved_deg, moved_mm): how far the pose is from `proposal` (None, None without one;
    moved_mm None when either has no t)."""
    if proposal is None:
        return None, None
    return pose_moved(R, t, proposal.R, proposal.t)


def unmoved(moved_deg: float | None, moved_mm: float | None) -> bool:
    """Within the accept tolerance of the proposal (False without one)."""
    return (
        moved_deg is not None
        and moved_deg <= ACCEPT_TOLERANCE_DEG
        and (moved_mm is None or moved_mm <= ACCEPT_TOLERANCE_MM)
    )


@dataclass
class VersionConflict(Exception):
    """Someone saved a newer version; the client must reload before saving."""

    current_version: int
    expected_version: int

    def __str__(self):
        return (
            f"This annotation was saved elsewhere (now version {self.current_version}, "
            f"you edited version {self.expected_version}). Reload to see it."
        )


def _revision_of(annotation: Annotation, author) -> AnnotationRevision:
    return AnnotationRevision.objects.create(
        annotation=annotation,
        author=author,
        version=annotation.version,
        R=annotation.R,
        t=annotation.t,
        status=annotation.status,
        flag_reason=annotation.flag_reason,
        note=annotation.note,
        time_spent_s=annotation.time_spent_s,
        landmark_pins=annotation.landmark_pins,
        moved_deg=annotation.moved_deg,
        moved_mm=annotation.moved_mm,
    )


def save_annotation(
    *,
    face: Face,
    author,
    R,
    t,
    status: str,
    expected_version: int,
    time_spent_s: float = 0.0,
    flag_reason: str = "",
    note: str = "",
    proposal: Proposal | None = None,
    landmark_pins=None,
    release_claim: bool = False,
) -> Annotation:
    """Create or update `author`'s annotation of `face` (optimistic locking).
    `landmark_pins`: the landmarks the annotator pinned on the page (kept with
    this version as evidence; none when absent).

    `expected_version` is the version the client edited (0 for a new one). A
    mismatch raises VersionConflict and nothing is written. Every save appends
    a revision, so no state is ever lost. `release_claim`: also delete the
    author's FaceClaim on the face (the labeling queue's hand-out), in the same
    transaction: one commit per save.

    moved_deg / moved_mm record how far the pose is from the proposal it started
    from (`proposal`, else the one the label already names); an accepted or
    corrected save within ACCEPT_TOLERANCE_DEG / _MM of it is stored `accepted`."""
    if status not in ANNOTATOR_STATUSES:
        raise PoseError(f"status must be one of {sorted(ANNOTATOR_STATUSES)}.")
    if status == AnnotationStatus.FLAGGED and flag_reason not in FlagReason.values:
        raise PoseError(f"a flag needs a reason: one of {FlagReason.values}.")
    if status != AnnotationStatus.FLAGGED:
        flag_reason = ""
    R, t = clean_pose(R, t)
    time_spent_s = max(0.0, float(time_spent_s or 0.0))
    if time_spent_s != time_spent_s or time_spent_s > 86400:
        raise PoseError("time_spent_s must be between 0 and 86400 seconds.")
    landmark_pins = clean_landmark_pins(landmark_pins, face.image.width, face.image.height)
    clean_pins_for_pose(landmark_pins, R, t, face.image)  # a label's pins match its pose (400 naming the RMSE)
    fields = dict(
        R=R,
        t=t,
        status=status,
        flag_reason=flag_reason,
        note=note,
        time_spent_s=time_spent_s,
        landmark_pins=landmark_pins,
    )

    with transaction.atomic():
        queue_entries.lock_entry(face.pk)  # the face's entry before its label (queue_entries.lock_entry)
        try:  # get(), not first(): no ORDER BY to build for a row the unique constraint makes one
            annotation = Annotation.objects.select_for_update(no_key=True).get(
                face=face, author=author, origin=AnnotationOrigin.ANNOTATOR
            )
        except Annotation.DoesNotExist:
            annotation = None
        if annotation is None:
            if expected_version:
                raise VersionConflict(current_version=0, expected_version=expected_version)
            _set_moved(fields, proposal)
            try:
                with transaction.atomic():
                    annotation = Annotation.objects.create(
                        face=face,
                        dataset_id=face.image.dataset_id,
                        author=author,
                        origin=AnnotationOrigin.ANNOTATOR,
                        proposal=proposal,
                        version=1,
                        total_time_s=time_spent_s,
                        **fields,
                    )
            except IntegrityError:
                # A concurrent first save of the same face by the same author won.
                current = Annotation.objects.get(face=face, author=author, origin=AnnotationOrigin.ANNOTATOR)
                raise VersionConflict(current_version=current.version, expected_version=0) from None
        else:
            if annotation.version != expected_version:
                raise VersionConflict(current_version=annotation.version, expected_version=expected_version)
            if proposal is None and annotation.proposal_id is not None:
                proposal = annotation.proposal  # one query, only for a save that does not name its proposal
            _set_moved(fields, proposal)
            for name, value in fields.items():
                setattr(annotation, name, value)
            if proposal is not None:
                annotation.proposal = proposal
            annotation.version += 1
            annotation.total_time_s += time_spent_s
            # a reviewer's verdict was about the previous version
            annotation.review_state, annotation.reviewed_by, annotation.reviewed_at = "", None, None
            annotation.review_note = annotation.review_reason = ""
            annotation.save(
                update_fields=[
                    *fields,
                    "proposal",
                    "version",
                    "total_time_s",
                    "review_state",
                    "reviewed_by",
                    "reviewed_at",
                    "review_note",
                    "review_reason",
                    "updated_at",
                ]
            )
        _revision_of(annotation, author)
        annotation_changed(annotation)
        if release_claim:
            FaceClaim.objects.filter(face=face, annotator=author).delete()
        if annotation.origin == AnnotationOrigin.ANNOTATOR:
            queue_entries.refresh(annotation.dataset_id, [face.pk])  # one more done, one claim fewer
    # the caller's own objects: the response reads them without a query
    annotation.face, annotation.author = face, author
    return annotation


def _set_moved(fields: dict, proposal: Proposal | None) -> None:
    """The save's moved_deg / moved_mm, and `accepted` for a finished save that did not move."""
    fields["moved_deg"], fields["moved_mm"] = moved_from(fields["R"], fields["t"], proposal)
    if fields["status"] in POSE_SAVES and unmoved(fields["moved_deg"], fields["moved_mm"]):
        fields["status"] = AnnotationStatus.ACCEPTED


def set_ground_truth(*, face: Face, R, t) -> Annotation:
    """The dataset's own label of a face (origin=ground_truth). Re-importing the
    same value is a no-op; a changed value becomes a new revision."""
    R, t = clean_pose(R, t)
    with transaction.atomic():
        annotation = (
            Annotation.objects.select_for_update(no_key=True)
            .filter(face=face, origin=AnnotationOrigin.GROUND_TRUTH)
            .first()
        )
        if annotation is None:
            annotation = Annotation.objects.create(
                face=face,
                dataset_id=face.image.dataset_id,
                origin=AnnotationOrigin.GROUND_TRUTH,
                status=AnnotationStatus.GROUND_TRUTH,
                R=R,
                t=t,
                version=1,
            )
        elif annotation.R == R and annotation.t == t:
            return annotation
        else:
            annotation.R, annotation.t = R, t
            annotation.version += 1
            annotation.save()
        _revision_of(annotation, None)
    return annotation


def _locked_at_version(annotation: Annotation, expected_version: int | None) -> Annotation:
    queue_entries.lock_entry(annotation.face_id)  # the face's entry before its label (queue_entries.lock_entry)
    current = Annotation.objects.select_for_update(no_key=True).get(pk=annotation.pk)
    if expected_version is not None and current.version != expected_version:
        raise VersionConflict(current_version=current.version, expected_version=expected_version)
    return current
