"""The labeling queue: handing out faces (claims, honeypots mixed in) and saving
a label. Selectors read; the functions marked "service" write, each in one
transaction. Who may label what: the gates in labeling/selectors.py
(face_for_labeling, dataset_for_labeling, on access.may_label); the pose an
annotator starts from and the editor's payload: labeling/editor.py.

A face is handed to an annotator through a FaceClaim that expires after
CLAIM_TTL. A face is available to a user while fewer other annotators hold a
live claim on it or have finished it than it wants: `dataset.overlap` (fixed),
or 1 to 3 as workers/core/overlap.labels_wanted decides (adaptive); with
overlap 1 two annotators never get the same face at once. Each annotator walks
the dataset's secret shuffle from their own start, the faces where a label adds
most first (the tiers of queue_entries), with honeypots on slots drawn at the
dataset's rate (_honeypot_due).

Constant time in the dataset's size (issue 27): the faces open to hand out are
an index range of QueueEntry rows (labeling/queue_entries.py keeps them
current); counts come from the dataset's QueueTotals and the asking annotator's
own rows. Nothing here reads the whole dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from annotator.common import access
from annotator.common.poses import PoseError
from annotator.datasets.models import Dataset, Face
from annotator.labeling import queue_entries
from annotator.labeling.models import (
    Annotation,
    AnnotationOrigin,
    FaceClaim,
    QueueEntry,
    ReviewState,
)
from annotator.labeling.queue_entries import FINISHED, LABELED, labels_wanted
from annotator.labeling.services import save_annotation
from annotator.proposals.models import Proposal
from annotator.review import selectors as review_selectors
from annotator.review.selectors import awaiting_count
from workers.core import overlap

__all__ = ["FINISHED", "LABELED", "labels_wanted"]  # re-exported: the queue's vocabulary

CLAIM_TTL = timedelta(minutes=getattr(settings, "HEADPOSE_CLAIM_MINUTES", 30))
# how many stale candidates next_face corrects before it gives up on this request
_MAX_STALE = 50


# --- queue (selectors) --------------------------------------------------------


def _labels_of(user, dataset: Dataset):
    """`user`'s finished annotator labels in `dataset` (a range of the author index)."""
    return Annotation.objects.filter(
        author=user, dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
    )


def _finished(user, face_ref: str):
    """EXISTS: `user` finished the face (a rejected label included: it comes back
    through _rejected_of, never through the walk)."""
    return Exists(
        Annotation.objects.filter(
            face=OuterRef(face_ref), author=user, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED
        )
    )


def _queued(dataset: Dataset, entry: str = "") -> Q:
    """Faces the image queue hands out, on QueueEntry (`entry` names the path to it from
    another model, e.g. "face__queue_entry__"): frames of a video sequence only when the
    dataset asks for it (`queue_sequence_frames`); otherwise they are labeled through
    their sequence's timeline."""
    return Q() if dataset.queue_sequence_frames else Q(**{f"{entry}is_frame": False})


def labeling_progress(user, dataset: Dataset) -> dict:
    """{'done', 'remaining', 'total'}: `done`, the faces of the queue this user
    finished; `remaining`, the faces next_face would still hand them (open to
    them under the overlap, every honeypot they have not answered, their
    rejected labels), never one they will not be given; `total` = done + remaining.
    From the dataset's counters and the user's (queue_entries.counters_of) and
    their live claims: no query reads the dataset or counts their labels."""
    totals = queue_entries.ensure_built(dataset)  # a rebuild takes its own transaction
    mine = queue_entries.counters_of(user, dataset)
    held = _held_closed_by_self(user, dataset)
    remaining = (
        (totals.open_faces - mine.finished_open) + held + (totals.honeypots - mine.honeypots_done) + mine.rejected
    )
    return {"done": mine.done, "remaining": remaining, "total": mine.done + remaining}


def _held_closed_by_self(user, dataset: Dataset) -> int:
    """Faces `user` holds a live claim on, has not finished, that are closed only
    because of that claim (they are still theirs to label): the entry counts the
    claim among the people busy with the face, so the others are one fewer."""
    now = timezone.now()
    held = (
        QueueEntry.objects.filter(
            dataset=dataset,
            tier__isnull=True,
            honeypot=False,
            busy__lte=F("wanted"),
            face__claims__annotator=user,
            face__claims__expires_at__gt=now,
        )
        .filter(_queued(dataset))
        .exclude(_finished(user, "face"))
    )
    return held.count()


def next_steps(user, dataset: Dataset) -> dict:
    """What an annotator whose queue in `dataset` is empty can do next: the other
    datasets they may label with faces left for them (`label`: [(dataset,
    remaining)]), the datasets they review with labels awaiting them (`review`:
    [(dataset, count)], this one included; a count of `review_cap` means that many or
    more), and whether the leaderboard is theirs
    to use. Each dataset asks its gate; a few counting queries per dataset."""
    label = []
    for other in Dataset.objects.filter(pk__in=access.annotator_dataset_ids(user)).exclude(pk=dataset.pk):
        remaining = labeling_progress(user, other)["remaining"]
        if remaining:
            label.append((other, remaining))
    review = []
    for reviewed in Dataset.objects.filter(pk__in=access.reviewer_dataset_ids(user)):
        count = awaiting_count(reviewed, user)
        if count:
            review.append((reviewed, count))
    return {
        "label": label,
        "review": review,
        "review_cap": review_selectors.QUEUE_SIZE_CAP,
        "leaderboard": access.may_use_leaderboards(user),
    }


