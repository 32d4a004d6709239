"""The labeling queue: handing out faces (claims, honeypots mixed in) and saving
a label. Selectors read; the functions marked "service" write, each in one
transaction. Who may label what: the gates in labeling/selectors.py
(face_for_labeling, dataset_for_labeling, on access.may_label); the pose an
annotator starts from and the editor's payload: labeling/editor.py.

A face is handed to an annotator through a FaceClaim that expires after
CLAIM_TTL. A face is available to a user while fewer other annotators hold a
live claim on it or have finished it than it wants: `dataset.overlap` (fixed),
or 1 to 3 as workers/core/overlap.labels_wanted decides (adaptive); with
overlap 1 two annotators never get the same face at once. Each annotator sees
the faces in their own stable shuffle, the ones where a label adds most first
(_ordered), with honeypots on slots drawn at the dataset's rate (_honeypot_due).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from annotator.common import access
from annotator.common.poses import PoseError
from annotator.common.rows import values_json
from annotator.datasets.models import Dataset, Face, OverlapMode
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, FaceClaim, ReviewState
from annotator.labeling.services import save_annotation
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import preferred_confidence, preferred_proposal_value
from annotator.quality.models import FaceConsensus, Honeypot
from annotator.review.selectors import review_queue
from workers.core import geometry, overlap

CLAIM_TTL = timedelta(minutes=getattr(settings, "HEADPOSE_CLAIM_MINUTES", 30))
# A face counts as done for its annotator once it has one of these statuses (a draft does not).
FINISHED = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED, AnnotationStatus.SKIPPED, AnnotationStatus.FLAGGED]
# The labels that carry a pose worth comparing (a consensus's members).
LABELED = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]


# --- queue (selectors) --------------------------------------------------------


def _finished_by(user):
    # a label a reviewer rejected is not finished: it is back in its annotator's queue
    return Annotation.objects.filter(
        face=OuterRef("pk"), author=user, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    ).exclude(review_state=ReviewState.REJECTED)


def _queued_faces(dataset: Dataset):
    """The faces of `dataset` the image queue hands out: frames of a video
    sequence only when the dataset asks for it (`queue_sequence_frames`);
    otherwise they are labeled through their sequence's timeline."""
    faces = Face.objects.filter(image__dataset=dataset)
    return faces if dataset.queue_sequence_frames else faces.filter(image__sequence__isnull=True)


def labeling_progress(user, dataset: Dataset) -> dict:
    """{'done', 'remaining', 'total'}: `done`, the faces of the queue this user
    finished; `remaining`, the faces next_face would still hand them (open to
    them under the overlap, every honeypot they have not answered, their
    rejected labels), never one they will not be given; `total` = done + remaining.
    A few counting queries, no loop over the faces."""
    done = _queued_faces(dataset).filter(Exists(_finished_by(user))).count()
    open_faces = _available_faces(user, dataset, timezone.now()).faces  # never a honeypot
    # the three sets counted apart (cheaper than one count of their union): a
    # rejected label's face counts once, wherever else it is
    rejected_elsewhere = (
        _rejected_of(user, dataset)
        .exclude(pk__in=open_faces.values("pk"))
        .exclude(Exists(Honeypot.objects.filter(face=OuterRef("pk"))))
    )
    remaining = open_faces.count() + _honeypots_open_to(user, dataset).count() + rejected_elsewhere.count()
    return {"done": done, "remaining": remaining, "total": done + remaining}


def next_steps(user, dataset: Dataset) -> dict:
    """What an annotator whose queue in `dataset` is empty can do next: the other
    datasets they may label with faces left for them (`label`: [(dataset,
    remaining)]), the datasets they review with labels awaiting them (`review`:
    [(dataset, count)], this one included), and whether the leaderboard is theirs
    to use. Each dataset asks its gate; a few counting queries per dataset."""
    label = []
    for other in Dataset.objects.filter(pk__in=access.annotator_dataset_ids(user)).exclude(pk=dataset.pk):
        remaining = labeling_progress(user, other)["remaining"]
        if remaining:
            label.append((other, remaining))
    review = []
    for reviewed in Dataset.objects.filter(pk__in=access.reviewer_dataset_ids(user)):
        count = review_queue(reviewed, user).count()
        if count:
            review.append((reviewed, count))
    return {"label": label, "review": review, "leaderboard": access.may_use_leaderboards(user)}


def _honeypots_open_to(user, dataset: Dataset):
    """Honeypot faces of `dataset` that `user` has not finished (overlap does not
    apply: every annotator answers each honeypot once; next_face hands them all
    out, at the dataset's rate while ordinary faces are left)."""
    return _queued_faces(dataset).filter(honeypot__dataset=dataset).exclude(Exists(_finished_by(user)))


