"""The labeling queue: handing out faces (claims, honeypots mixed in) and saving
a label. Selectors read; the functions marked "service" write, each in one
transaction. Who may label what: the gates in labeling/selectors.py
(face_for_labeling, dataset_for_labeling, on access.may_label); the pose an
annotator starts from and the editor's payload: labeling/editor.py.

A face is handed to an annotator through a FaceClaim that expires after
CLAIM_TTL. A face is available to a user while fewer than `dataset.overlap`
other annotators hold a live claim on it or have finished it, so with overlap 1
two annotators never get the same face at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotator.common.poses import PoseError
from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, FaceClaim, ReviewState
from annotator.labeling.services import save_annotation
from annotator.proposals.models import Proposal
from annotator.quality.models import Honeypot

CLAIM_TTL = timedelta(minutes=getattr(settings, "HEADPOSE_CLAIM_MINUTES", 30))
# A face counts as done for its annotator once it has one of these statuses (a draft does not).
FINISHED = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED, AnnotationStatus.SKIPPED, AnnotationStatus.FLAGGED]


# --- queue (selectors) --------------------------------------------------------


def _finished_by(user):
    # a label a reviewer rejected is not finished: it is back in its annotator's queue
    return Annotation.objects.filter(
        face=OuterRef("pk"), author=user, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    ).exclude(review_state=ReviewState.REJECTED)


def labeling_progress(user, dataset: Dataset) -> dict:
    """{'done', 'remaining', 'total'}: faces of the dataset this user finished."""
    faces = Face.objects.filter(image__dataset=dataset)
    total = faces.count()
    done = faces.filter(Exists(_finished_by(user))).count()
    return {"done": done, "remaining": total - done, "total": total}


def _honeypots_open_to(user, dataset: Dataset):
    """Honeypot faces of `dataset` that `user` has not finished (overlap does not
    apply: every annotator answers each honeypot once)."""
    return Face.objects.filter(honeypot__dataset=dataset).exclude(Exists(_finished_by(user)))


def _available_faces(user, dataset: Dataset, now):
    """Faces of `dataset` that `user` has not finished and that fewer than
    `overlap` other annotators are working on or have finished. Honeypots are
    handed out by next_face on their own schedule, never from here."""
    faces = (
        Face.objects.filter(image__dataset=dataset)
        .exclude(Exists(_finished_by(user)))
        .exclude(Exists(Honeypot.objects.filter(face=OuterRef("pk"))))
    )
    others_claims = FaceClaim.objects.filter(face=OuterRef("pk"), expires_at__gt=now).exclude(annotator=user)
    others_done = Annotation.objects.filter(
        face=OuterRef("pk"), origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    ).exclude(author=user)
    if dataset.overlap <= 1:
        return faces.exclude(Exists(others_claims)).exclude(Exists(others_done))
    # Overlap > 1: count distinct other people busy with each face.
    busy: dict[int, set[int]] = {}  # face -> the other annotators claiming or done with it
    claims = FaceClaim.objects.filter(face__image__dataset=dataset, expires_at__gt=now).exclude(annotator=user)
    for face_id, uid in claims.values_list("face_id", "annotator_id"):
        busy.setdefault(face_id, set()).add(uid)
    for face_id, uid in (
        Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED)
        .exclude(author=user)
        .values_list("face_id", "author_id")
    ):
        busy.setdefault(face_id, set()).add(uid)
    full = [fid for fid, users in busy.items() if len(users) >= dataset.overlap]
    return faces.exclude(pk__in=full)


# --- queue (services) -----------------------------------------------------------


def next_face(user, dataset: Dataset, *, skip_face_id: int | None = None) -> Face | None:
    """Service: the face `user` should label next in `dataset`, claimed for
    CLAIM_TTL; None when nothing is left. A label of theirs a reviewer rejected
    comes first (oldest verdict first), then a live claim the user already holds
    (an unfinished face), so a reload does not lose one's place.
    `skip_face_id` is left out (the face the user just moved away from)."""
    now = timezone.now()
    with transaction.atomic():
        # Serialise hand-outs per dataset: two annotators asking at once must not
        # both see the same face as free.
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        FaceClaim.objects.filter(face__image__dataset=dataset, expires_at__lte=now).delete()
        available = _available_faces(user, dataset, now)
        honeypots = _honeypots_open_to(user, dataset)
        if skip_face_id is not None:
            available = available.exclude(pk=skip_face_id)
            honeypots = honeypots.exclude(pk=skip_face_id)
        # the user's own rejected labels, whoever else has labeled the face since (overlap does not apply)
        rejected = (
            Face.objects.filter(
                image__dataset=dataset,
                annotations__author=user,
                annotations__origin=AnnotationOrigin.ANNOTATOR,
                annotations__review_state=ReviewState.REJECTED,
            )
            .exclude(pk=skip_face_id)
            .order_by("annotations__reviewed_at", "pk")
        )
        order = ("image__file_name", "index")
        face = (
            rejected.first()
            or available.filter(claims__annotator=user, claims__expires_at__gt=now).order_by(*order).first()
            or honeypots.filter(claims__annotator=user, claims__expires_at__gt=now).order_by(*order).first()
        )
        if face is None:
            regular = available.order_by(*order).first()
            if regular is not None and _honeypot_due(user, dataset):
                # a random open honeypot: its place in the queue says nothing about it
                face = honeypots.order_by("?").first()
            face = face or regular
        if face is None:
            return None
        FaceClaim.objects.update_or_create(face=face, annotator=user, defaults={"expires_at": now + CLAIM_TTL})
    return face


def _honeypot_due(user, dataset: Dataset) -> bool:
    """Whether the next face should be a honeypot: with probability
    `dataset.honeypot_share`, kept within about one face of that share of the
    user's finished faces (forced when behind by 1.5, withheld when ahead)."""
    share = dataset.honeypot_share
    if share <= 0 or not Honeypot.objects.filter(dataset=dataset).exists():
        return False
    finished = Annotation.objects.filter(
        dataset=dataset, author=user, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    )
    done = finished.count()
    answered = finished.filter(Exists(Honeypot.objects.filter(face=OuterRef("face")))).count()
    behind = share * (done + 1) - answered
    if behind >= 1.5:
        return True
    if behind <= -0.5:
        return False
    return random.random() < share


