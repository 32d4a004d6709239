"""The labeling queue's indexed state (issue 27): one QueueEntry per face and one
QueueTotals per dataset, kept current by the writes that change them, so that
labeling/queue.py hands out the next face from an index range (constant time in
the dataset's size) instead of scanning the dataset.

Who keeps what current (each a service, inside the writer's transaction):
- a face created: `face_created` (a post_save receiver below: every face, however
  created, is in the queue at once);
- a claim taken, released or expired, a label saved: `refresh` of that face
  (labeling/queue.py, labeling/services.py);
- a honeypot marked or unmarked: the receivers below; a consensus row flipping
  `needs_review` and a new preferred proposal: `refresh` (quality/services.py,
  proposals/services.py) — those only reorder the queue;
- the dataset's queue settings changed, or no totals yet: `ensure_built`
  rebuilds the dataset's rows (once, under the hand-out lock);
- each annotator's counters (AnnotatorQueueTotals: the progress bar, the honeypot
  slot): every `refresh` recounts the labels of its faces (Annotation.counted_in says
  which counters a label is in, so a change moves them by the difference); a label
  deleted leaves them (a receiver below);
- every reaper round: `repair_all` adds the entries of faces made without one
  (bulk_create sends no signal) and rebuilds datasets whose counters drifted.

The rows are a candidate list, never the last word: next_face re-checks the
face it picks against the live claims and labels under its lock, so a stale
row can delay a face but never hand it to one annotator too many.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from annotator.common import reaper
from annotator.common.rows import values_json
from annotator.datasets.models import Dataset, Face, OverlapMode
from annotator.labeling.models import (
    Annotation,
    AnnotationOrigin,
    AnnotationStatus,
    AnnotatorQueueTotals,
    FaceClaim,
    QueueEntry,
    QueueTotals,
    ReviewState,
)
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import (
    preference_rank,
    preferred_confidence,
    preferred_proposal_value,
    preferred_proposers,
)
from annotator.quality.models import FaceConsensus, Honeypot
from workers.core import geometry, overlap

# A face counts as done for its annotator once it has one of these statuses (a draft does not).
FINISHED = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED, AnnotationStatus.SKIPPED, AnnotationStatus.FLAGGED]
# The labels that carry a pose worth comparing (a consensus's members).
LABELED = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]

DISPUTED, STARTED, LOW_CONFIDENCE, REST = 0, 1, 2, 3  # the tiers, first served first
BATCH = 2000  # faces per query and per bulk write


# --- the secret shuffle --------------------------------------------------------------


def _text(*parts) -> str:
    return "|".join(str(p) for p in (settings.SECRET_KEY, "headpose-queue", *parts))


def _salt(*parts) -> bytes:
    return hashlib.sha256(_text(*parts).encode()).digest()


def _key_of(text: str) -> int:
    """A 62-bit key of `text` (fits a signed BIGINT)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 2


def _key(*parts) -> int:
    """A 62-bit key nobody without SECRET_KEY can predict."""
    return _key_of(_text(*parts))


def face_keys(dataset_id: int, face_ids: Iterable[int]) -> dict[int, int]:
    """Each face's place in its dataset's secret shuffle (ordinary faces and
    honeypots alike, so neither ids nor file names tell them apart): _key of
    (dataset, "face", id), the secret read once for the lot."""
    prefix = _text(dataset_id, "face", "")
    return {f: _key_of(f"{prefix}{f}") for f in face_ids}


def start_key(dataset_id: int, user_id: int) -> int:
    """Where `user` starts walking the dataset's shuffle: each annotator their own
    stable order (a rotation of the shuffle), the same on every reload."""
    return _key(dataset_id, "start", user_id)


def is_low_confidence(confidence) -> bool:
    """The page's "low confidence" badge (HEADPOSE_LOW_CONFIDENCE): low or missing."""
    return confidence is None or confidence < settings.HEADPOSE_LOW_CONFIDENCE