def _rejected_of(user, dataset: Dataset):
    """Faces with a label of `user` that a reviewer rejected: back in their queue,
    whoever else has labeled the face since (overlap does not apply)."""
    return _queued_faces(dataset).filter(
        annotations__author=user,
        annotations__origin=AnnotationOrigin.ANNOTATOR,
        annotations__review_state=ReviewState.REJECTED,
    )


# --- the order: a stable shuffle per annotator, and the active queue ------------------
#
# Ordinary faces and honeypots are ranked by the same keyed hash of (annotator,
# dataset, face), so neither the ids nor the file names an annotator sees come
# in an order that tells the two apart, and a reload gives the same order. The
# hash is x -> (x + s0), x^2 + s1, a x + s2, x^2 + s0, each mod P, in SQL (both
# PostgreSQL and SQLite compute it in 64-bit integers: every product stays under
# 2^62), with the salts from sha256(SECRET_KEY, dataset, annotator): nobody
# without the secret key can predict it.

_P = 2147483629  # the largest prime under 2^31
_NONE = Q(pk__in=[])  # no face


def _salt(*parts) -> bytes:
    text = "|".join(str(p) for p in (settings.SECRET_KEY, "headpose-queue", *parts))
    return hashlib.sha256(text.encode()).digest()


def _shuffle_rank(user, dataset: Dataset):
    """A SQL expression: the face's place in `user`'s shuffled order of `dataset`."""
    salt = _salt(dataset.pk, user.pk)
    rounds = [int.from_bytes(salt[4 * i : 4 * i + 4], "big") % _P for i in range(4)]
    x = (Cast(F("pk"), BigIntegerField()) + Value(rounds[0])) % Value(_P)  # 64-bit whatever the id column
    x = ((x * x) % Value(_P) + Value(rounds[1])) % Value(_P)
    x = (x * Value(rounds[2] | 1) + Value(rounds[3])) % Value(_P)  # linear: does not double the SQL
    x = ((x * x) % Value(_P) + Value(rounds[0])) % Value(_P)
    return ExpressionWrapper(x, output_field=BigIntegerField())


def _low_confidence_q() -> Q:
    """Faces whose preferred proposal is low-confidence or missing (the page's
    "low confidence" badge, HEADPOSE_LOW_CONFIDENCE); needs `confidence` annotated."""
    return Q(confidence__isnull=True) | Q(confidence__lt=settings.HEADPOSE_LOW_CONFIDENCE)