def renew_claim(annotator, face: Face) -> None:
    """Service: keep (or take) the user's claim on a face they opened."""
    FaceClaim.objects.update_or_create(
        face=face, annotator=annotator, defaults={"expires_at": timezone.now() + CLAIM_TTL}
    )


@dataclass
class LabelInput:
    R: object
    t: object
    status: str
    expected_version: int
    time_spent_s: float = 0.0
    flag_reason: str = ""
    note: str = ""
    proposal_id: int | None = None
    landmark_pins: list = field(default_factory=list)


def save_label(user, face: Face, data: LabelInput) -> Annotation:
    """Service: save `user`'s label of `face` (services.save_annotation does the
    optimistic locking and the revision) and release the claim once finished.
    Raises PoseError (bad input) or services.VersionConflict."""
    proposal = None
    if data.proposal_id is not None:
        proposal = Proposal.objects.filter(pk=data.proposal_id, face=face).first()
        if proposal is None:
            raise PoseError("proposal_id does not name a proposal of this face.")
    # `claimed` is known when the face came from face_for_labeling: without a
    # claim there is nothing to delete
    return save_annotation(
        face=face,
        author=user,
        R=data.R,
        t=data.t,
        status=data.status,
        expected_version=data.expected_version,
        time_spent_s=data.time_spent_s,
        flag_reason=data.flag_reason,
        note=data.note,
        proposal=proposal,
        landmark_pins=data.landmark_pins,
        release_claim=data.status in FINISHED and getattr(face, "claimed", True),
    )