def queue_settings(dataset: Dataset) -> dict:
    """The dataset settings the entries depend on: a change of any rebuilds them."""
    return {
        "overlap": dataset.overlap,
        "overlap_mode": dataset.overlap_mode,
        "adaptive_sample_share": dataset.adaptive_sample_share,
        "adaptive_noise_floor_deg": dataset.adaptive_noise_floor_deg,
        "queue_sequence_frames": dataset.queue_sequence_frames,
        "low_confidence": settings.HEADPOSE_LOW_CONFIDENCE,
    }


# --- adaptive overlap -------------------------------------------------------------------


def _label_angles(face_ids) -> tuple[dict[int, float], dict[int, float]]:
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


def _wanted(dataset: Dataset, low: dict[int, bool], labeled: Iterable[int]) -> dict[int, int]:
    """How many labels each face of `low` (face -> low confidence) wants now: the
    dataset's overlap, or with adaptive overlap workers/core/overlap.labels_wanted
    from the face's confidence, the dataset's sample, its first label against the
    proposal and its first two labels (read only for the faces in `labeled`)."""
    if dataset.overlap_mode != OverlapMode.ADAPTIVE:
        return dict.fromkeys(low, max(1, dataset.overlap))
    first_two, to_proposal = _label_angles(labeled)
    salt = _salt(dataset.pk, "second-label")
    return {
        fid: overlap.labels_wanted(
            low_confidence=is_low,
            sampled=overlap.sampled(salt + str(fid).encode(), dataset.adaptive_sample_share),
            first_two_deg=first_two.get(fid),
            noise_floor_deg=dataset.adaptive_noise_floor_deg,
            first_to_proposal_deg=to_proposal.get(fid),
        )
        for fid, is_low in low.items()
    }


def labels_wanted(dataset: Dataset, face_ids) -> dict[int, int]:
    """How many labels each face in `face_ids` should end with now (see _wanted)."""
    face_ids = list(face_ids)
    low = {
        pk: is_low_confidence(conf)
        for pk, conf in Face.objects.filter(pk__in=face_ids)
        .annotate(confidence=preferred_confidence())
        .values_list("pk", "confidence")
    }
    return _wanted(dataset, low, face_ids)


# --- one face's state --------------------------------------------------------------------


def _done_by():
    return Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED)


def busy_count(face_ref: str = "pk", *, now, but=None):
    """A SQL expression: how many people are busy with the face (a live claim on
    it, or a finished label of theirs, each person counted once); `but`: leave
    that user out (the one asking)."""
    done = _done_by().filter(face=OuterRef(face_ref))
    claims = FaceClaim.objects.filter(face=OuterRef(face_ref), expires_at__gt=now).exclude(
        Exists(_done_by().filter(face=OuterRef("face"), author=OuterRef("annotator")))
    )
    if but is not None:
        done, claims = done.exclude(author=but), claims.exclude(annotator=but)
    done = done.order_by().values("face").annotate(n=Count("author", distinct=True)).values("n")
    claims = claims.order_by().values("face").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(done, output_field=IntegerField()), Value(0)) + Coalesce(
        Subquery(claims, output_field=IntegerField()), Value(0)
    )


def _tier(dataset: Dataset, *, busy, wanted, low, honeypot, is_frame, needs_review) -> tuple[int | None, int | None]:
    """(tier, honeypot_badge) of a face (QueueEntry's docstring)."""
    if is_frame and not dataset.queue_sequence_frames:
        return None, None
    if honeypot:
        return None, 0 if low else 1
    if busy >= wanted:
        return None, None
    adaptive = dataset.overlap_mode == OverlapMode.ADAPTIVE
    if needs_review or (adaptive and busy > 0 and wanted >= overlap.ADAPTIVE_MAX):
        return DISPUTED, None
    if busy > 0:
        return STARTED, None
    return (LOW_CONFIDENCE if low else REST), None


def _state_query(faces, now):
    return faces.annotate(
        confidence=preferred_confidence(),
        busy=busy_count(now=now),
        is_honeypot=Exists(Honeypot.objects.filter(face=OuterRef("pk"))),
        needs_review=Exists(FaceConsensus.objects.filter(face=OuterRef("pk"), needs_review=True)),
    ).values_list("pk", "image__sequence_id", "confidence", "busy", "is_honeypot", "needs_review")