def _rejected_of(user, dataset: Dataset, left_out):
    """`user`'s labels in `dataset` that a reviewer rejected (oldest verdict first):
    back in their queue, whoever else has labeled the face since (overlap does
    not apply)."""
    return (
        _labels_of(user, dataset)
        .filter(review_state=ReviewState.REJECTED)
        .filter(_queued(dataset, "face__queue_entry__"))
        .exclude(face_id__in=left_out)
        .order_by("reviewed_at", "pk")
    )


def _held_by(user, dataset: Dataset, now, left_out):
    """Faces of `dataset` `user` holds a live claim on and has not finished (an
    unfinished face: a reload does not lose one's place), lowest id first."""
    return (
        QueueEntry.objects.filter(dataset=dataset, face__claims__annotator=user, face__claims__expires_at__gt=now)
        .filter(_queued(dataset))
        .exclude(_finished(user, "face"))
        .exclude(face_id__in=left_out)
        .order_by("face_id")
    )


def _walk_query(user, dataset: Dataset, left_out, **where):
    """The entries matching `where` (a tier, or a honeypot badge) that `user` has
    not finished and the page does not hold, in the dataset's shuffle order."""
    return (
        QueueEntry.objects.filter(dataset=dataset, **where)
        .exclude(_finished(user, "face"))
        .exclude(face_id__in=left_out)
        .order_by("key")
    )


def _walk(user, dataset: Dataset, left_out, **where) -> QueueEntry | None:
    """The first entry of _walk_query in `user`'s order — the dataset's shuffle from
    their start key, wrapping once: one index range each."""
    start = queue_entries.start_key(dataset.pk, user.pk)
    entries = _walk_query(user, dataset, left_out, **where)
    return entries.filter(key__gte=start).first() or entries.filter(key__lt=start).first()


def _open_to(user, entry: QueueEntry, now) -> bool:
    """The live check of a candidate (under the hand-out lock): fewer other people
    busy with the face than it wants."""
    others = (
        Face.objects.filter(pk=entry.face_id)
        .annotate(n=queue_entries.busy_count(now=now, but=user))
        .values_list("n", flat=True)
        .first()
    )
    return others is not None and others < entry.wanted


def _next_ordinary(user, dataset: Dataset, now, left_out, stale: set[int]) -> QueueEntry | None:
    """The ordinary face `user` should get next: the first tier that has one, in
    their order; each candidate checked live (a stale entry is skipped and added to
    `stale`, for the caller to refresh).
    One query says which of the small tiers hold any face: the empty ones are not walked."""
    small = (queue_entries.DISPUTED, queue_entries.STARTED, queue_entries.LOW_CONFIDENCE)
    held = Dataset.objects.filter(pk=dataset.pk).annotate(
        **{f"tier{t}": Exists(QueueEntry.objects.filter(dataset=dataset, tier=t)) for t in small}
    )
    tiers = [t for t, any_face in zip(small, held.values_list(*(f"tier{t}" for t in small)).get()) if any_face]
    for tier in (*tiers, queue_entries.REST):
        while len(stale) < _MAX_STALE:
            entry = _walk(user, dataset, left_out | stale, tier=tier)
            if entry is None:
                break
            if _open_to(user, entry, now):
                return entry
            stale.add(entry.face_id)
    return None