def _ordered(faces, user, dataset: Dataset, *, disputed: Q = _NONE, started: Q = _NONE):
    """`faces` in the active queue's order: where one more person adds most
    first. Tier 0: a consensus in dispute (labels that disagree, or the
    consensus needs review); 1: a face other annotators have started and that
    wants more labels (its consensus is forming); 2: a low-confidence proposal;
    3: the rest. Within a tier, the annotator's shuffle."""
    tier = Case(
        When(
            disputed | Exists(FaceConsensus.objects.filter(face=OuterRef("pk"), needs_review=True)),
            then=Value(0),
        ),
        When(started, then=Value(1)),
        When(_low_confidence_q(), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        faces.annotate(confidence=preferred_confidence(), rank=_shuffle_rank(user, dataset))
        .annotate(tier=tier)
        .order_by("tier", "rank", "pk")
    )


def _honeypot_due(user, dataset: Dataset, ahead: int = 0) -> bool:
    """Whether `user`'s next face in `dataset` is a honeypot: their slot (the
    number of faces they have finished there, plus `ahead`: faces the labeling
    page holds that they will finish first) drawn by
    workers/core/overlap.honeypot_slot at `dataset.honeypot_share`, keyed by a
    secret salt: exactly that rate from the first labels on, the same answer on
    a reload."""
    share = dataset.honeypot_share
    if share <= 0:
        return False
    slot = (
        ahead
        + Annotation.objects.filter(
            dataset=dataset, author=user, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
        ).count()
    )
    salt = _salt(dataset.pk, user.pk, "honeypot")
    return overlap.honeypot_slot(lambda block: salt + str(block).encode(), slot, share)


# --- adaptive overlap -------------------------------------------------------------------


def _label_angles(dataset: Dataset, face_ids) -> tuple[dict[int, float], dict[int, float]]:
    """Geodesic angles (degrees) that adaptive overlap reads: between the first
    two finished annotator labels of each face in `face_ids` that has two or
    more, and between the only one and the face's preferred proposal for a face
    that has exactly one."""
    rows = values_json(
        Annotation.objects.filter(face_id__in=list(face_ids), origin=AnnotationOrigin.ANNOTATOR, status__in=LABELED)
        .exclude(review_state=ReviewState.REJECTED)
        .order_by("face_id", "created_at", "pk"),
        ["face_id"],
        ["R"],
    )
    firsts: dict[int, list] = {}
    for row in rows:
        if row["R"] is not None:
            firsts.setdefault(row["face_id"], []).append(row["R"])
    singles = [fid for fid, Rs in firsts.items() if len(Rs) == 1]
    proposals = {
        row["pk"]: row["proposal_R"]
        for row in values_json(
            Face.objects.filter(pk__in=singles).annotate(proposal_R=preferred_proposal_value("R")),
            ["pk"],
            ["proposal_R"],
        )
        if row["proposal_R"] is not None
    }
    pairs = {fid: Rs[:2] for fid, Rs in firsts.items() if len(Rs) >= 2}
    pairs_to_proposal = {fid: [firsts[fid][0], R] for fid, R in proposals.items()}
    return _angles(pairs), _angles(pairs_to_proposal)


def _angles(pairs: dict[int, list]) -> dict[int, float]:
    if not pairs:
        return {}
    a = np.asarray([Rs[0] for Rs in pairs.values()], dtype=np.float64).reshape(-1, 3, 3)
    b = np.asarray([Rs[1] for Rs in pairs.values()], dtype=np.float64).reshape(-1, 3, 3)
    return {fid: float(d) for fid, d in zip(pairs, np.atleast_1d(geometry.geodesic_distance(a, b)))}


def labels_wanted(dataset: Dataset, face_ids) -> dict[int, int]:
    """Adaptive overlap: how many labels each face in `face_ids` should end
    with now (workers/core/overlap.labels_wanted), from its preferred
    proposal's confidence, the dataset's sample, its first label against the
    proposal and its first two labels."""
    face_ids = list(face_ids)
    low = set(
        Face.objects.filter(pk__in=face_ids)
        .annotate(confidence=preferred_confidence())
        .filter(_low_confidence_q())
        .values_list("pk", flat=True)
    )
    first_two, to_proposal = _label_angles(dataset, face_ids)
    salt = _salt(dataset.pk, "second-label")
    return {
        fid: overlap.labels_wanted(
            low_confidence=fid in low,
            sampled=overlap.sampled(salt + str(fid).encode(), dataset.adaptive_sample_share),
            first_two_deg=first_two.get(fid),
            noise_floor_deg=dataset.adaptive_noise_floor_deg,
            first_to_proposal_deg=to_proposal.get(fid),
        )
        for fid in face_ids
    }


@dataclass
class _Queue:
    """The faces open to an annotator, and which of them the active queue puts first."""

    faces: QuerySet[Face]
    disputed: Q = _NONE  # adaptive: first two labels disagree, a third wanted
    started: Q = _NONE  # others have started it and it wants more labels


def _others_busy(user, now):
    """A SQL expression: how many other people are busy with the face, holding a
    live claim on it or done with it (each counted once)."""
    done_by = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED).exclude(author=user)
    done = done_by.filter(face=OuterRef("pk")).order_by().values("face").annotate(n=Count("author", distinct=True))
    claims = (
        FaceClaim.objects.filter(face=OuterRef("pk"), expires_at__gt=now)
        .exclude(annotator=user)
        .exclude(Exists(done_by.filter(face=OuterRef("face"), author=OuterRef("annotator"))))
        .order_by()
        .values("face")
        .annotate(n=Count("pk"))
    )
    return Coalesce(Subquery(done.values("n"), output_field=IntegerField()), Value(0)) + Coalesce(
        Subquery(claims.values("n"), output_field=IntegerField()), Value(0)
    )


def _available_faces(user, dataset: Dataset, now) -> _Queue:
    """Faces of `dataset` (frames only if it queues them: _queued_faces) that
    `user` has not finished and that fewer other annotators are working on or
    have finished than the face wants: `overlap` with a fixed overlap (counted
    in SQL), `labels_wanted` with an adaptive one. Honeypots are handed out by
    next_face on their own schedule, never from here."""
    faces = (
        _queued_faces(dataset)
        .exclude(Exists(_finished_by(user)))
        .exclude(Exists(Honeypot.objects.filter(face=OuterRef("pk"))))
    )
    others_claims = FaceClaim.objects.filter(face=OuterRef("pk"), expires_at__gt=now).exclude(annotator=user)
    others_done = Annotation.objects.filter(
        face=OuterRef("pk"), origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    ).exclude(author=user)
    adaptive = dataset.overlap_mode == OverlapMode.ADAPTIVE
    if not adaptive and dataset.overlap <= 1:
        return _Queue(faces.exclude(Exists(others_claims)).exclude(Exists(others_done)))
    if not adaptive:
        busy_faces = faces.annotate(others_busy=_others_busy(user, now)).filter(others_busy__lt=dataset.overlap)
        return _Queue(busy_faces, started=Q(others_busy__gt=0))
    # Adaptive: count distinct other people busy with each face, and ask each busy face how many it wants.
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
    wanted = labels_wanted(dataset, busy)
    full = {fid for fid, users in busy.items() if len(users) >= wanted[fid]}
    open_started = set(busy) - full
    disputed = {fid for fid in open_started if wanted[fid] >= overlap.ADAPTIVE_MAX}
    return _Queue(
        faces.exclude(pk__in=full), disputed=Q(pk__in=list(disputed)), started=Q(pk__in=list(open_started - disputed))
    )