# Sentinels for the compiled one-face query: values no real face id or clock can take.
_SENTINEL_FACE = -987_654_321
_SENTINEL_NOW = datetime(1971, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


@functools.lru_cache(maxsize=8)
def _one_face_sql(vendor: str, preferred: tuple[str, ...]) -> tuple[str, tuple, tuple[int, ...], tuple[int, ...]]:
    """The state query of one face compiled once per process (building it through the
    ORM cost about 5 ms a call, more than running it): its SQL, its parameters, and
    where the face id and the clock go among them."""
    sql, params = _state_query(Face.objects.filter(pk=_SENTINEL_FACE), _SENTINEL_NOW).query.sql_with_params()
    clock = connection.ops.adapt_datetimefield_value(_SENTINEL_NOW)
    face_at = tuple(i for i, p in enumerate(params) if p == _SENTINEL_FACE)
    now_at = tuple(i for i, p in enumerate(params) if p == clock)
    return sql, tuple(params), face_at, now_at


def _entries(dataset: Dataset, face_ids: list[int], now) -> list[QueueEntry]:
    """The current QueueEntry of each face of `face_ids` (of `dataset`), computed from
    the live claims, labels, proposals, honeypots and consensus rows: one query (a
    few correlated sub-queries per face; `refresh`'s path, a handful of faces)."""
    sql, params, face_at, now_at = _one_face_sql(connection.vendor, tuple(preferred_proposers()))
    if len(face_ids) != 1 or len(face_at) != 1 or not now_at:  # a batch, or a query the sentinels did not mark
        return _make_entries(dataset, list(_state_query(Face.objects.filter(pk__in=face_ids), now)))
    values = list(params)
    for i in face_at:
        values[i] = face_ids[0]
    for i in now_at:
        values[i] = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = [(pk, seq, conf, busy, bool(hp), bool(nr)) for pk, seq, conf, busy, hp, nr in cursor.fetchall()]
    return _make_entries(dataset, rows)


def _entries_in_range(dataset: Dataset, low: int, high: int, now) -> list[QueueEntry]:
    """The same as _entries for the dataset's faces with low <= id <= high, one query per
    source over the range instead of sub-queries per face (`rebuild`'s path: about ten
    times faster on a whole dataset)."""
    in_range = {"face_id__gte": low, "face_id__lte": high}
    faces = Face.objects.filter(image__dataset=dataset, pk__gte=low, pk__lte=high).order_by("pk")
    confidence: dict[int, float | None] = {}
    proposals = Proposal.objects.filter(face__image__dataset=dataset, **in_range)
    for face_id, conf in (
        proposals.annotate(preference=preference_rank())
        .order_by("face_id", "preference", "-created_at", "-pk")
        .values_list("face_id", "confidence")
    ):
        confidence.setdefault(face_id, conf)
    busy: dict[int, set[int]] = {}
    done = _done_by().filter(dataset=dataset, **in_range).values_list("face_id", "author_id")
    claims = FaceClaim.objects.filter(face__image__dataset=dataset, expires_at__gt=now, **in_range)
    for face_id, user_id in [*done, *claims.values_list("face_id", "annotator_id")]:
        busy.setdefault(face_id, set()).add(user_id)
    honeypots = set(Honeypot.objects.filter(dataset=dataset, **in_range).values_list("face_id", flat=True))
    disputed = set(
        FaceConsensus.objects.filter(dataset=dataset, needs_review=True, **in_range).values_list("face_id", flat=True)
    )
    rows = [
        (pk, sequence_id, confidence.get(pk), len(busy.get(pk, ())), pk in honeypots, pk in disputed)
        for pk, sequence_id in faces.values_list("pk", "image__sequence_id")
    ]
    return _make_entries(dataset, rows)


def _make_entries(dataset: Dataset, rows) -> list[QueueEntry]:
    """QueueEntry rows from (face id, sequence id, confidence, busy, honeypot, needs review)."""
    low = {pk: is_low_confidence(conf) for pk, _, conf, *_ in rows}
    wanted = _wanted(dataset, low, [pk for pk, _, _, busy, *_ in rows if busy])
    keys = face_keys(dataset.pk, low)
    entries = []
    for pk, sequence_id, _, busy, is_honeypot, needs_review in rows:
        tier, badge = _tier(
            dataset,
            busy=busy,
            wanted=wanted[pk],
            low=low[pk],
            honeypot=is_honeypot,
            is_frame=sequence_id is not None,
            needs_review=needs_review,
        )
        entries.append(
            QueueEntry(
                face_id=pk,
                dataset_id=dataset.pk,
                key=keys[pk],
                is_frame=sequence_id is not None,
                honeypot=is_honeypot,
                low_confidence=low[pk],
                busy=min(busy, 32767),
                wanted=wanted[pk],
                tier=tier,
                honeypot_badge=badge,
            )
        )
    return entries


_STATE_FIELDS = ["is_frame", "honeypot", "low_confidence", "busy", "wanted", "tier", "honeypot_badge"]


def refresh(
    dataset: Dataset | int, face_ids: Iterable[int], *, moves: dict | None = None, built: Dataset | None = None
) -> None:
    """Service: bring the entries of `face_ids` (faces of `dataset`) up to date, and
    the dataset's counters with them; nothing for a dataset whose queue was never
    built (its first hand-out builds it). Locks the entries (in face order: no
    deadlock between two refreshes) for the writer's transaction; writes only the
    rows that changed; then the counters of the faces' annotators (_recount_labels).
    Four queries when nothing changed (a save whose face stays as busy: its claim
    became its label). The counters' locks are taken last: a transaction that refreshes
    more than once passes `moves` (a dict) to each and then calls move_counters once.
    `built`: the dataset, known to be built with its current settings (the caller ran
    ensure_built under the hand-out lock): the totals are not read again."""
    face_ids = sorted({int(f) for f in face_ids})
    if not face_ids:
        return
    if built is None:
        dataset_id = dataset.pk if isinstance(dataset, Dataset) else int(dataset)
        totals = QueueTotals.objects.select_related("dataset").filter(dataset_id=dataset_id).first()
        if totals is None:
            return
        built = totals.dataset
    now = timezone.now()
    deferred = moves is not None
    moves = {} if moves is None else moves
    with transaction.atomic(savepoint=False):
        for start in range(0, len(face_ids), BATCH):
            batch = face_ids[start : start + BATCH]
            old = {
                e.face_id: e
                for e in QueueEntry.objects.select_for_update(no_key=True).filter(face_id__in=batch).order_by("face_id")
            }
            new = _entries(built, batch, now)
            changed = [e for e in new if _state(old.get(e.face_id)) != _state(e)]
            if changed:
                QueueEntry.objects.bulk_create(
                    changed, update_conflicts=True, unique_fields=["face"], update_fields=_STATE_FIELDS
                )
                _count(built.pk, [old.get(e.face_id) for e in changed], changed)
            _recount_labels(built, {e.face_id: e for e in new}, moves)
        # the annotators' counters last, in author order, after every entry lock: two
        # refreshes never wait on each other's counters while holding an entry
        if not deferred:
            move_counters(built.pk, moves)


def _state(entry: QueueEntry | None):
    return None if entry is None else tuple(getattr(entry, f) for f in _STATE_FIELDS)


def _count(dataset_id: int, before: list[QueueEntry | None], after: list[QueueEntry]) -> None:
    """Move the dataset's counters by what changed from `before` to `after`."""

    def tally(entries, field):
        return sum(1 for e in entries if e is not None and getattr(e, field) is not None)

    d_open = tally(after, "tier") - tally(before, "tier")
    d_honeypots = tally(after, "honeypot_badge") - tally(before, "honeypot_badge")
    if d_open or d_honeypots:
        QueueTotals.objects.filter(dataset_id=dataset_id).update(
            open_faces=F("open_faces") + d_open, honeypots=F("honeypots") + d_honeypots
        )


def lock_entry(face_id: int) -> None:
    """Service: lock the face's entry (when it has one) before the writer locks one of
    its labels. Lock order: a face's entry, then its labels (refresh recounts them
    under the entry's lock), then the annotators' counters; a writer that took a
    label first could wait on the entry while a refresh holding it waits on that label."""
    QueueEntry.objects.select_for_update(no_key=True).filter(face_id=face_id).values_list("pk").first()


def ensure_built(dataset: Dataset) -> QueueTotals:
    """Service: the dataset's queue counters, its entries rebuilt first if they were
    never built or were built with other queue settings (queue_settings)."""
    totals = QueueTotals.objects.filter(dataset=dataset).first()
    if totals is None or totals.built_with != queue_settings(dataset):
        return rebuild(dataset)
    return totals


def rebuild(dataset: Dataset) -> QueueTotals:
    """Service: every entry of the dataset computed afresh, and its counters (once per
    settings change: it reads the whole dataset, in batches of BATCH faces)."""
    now = timezone.now()
    with transaction.atomic():
        Dataset.objects.select_for_update(no_key=True).filter(pk=dataset.pk).first()  # the hand-out lock
        QueueEntry.objects.filter(dataset=dataset).delete()
        opened = honeypots = 0
        last = 0
        faces = Face.objects.filter(image__dataset=dataset).order_by("pk")
        while True:
            batch = list(faces.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH])
            if not batch:
                break
            entries = _entries_in_range(dataset, batch[0], batch[-1], now)
            last = batch[-1]
            _insert(entries)
            opened += sum(e.tier is not None for e in entries)
            honeypots += sum(e.honeypot_badge is not None for e in entries)
        totals, _ = QueueTotals.objects.update_or_create(
            dataset=dataset,
            defaults={"open_faces": opened, "honeypots": honeypots, "built_with": queue_settings(dataset)},
        )
        recount_all_labels(dataset)
        _recreate_counters(dataset.pk)
    return totals