def _next_honeypot(user, dataset: Dataset, left_out, low_confidence: bool) -> QueueEntry | None:
    """The honeypot nearest the ordinary face this slot would have had: the same
    "low confidence" badge first, so the badges' order gives nothing away."""
    same_badge = 0 if low_confidence else 1
    return _walk(user, dataset, left_out, honeypot_badge=same_badge) or _walk(
        user, dataset, left_out, honeypot_badge=1 - same_badge
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
    slot = ahead + queue_entries.counters_of(user, dataset).finished
    salt = queue_entries._salt(dataset.pk, user.pk, "honeypot")
    return overlap.honeypot_slot(lambda block: salt + str(block).encode(), slot, share)


# --- queue (services) -----------------------------------------------------------


def next_face(user, dataset: Dataset, *, skip_face_id: int | None = None, exclude=()) -> Face | None:
    """Service: the face `user` should label next in `dataset`, claimed for
    CLAIM_TTL; None when nothing is left. A label of theirs a reviewer rejected
    comes first (oldest verdict first), then a live claim the user already holds
    (an unfinished face), so a reload does not lose one's place. Otherwise the
    user's slot decides between a honeypot and an ordinary face (_honeypot_due;
    a honeypot too once no ordinary face is left), each the first in the user's
    order (_walk). `skip_face_id` is left out (the face the user just moved away from).

    `exclude`: the faces the labeling page already holds (the one shown and
    those fetched ahead, static/js/editor/face_queue.js) are left out, and the
    ones the user has not finished count as slots before this one: a face
    fetched ahead gets the honeypot draw it would get once those are done."""
    now = timezone.now()
    held_ahead = {int(pk) for pk in exclude}
    left_out = held_ahead | ({skip_face_id} if skip_face_id is not None else set())
    with transaction.atomic():
        # Serialise hand-outs per dataset: two annotators asking at once must not
        # both see the same face as free. FOR NO KEY UPDATE (every row lock here is):
        # the foreign-key checks of other transactions' inserts (FOR KEY SHARE of the
        # dataset row, at their COMMIT) do not wait on it, so a save that holds an
        # annotator's counters can commit while this hand-out waits for them.
        Dataset.objects.select_for_update(no_key=True).filter(pk=dataset.pk).values_list("pk").first()
        totals = queue_entries.ensure_built(dataset)
        # the annotators' counters the refreshes move, moved once at the end (their locks last)
        moves: dict = {}
        queue_entries.refresh(dataset, _drop_expired_claims(dataset, now), moves=moves, built=dataset)  # they reopen
        rejected = _rejected_of(user, dataset, left_out).values_list("face_id", flat=True).first()
        held = _held_by(user, dataset, now, left_out).values_list("face_id", flat=True).first()
        face_id = rejected or held
        if face_id is None:
            stale: set[int] = set()
            regular = _next_ordinary(user, dataset, now, left_out, stale)
            queue_entries.refresh(dataset, stale, moves=moves, built=dataset)  # entries found stale: corrected
            # looked up whatever the slot says, so a honeypot's hand-out costs the same
            # queries (and time) as an ordinary face's (a dataset without any skips it)
            honeypot = None
            if totals.honeypots > 0:
                honeypot = _next_honeypot(user, dataset, left_out, regular is None or regular.low_confidence)
            due = _honeypot_due(user, dataset, ahead=_unfinished_count(user, dataset, held_ahead))
            chosen = honeypot if (regular is None or due) else None
            chosen = chosen or regular
            face_id = chosen.face_id if chosen is not None else None
        if face_id is not None:
            _claim(face_id, user, now)
            queue_entries.refresh(dataset, [face_id], moves=moves, built=dataset)
        queue_entries.move_counters(dataset.pk, moves)
    if face_id is None:
        return None
    face = Face.objects.select_related("image", "image__dataset").get(pk=face_id)
    face.claimed = True  # as selectors.face_for_labeling says it: theirs, claimed just now
    return face


def _expired_claims(dataset: Dataset, now):
    return FaceClaim.objects.filter(face__image__dataset=dataset, expires_at__lte=now)


def _drop_expired_claims(dataset: Dataset, now) -> set[int]:
    """Delete the dataset's expired claims (a range of the expiry index: only the
    claims that expired since the last hand-out); their faces, for the caller to
    refresh (they reopen)."""
    expired = _expired_claims(dataset, now)
    face_ids = set(expired.values_list("face_id", flat=True))
    if face_ids:
        expired.delete()
    return face_ids


def _unfinished_count(user, dataset: Dataset, face_ids) -> int:
    """How many of `face_ids` (faces of `dataset`) `user` has not finished."""
    if not face_ids:
        return 0
    faces = Face.objects.filter(pk__in=list(face_ids), image__dataset=dataset)
    done = _labels_of(user, dataset).filter(face=OuterRef("pk")).exclude(review_state=ReviewState.REJECTED)
    return faces.exclude(Exists(done)).count()


def release_claims(annotator, dataset: Dataset, face_ids) -> int:
    """Service: give back `annotator`'s claims on `face_ids` of `dataset` (faces
    the labeling page fetched ahead and will not show: it was closed, or the
    claim was near its end); another annotator may be handed them at once.
    Returns how many were released."""
    claims = FaceClaim.objects.filter(annotator=annotator, face_id__in=list(face_ids), face__image__dataset=dataset)
    with transaction.atomic():
        released = list(claims.values_list("face_id", flat=True))
        claims.delete()
        queue_entries.refresh(dataset, released)
    return len(released)


def renew_claim(annotator, face: Face) -> None:
    """Service: keep (or take) the user's claim on a face they opened: a live claim is
    one UPDATE; a new one, or one that had expired, is one more person busy with the
    face (its entry refreshed)."""
    now = timezone.now()
    with transaction.atomic():
        mine = FaceClaim.objects.filter(face=face, annotator=annotator, expires_at__gt=now)
        if mine.update(expires_at=now + CLAIM_TTL):
            return
        _claim(face.pk, annotator, now)
        queue_entries.refresh(face.image.dataset_id, [face.pk])


def _claim(face_id: int, annotator, now) -> None:
    """`annotator`'s claim on the face until now + CLAIM_TTL: one upsert
    (update_or_create is six round trips: savepoints, a locking read)."""
    FaceClaim.objects.bulk_create(
        [FaceClaim(face_id=face_id, annotator=annotator, expires_at=now + CLAIM_TTL)],
        update_conflicts=True,
        unique_fields=["face", "annotator"],
        update_fields=["expires_at"],
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