# --- queue (services) -----------------------------------------------------------


def next_face(user, dataset: Dataset, *, skip_face_id: int | None = None, exclude=()) -> Face | None:
    """Service: the face `user` should label next in `dataset`, claimed for
    CLAIM_TTL; None when nothing is left. A label of theirs a reviewer rejected
    comes first (oldest verdict first), then a live claim the user already holds
    (an unfinished face), so a reload does not lose one's place. Otherwise the
    user's slot decides between a honeypot and an ordinary face (_honeypot_due;
    a honeypot too once no ordinary face is left), each taken first in the
    active queue's order (_ordered). `skip_face_id` is left out (the face the
    user just moved away from).

    `exclude`: the faces the labeling page already holds (the one shown and
    those fetched ahead, static/js/editor/face_queue.js) are left out, and the
    ones the user has not finished count as slots before this one: a face
    fetched ahead gets the honeypot draw it would get once those are done."""
    now = timezone.now()
    held_ahead = {int(pk) for pk in exclude}
    left_out = held_ahead | ({skip_face_id} if skip_face_id is not None else set())
    with transaction.atomic():
        # Serialise hand-outs per dataset: two annotators asking at once must not
        # both see the same face as free.
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        FaceClaim.objects.filter(face__image__dataset=dataset, expires_at__lte=now).delete()
        queue = _available_faces(user, dataset, now)
        available = queue.faces
        honeypots = _honeypots_open_to(user, dataset)
        if left_out:
            available = available.exclude(pk__in=left_out)
            honeypots = honeypots.exclude(pk__in=left_out)
        # the user's own rejected labels, whoever else has labeled the face since (overlap does not apply)
        rejected = _rejected_of(user, dataset).exclude(pk__in=left_out).order_by("annotations__reviewed_at", "pk")
        held = Q(claims__annotator=user, claims__expires_at__gt=now)
        face = (
            rejected.first()
            or available.filter(held).order_by("pk").first()
            or honeypots.filter(held).order_by("pk").first()
        )
        if face is None:
            regular = _ordered(available, user, dataset, disputed=queue.disputed, started=queue.started).first()
            # the honeypot nearest the ordinary face this slot would have had: the
            # same "low confidence" badge, so the badges' order gives nothing away;
            # looked up whatever the slot says, so a honeypot's hand-out costs the
            # same queries (and time) as an ordinary face's
            same_badge = _low_confidence_q()
            if regular is not None and not _is_low_confidence(regular):
                same_badge = ~same_badge
            honeypot = (
                _ordered(honeypots, user, dataset)
                .annotate(badge=Case(When(same_badge, then=Value(0)), default=Value(1), output_field=IntegerField()))
                .order_by("badge", "rank", "pk")
                .first()
            )
            due = _honeypot_due(user, dataset, ahead=_unfinished_count(user, dataset, held_ahead))
            face = honeypot if (regular is None or due) else None
            face = face or regular
        if face is None:
            return None
        FaceClaim.objects.update_or_create(face=face, annotator=user, defaults={"expires_at": now + CLAIM_TTL})
    return face


def _unfinished_count(user, dataset: Dataset, face_ids) -> int:
    """How many of `face_ids` (faces of `dataset`) `user` has not finished."""
    if not face_ids:
        return 0
    faces = Face.objects.filter(pk__in=list(face_ids), image__dataset=dataset)
    return faces.exclude(Exists(_finished_by(user))).count()


def release_claims(annotator, dataset: Dataset, face_ids) -> int:
    """Service: give back `annotator`'s claims on `face_ids` of `dataset` (faces
    the labeling page fetched ahead and will not show: it was closed, or the
    claim was near its end); another annotator may be handed them at once.
    Returns how many were released."""
    claims = FaceClaim.objects.filter(annotator=annotator, face_id__in=list(face_ids), face__image__dataset=dataset)
    return claims.delete()[0]


def _is_low_confidence(face) -> bool:
    confidence = getattr(face, "confidence", None)
    return confidence is None or confidence < settings.HEADPOSE_LOW_CONFIDENCE


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