_COLUMNS = ["face_id", "dataset_id", "key", *_STATE_FIELDS]


def _insert(entries: list[QueueEntry]) -> None:
    """INSERT the rows with one executemany (bulk_create's per-value preparation
    took half of a rebuild's time)."""
    table = connection.ops.quote_name(QueueEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",
            [tuple(getattr(e, c) for c in _COLUMNS) for e in entries],
        )


# --- each annotator's counters (AnnotatorQueueTotals) ------------------------------------

# The bits of Annotation.counted_in, and the counter each stands for.
COUNTED = {1: "finished", 2: "done", 4: "finished_open", 8: "honeypots_done", 16: "rejected"}


def counted_in(dataset: Dataset, status: str, review_state: str, entry: QueueEntry | None) -> int:
    """The counters (COUNTED bits) a label of an annotator counts in, from its status and
    verdict and its face's entry: labeling/queue.labeling_progress's terms. In the queue:
    a face with an entry the image queue hands out (a frame only when the dataset
    queues them)."""
    if status not in FINISHED:
        return 0
    bits = 1
    if entry is None or (entry.is_frame and not dataset.queue_sequence_frames):
        return bits
    rejected = review_state == ReviewState.REJECTED
    if not rejected:
        bits |= 2
    if entry.tier is not None:
        bits |= 4
    if not rejected and entry.honeypot_badge is not None:
        bits |= 8
    if rejected and not entry.honeypot:
        bits |= 16
    return bits


def _recount_labels(dataset: Dataset, entries: dict[int, QueueEntry], moves: dict[int, dict[str, int]]) -> None:
    """Set counted_in of the annotator labels of the faces of `entries` (face -> its entry
    now) and add what moved to `moves` (author -> counter -> change)."""
    labels = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, face_id__in=list(entries))
    now_in: dict[int, list[int]] = {}
    for pk, face_id, author_id, status, review_state, before in labels.values_list(
        "pk", "face_id", "author_id", "status", "review_state", "counted_in"
    ):
        after = counted_in(dataset, status, review_state, entries.get(face_id))
        if after == before:
            continue
        now_in.setdefault(after, []).append(pk)
        author = moves.setdefault(author_id, {})
        for bit, name in COUNTED.items():
            step = bool(after & bit) - bool(before & bit)
            if step:
                author[name] = author.get(name, 0) + step
    for value, pks in now_in.items():
        for start in range(0, len(pks), BATCH):
            Annotation.objects.filter(pk__in=pks[start : start + BATCH]).update(counted_in=value)


def recount_all_labels(dataset: Dataset) -> int:
    """Service (in the caller's transaction, after the dataset's entries are current):
    counted_in of every annotator label of the dataset set from its entry by one
    UPDATE (counted_in's rule written in SQL), only where it differs. Returns how many
    labels moved: a rebuild after an import recounts them all, a repair round few."""
    entry = QueueEntry.objects.filter(face_id=OuterRef("face_id"))
    queued = Q(Exists(entry if dataset.queue_sequence_frames else entry.filter(is_frame=False)))
    rejected = Q(review_state=ReviewState.REJECTED)

    def bit(value: int, when: Q):
        return Case(When(when, then=Value(value)), default=Value(0))

    # a tier or a badge is set only on an entry the image queue hands out (_tier)
    bits = Case(
        When(~Q(status__in=FINISHED), then=Value(0)),
        default=Value(1)
        + bit(2, queued & ~rejected)
        + bit(4, Q(Exists(entry.filter(tier__isnull=False))))
        + bit(8, Q(Exists(entry.filter(honeypot_badge__isnull=False))) & ~rejected)
        + bit(16, queued & rejected & ~Q(Exists(entry.filter(honeypot=True)))),
        output_field=IntegerField(),
    )
    labels = Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.ANNOTATOR)
    return labels.annotate(should=bits).exclude(counted_in=F("should")).update(counted_in=bits)


def move_counters(dataset_id: int, moves: dict[int, dict[str, int]]) -> None:
    """Service: add `moves` to the annotators' counters, in author order; an annotator without a
    row gets one summed from their own labels' counted_in (which already holds the move)."""
    for author_id in sorted(moves):
        steps = {name: F(name) + step for name, step in moves[author_id].items() if step}
        if not steps:
            continue
        mine = AnnotatorQueueTotals.objects.filter(dataset_id=dataset_id, annotator_id=author_id)
        if mine.update(**steps):
            continue
        try:
            with transaction.atomic():
                AnnotatorQueueTotals.objects.create(
                    dataset_id=dataset_id, annotator_id=author_id, **_sums(dataset_id, author_id).get(author_id, {})
                )
        except IntegrityError:  # made meanwhile by another writer, who could not see this move
            mine.update(**steps)


def _sums(dataset_id: int, author_id: int | None = None) -> dict[int, dict[str, int]]:
    """author -> counter -> how many of their labels in the dataset count in it (counted_in)."""
    labels = Annotation.objects.filter(dataset_id=dataset_id, origin=AnnotationOrigin.ANNOTATOR, counted_in__gt=0)
    if author_id is not None:
        labels = labels.filter(author_id=author_id)
    sums = labels.values("author_id").annotate(
        **{name: Count("pk", filter=Q(counted_in__in=_with_bit(bit))) for bit, name in COUNTED.items()}
    )
    return {row.pop("author_id"): row for row in sums.order_by()}


@functools.cache
def _with_bit(bit: int) -> list[int]:
    """The counted_in values that have `bit` (a filter both databases index alike)."""
    return [v for v in range(1, 2 * max(COUNTED)) if v & bit]


def _recreate_counters(dataset_id: int) -> None:
    """Service (in the caller's transaction): the dataset's annotator counters summed afresh."""
    AnnotatorQueueTotals.objects.filter(dataset_id=dataset_id).delete()
    AnnotatorQueueTotals.objects.bulk_create(
        AnnotatorQueueTotals(dataset_id=dataset_id, annotator_id=author_id, **row)
        for author_id, row in _sums(dataset_id).items()
    )


def _counters_drifted(dataset_id: int) -> bool:
    stored = {
        row.pop("annotator_id"): row
        for row in AnnotatorQueueTotals.objects.filter(dataset_id=dataset_id).values("annotator_id", *COUNTED.values())
    }
    summed = _sums(dataset_id)
    zero = dict.fromkeys(COUNTED.values(), 0)
    return any(stored.get(a, zero) != summed.get(a, zero) for a in stored.keys() | summed.keys())


def counters_of(user, dataset: Dataset) -> AnnotatorQueueTotals:
    """`user`'s counters in `dataset` (all zero before their first finished label)."""
    return AnnotatorQueueTotals.objects.filter(dataset=dataset, annotator=user).first() or AnnotatorQueueTotals(
        dataset=dataset, annotator=user
    )


def label_deleted(sender, instance: Annotation, **kwargs) -> None:
    """A deleted label leaves its author's counters (never creates a row: the dataset
    itself may be going)."""
    if instance.counted_in and instance.author_id is not None:
        AnnotatorQueueTotals.objects.filter(dataset_id=instance.dataset_id, annotator_id=instance.author_id).update(
            **{name: F(name) - 1 for bit, name in COUNTED.items() if instance.counted_in & bit}
        )


# how often one worker (of all) repairs the queues: it reads every face once
REPAIR_EVERY_S = float(getattr(settings, "HEADPOSE_QUEUE_REPAIR_EVERY_S", 600))


def repair_all() -> int:
    """Service (a reaper round, at most once per REPAIR_EVERY_S across the workers: the
    shared cache's add is the token): give every face without an entry one (faces
    made by bulk_create, which sends no signal) and rebuild each dataset whose
    counters no longer match its rows; recount the labels of the others (a label
    whose state a write changed behind the services' back) and recreate their
    annotators' counters where a label moved or they no longer add up (a label
    deleted in bulk). Returns how many datasets were rebuilt."""
    if not cache.add("headpose:queue-repair", 1, timeout=REPAIR_EVERY_S):
        return 0
    rebuilt = 0
    built = QueueTotals.objects.values("dataset_id")
    missing = (
        Face.objects.filter(queue_entry__isnull=True, image__dataset__in=built)
        .values_list("image__dataset_id", flat=True)
        .distinct()
        .order_by()
    )
    for dataset_id in list(missing):
        faces = Face.objects.filter(image__dataset_id=dataset_id, queue_entry__isnull=True)
        refresh(dataset_id, faces.values_list("pk", flat=True))
    for totals in QueueTotals.objects.select_related("dataset"):
        rows = QueueEntry.objects.filter(dataset_id=totals.dataset_id)
        if (totals.open_faces, totals.honeypots) != (
            rows.filter(tier__isnull=False).count(),
            rows.filter(honeypot_badge__isnull=False).count(),
        ):
            rebuild(totals.dataset)
            rebuilt += 1
        else:
            with transaction.atomic():
                if recount_all_labels(totals.dataset) or _counters_drifted(totals.dataset_id):
                    _recreate_counters(totals.dataset_id)
    return rebuilt


reaper.every_round(repair_all)


# --- receivers: every face in the queue, however made; honeypots marked or unmarked --------


def face_created(sender, instance: Face, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        refresh(instance.image.dataset_id, [instance.pk])


def honeypot_changed(sender, instance: Honeypot, raw: bool = False, **kwargs) -> None:
    if not raw:
        refresh(instance.dataset_id, [instance.face_id])


post_save.connect(face_created, sender=Face, dispatch_uid="queue_entries.face_created")
post_save.connect(honeypot_changed, sender=Honeypot, dispatch_uid="queue_entries.honeypot_saved")
post_delete.connect(honeypot_changed, sender=Honeypot, dispatch_uid="queue_entries.honeypot_deleted")
post_delete.connect(label_deleted, sender=Annotation, dispatch_uid="queue_entries.label_deleted")
