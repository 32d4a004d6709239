"""Team quality control: each face's consensus, honeypots, annotator scores and
the dataset's noise floor. The maths is workers/core/consensus.py and
workers/core/quality.py; this module reads the rows, calls them and writes.

- `annotation_changed(annotation)` (service) runs after every annotator save and
  every review (labeling/services.py, review/services.py): the face is marked
  ConsensusDue and the dataset's QualitySnapshot goes stale, nothing more on the
  request's path.
- `flush_consensus(dataset_id)` (service) brings the marked faces up to date:
  their FaceConsensus rows (a face whose members spread over
  HEADPOSE_CONSENSUS_REVIEW_DEG, or who had a member rejected as an outlier, gets
  needs_review) and their honeypot answers' errors. The report, the review queue,
  exports and every worker's reaper round call it before they read.
- `mark_honeypots` (service): faces with a trusted label become honeypots.
- `report(dataset)` (service): the snapshot when fresh, else `refresh`, which
  recomputes every figure from the rows at once (vectorised) and stores it.
"""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from annotator.common import access, pipeline, reaper
from annotator.common.poses import PoseError
from annotator.datasets.models import Dataset, Face
from annotator.datasets.services import current_summaries
from annotator.labeling import queue_entries
from annotator.labeling.models import Annotation, AnnotationOrigin, ReviewState
from annotator.quality.models import ConsensusDue, FaceConsensus, Honeypot, HoneypotAnswer, QualitySnapshot
from annotator.quality.selectors import POSE_STATUSES, load_tables
from workers.core import consensus as core_consensus
from workers.core import geometry, reliability
from workers.core import quality as core


def review_threshold_deg() -> float:
    return float(getattr(settings, "HEADPOSE_CONSENSUS_REVIEW_DEG", 5.0))


def _members(**scope):
    return Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, status__in=POSE_STATUSES, **scope).exclude(
        review_state=ReviewState.REJECTED
    )


# --- after every save and review (services) -------------------------------------------


def annotation_changed(annotation: Annotation) -> None:
    """Service: note that a changed annotator annotation's face has its consensus due
    (ConsensusDue), and that the dataset's report is stale. Runs inside the save's (or
    the verdict's) transaction: two round trips on the hot path, no consensus maths
    (tests/web/test_save_queries.py pins them); `flush_consensus` does the rest off it."""
    if annotation.origin != AnnotationOrigin.ANNOTATOR:
        return
    # savepoint=False: the caller's transaction already makes this all-or-nothing.
    # ON CONFLICT DO UPDATE (not DO NOTHING): while a flush holds the face's mark (FOR
    # UPDATE) this waits for it, then marks the face again, so no change is ever missed.
    with transaction.atomic(savepoint=False):
        ConsensusDue.objects.bulk_create(
            [ConsensusDue(face_id=annotation.face_id, dataset_id=annotation.dataset_id, marked_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["face"],
            update_fields=["marked_at"],
        )
        QualitySnapshot.objects.filter(dataset_id=annotation.dataset_id, stale=False).update(stale=True)


_CONSENSUS_FIELDS = [
    "dataset",
    "R",
    "t",
    "member_count",
    "dispersion_deg",
    "members",
    "rejected",
    "needs_review",
    "method",
    "weights",
    "iterations",
    "computed_at",
]
FLUSH_BATCH = 2000  # faces per flush transaction


def flush_consensus(dataset_id: int) -> int:
    """Service: bring every face of the dataset marked ConsensusDue up to date: its
    FaceConsensus row (deleted when it has no member left), weighted by the dataset's
    stored noise estimates, and, for a honeypot, its answers' errors. Vectorised, in
    batches of FLUSH_BATCH faces, each in one transaction that locks its marks (SKIP
    LOCKED: two flushes share the work). Returns the number of faces brought up to date."""
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                ConsensusDue.objects.select_for_update(skip_locked=True)
                .filter(dataset_id=dataset_id)
                .order_by("face_id")
                .values_list("face_id", flat=True)[:FLUSH_BATCH]
            )
            if not due:
                return done
            _bring_up_to_date(dataset_id, due)
            ConsensusDue.objects.filter(face_id__in=due).delete()
            done += len(due)


def flush_all_consensus() -> int:
    """Service: flush every dataset that has faces due (each worker's reaper round)."""
    datasets = ConsensusDue.objects.values_list("dataset_id", flat=True).distinct().order_by()
    return sum(flush_consensus(dataset_id) for dataset_id in list(datasets))


reaper.every_round(flush_all_consensus)


def _bring_up_to_date(dataset_id: int, face_ids: list[int]) -> None:
    noise = QualitySnapshot.objects.filter(dataset_id=dataset_id).values_list("noise", flat=True).first() or {}
    rows = list(_members(face_id__in=face_ids).order_by("face_id", "pk").values_list(*MEMBER_FIELDS))
    built = (
        build_consensus_rows(dataset_id, rows, reliability.Noise.from_dict(noise), noise.get("rounds", 0))
        if rows
        else []
    )
    kept = {row.face_id for row in built}
    FaceConsensus.objects.filter(face_id__in=[f for f in face_ids if f not in kept]).delete()
    # one INSERT ... ON CONFLICT (face) DO UPDATE: no savepoint, no second read
    FaceConsensus.objects.bulk_create(
        built, update_conflicts=True, unique_fields=["face"], update_fields=_CONSENSUS_FIELDS, batch_size=FLUSH_BATCH
    )
    _record_honeypot_answers(face_ids)
    # a consensus that needs review puts its face first in the labeling queue
    queue_entries.refresh(dataset_id, face_ids)


# what a consensus row is made of, per member label
MEMBER_FIELDS = ("face_id", "pk", "R", "t", "author_id", "proposal_id", "proposal__R")


def build_consensus_rows(dataset_id: int, rows: list, noise: reliability.Noise, rounds: int) -> list[FaceConsensus]:
    """The FaceConsensus of each face from its members' MEMBER_FIELDS, ordered by face
    then pk, under known noise estimates (workers/core/reliability.consensus_with), all
    faces at once (vectorised: a save's one face and a worker's whole dataset alike)."""
    n = len(rows)
    face = np.array([r[0] for r in rows], np.int64)
    q = geometry.matrix_to_quaternion(np.array([r[2] for r in rows], dtype=np.float64).reshape(n, 3, 3))
    t = np.array([r[3] if r[3] is not None else [np.nan] * 3 for r in rows], dtype=np.float64).reshape(n, 3)
    pq = np.full((n, 4), np.nan)
    has_prop = [i for i, r in enumerate(rows) if r[6] is not None]
    if has_prop:
        pq[has_prop] = geometry.matrix_to_quaternion(
            np.array([rows[i][6] for i in has_prop], dtype=np.float64).reshape(-1, 3, 3)
        )
    m, res, weights = reliability.consensus_with(
        noise,
        face,
        np.array([r[4] for r in rows], np.int64),
        q,
        np.ones(n, bool),
        pq,
        np.array([r[5] if r[5] is not None else -1 for r in rows], np.int64),
    )
    inlier = res.inlier[m.label_row, m.label_slot]
    F = len(m.faces)
    R = geometry.quaternion_to_matrix(res.quaternion).reshape(F, 9)
    # t: the coordinate-wise median of each face's inliers that have one
    t_in = np.where((inlier & np.isfinite(t).all(1))[:, None], t, np.nan)
    _, row, slot, width = core_consensus.group_by_face(face)
    t_pad = core_consensus.pad(t_in, row, slot, F, width)
    t_face = np.stack([core_consensus.nanmedian_rows(t_pad[..., i]) for i in range(3)], -1)
    dispersion = core_consensus.nanmedian_rows(res.distance_deg)
    any_out = np.zeros(F, bool)
    np.logical_or.at(any_out, row, ~inlier)
    needs = (dispersion > review_threshold_deg()) | any_out
    starts = np.searchsorted(face, m.faces)
    ends = np.append(starts[1:], n)
    pks = [r[1] for r in rows]
    now = timezone.now()
    out = []
    for f in range(F):
        lo, hi = int(starts[f]), int(ends[f])
        ids = pks[lo:hi]
        out.append(
            FaceConsensus(
                face_id=int(m.faces[f]),
                dataset_id=dataset_id,
                R=[float(v) for v in R[f]],
                t=None if np.isnan(t_face[f]).any() else [float(v) for v in t_face[f]],
                member_count=hi - lo,
                dispersion_deg=float(dispersion[f]),
                members=ids,
                rejected=[i for i, keep in zip(ids, inlier[lo:hi]) if not keep],
                needs_review=bool(needs[f]),
                method=reliability.METHOD,
                weights=[round(float(w), 6) for w in weights[lo:hi]],
                iterations=min(int(rounds), 32767),
                computed_at=now,
            )
        )
    return out


REWRITE_BATCH = 20_000  # labels per vectorised batch of the worker's rewrite


def rewrite_consensus(dataset_id: int) -> dict:
    """Service (a Celery task's body: workers/tasks.rewrite_consensus): every consensus row
    of the dataset again, weighted by the snapshot's noise estimates. Sent by `refresh`
    when those moved: off every request's path; batches of whole faces, vectorised."""
    flush_consensus(dataset_id)  # the honeypot answers, and no mark left for faces rewritten below
    noise_doc = QualitySnapshot.objects.filter(dataset_id=dataset_id).values_list("noise", flat=True).first() or {}
    noise, rounds = reliability.Noise.from_dict(noise_doc), noise_doc.get("rounds", 0)
    members = _members(dataset_id=dataset_id).order_by("face_id", "pk").values_list(*MEMBER_FIELDS)
    written = 0
    batch: list[tuple] = []

    def flush(rows: list[tuple]) -> int:
        built = build_consensus_rows(dataset_id, rows, noise, rounds)
        FaceConsensus.objects.bulk_create(
            built, update_conflicts=True, unique_fields=["face"], update_fields=_CONSENSUS_FIELDS, batch_size=2000
        )
        queue_entries.refresh(dataset_id, {row.face_id for row in built})  # needs_review may have moved
        return len(built)

    for row in members.iterator(chunk_size=5000):
        if len(batch) >= REWRITE_BATCH and row[0] != batch[-1][0]:  # a face never spans two batches
            written += flush(batch)
            batch = []
        batch.append(tuple(row))
    if batch:
        written += flush(batch)
    return {"dataset": dataset_id, "faces": written}


def _record_honeypot_answers(face_ids: list[int]) -> None:
    """The geodesic error of every finished annotator label of the honeypots among
    `face_ids` (HoneypotAnswer), and no answer for a label that is not finished."""
    honeypots = {h.face_id: h for h in Honeypot.objects.filter(face_id__in=face_ids)}
    if not honeypots:
        return
    labels = list(
        Annotation.objects.filter(face_id__in=list(honeypots), origin=AnnotationOrigin.ANNOTATOR).values_list(
            "pk", "face_id", "author_id", "status", "R"
        )
    )
    HoneypotAnswer.objects.filter(annotation_id__in=[pk for pk, *_ in labels]).delete()
    answers = [
        HoneypotAnswer(
            annotation_id=pk,
            honeypot=honeypots[face_id],
            author_id=author_id,
            geodesic_deg=float(
                geometry.geodesic_distance(
                    np.asarray(honeypots[face_id].R, float).reshape(3, 3), np.asarray(R, float).reshape(3, 3)
                )
            ),
        )
        for pk, face_id, author_id, status, R in labels
        if status in POSE_STATUSES and R is not None
    ]
    HoneypotAnswer.objects.bulk_create(answers)


# --- honeypots (services) -----------------------------------------------------------------


def trusted_annotation(face: Face) -> tuple[Annotation | None, str]:
    """The face's ground truth, else its newest reviewer-approved annotator annotation
    (Honeypot.trusted_annotation)."""
    gt = Annotation.objects.filter(face=face, origin=AnnotationOrigin.GROUND_TRUTH).first()
    if gt is not None:
        return gt, Honeypot.Trusted.GROUND_TRUTH
    approved = (
        Annotation.objects.filter(
            face=face, origin=AnnotationOrigin.ANNOTATOR, status__in=POSE_STATUSES, review_state=ReviewState.APPROVED
        )
        .order_by("-reviewed_at", "-pk")
        .first()
    )
    return approved, Honeypot.Trusted.APPROVED


def mark_honeypots(dataset: Dataset, face_ids: list[int], by=None) -> list[Honeypot]:
    """Service: make these faces of `dataset` honeypots. Every face must belong to the
    dataset and have a trusted label, else PoseError naming them and nothing is written."""
    face_ids = list(dict.fromkeys(int(f) for f in face_ids))
    faces = {f.pk: f for f in Face.objects.filter(pk__in=face_ids, image__dataset=dataset)}
    missing = [f for f in face_ids if f not in faces]
    if missing:
        raise PoseError(f"not faces of dataset {dataset.name}: {missing[:20]}")
    made, untrusted = [], []
    with transaction.atomic():
        for fid in face_ids:
            annotation, kind = trusted_annotation(faces[fid])
            if annotation is None:
                untrusted.append(fid)
                continue
            hp, _ = Honeypot.objects.update_or_create(
                face_id=fid,
                defaults=dict(
                    dataset=dataset,
                    R=annotation.R,
                    t=annotation.t,
                    trusted=kind,
                    trusted_annotation=annotation if kind == Honeypot.Trusted.APPROVED else None,
                    created_by=by,
                ),
            )
            made.append(hp)
        if untrusted:
            transaction.set_rollback(True)
            raise PoseError(
                f"these faces have no trusted label (ground truth or a reviewer-approved label): {untrusted[:20]}"
            )
        QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)
    return made


def unmark_honeypots(dataset: Dataset, face_ids: list[int]) -> int:
    """Service: these faces are honeypots no more (their answers go with them)."""
    n, _ = Honeypot.objects.filter(dataset=dataset, face_id__in=face_ids).delete()
    QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)
    return n


# --- the report (selectors + the refresh service) -------------------------------------------


class QualityDenied(PermissionDenied):
    """The user sees the dataset but is not one of its reviewers (a 403)."""


def dataset_for_quality(user, dataset_id: int) -> Dataset:
    """The dataset if `user` may see its quality figures and honeypots (reviewers of
    it, admins). Dataset.DoesNotExist when they cannot see it at all (404)."""
    if dataset_id not in access.visible_dataset_ids(user):
        raise Dataset.DoesNotExist
    if not access.may_see_quality(user, dataset_id):
        raise QualityDenied("Quality figures and honeypots are for reviewers of this dataset and admins.")
    return Dataset.objects.get(pk=dataset_id)


def report(dataset: Dataset) -> dict:
    """Service: the dataset's quality report, recomputed only when a label changed since."""
    snapshot = QualitySnapshot.objects.filter(dataset=dataset).first()
    if snapshot is not None and not snapshot.stale:
        return snapshot.report
    return refresh(dataset)


def shown_report(dataset: Dataset) -> dict:
    """Service: what the quality page shows, never recomputed inline for a large
    dataset: {report (None: never computed yet), stale, computed_at, refreshing}.
    A stale report of a dataset of HEADPOSE_SUMMARY_INLINE_FACES faces or more is
    shown as it is while a worker recomputes it (`refresh_quality`, sent once per
    HEADPOSE_SUMMARY_MAX_AGE_S); a smaller one is recomputed on the request."""
    snapshot = QualitySnapshot.objects.filter(dataset=dataset).only("report", "stale").first()
    if snapshot is not None and not snapshot.stale and snapshot.report:
        return {"report": snapshot.report, "stale": False, "refreshing": False}
    figures = current_summaries([dataset])[dataset.pk].figures
    if figures["faces"] < settings.HEADPOSE_SUMMARY_INLINE_FACES:
        return {"report": refresh(dataset), "stale": False, "refreshing": False}
    if cache.add(f"headpose:quality-refresh:{dataset.pk}", 1, timeout=settings.HEADPOSE_SUMMARY_MAX_AGE_S):
        # a broker that is down only delays the refresh: robust, the page still answers
        transaction.on_commit(lambda: pipeline.enqueue("refresh_quality", dataset.pk), robust=True)
    report_ = snapshot.report if snapshot is not None and snapshot.report else None
    computed_at = datetime.fromisoformat(report_["computed_at"]) if report_ else None
    return {"report": report_, "stale": True, "refreshing": True, "computed_at": computed_at}


def refresh_quality_of(dataset_id: int) -> dict:
    """The worker's side of `refresh_quality`: the report recomputed when still stale."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return {"dataset": dataset_id, "refreshed": False}
    started = time.perf_counter()
    report(dataset)
    return {"dataset": dataset_id, "seconds": round(time.perf_counter() - started, 3)}


def refresh(dataset: Dataset) -> dict:
    """Service: recompute the dataset's report from its rows and store it."""
    started = time.perf_counter()
    flush_consensus(dataset.pk)  # the honeypot answers and needs-review flags the report reads
    # fresh from here on: a save while the rows are read marks it stale again
    QualitySnapshot.objects.update_or_create(dataset=dataset, defaults={"stale": False})
    labels, honeypots, user_ids = load_tables(dataset)
    figures = core.report_figures(labels, honeypots, review_threshold_deg())
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    scores = figures.pop("scores")
    noise = {**figures.pop("noise"), "rounds": figures["noise_rounds"]}
    annotators = [
        {"username": names.get(uid, str(uid)), "user_id": uid, **scores[uid]}
        for uid in sorted(scores, key=lambda u: names.get(u, ""))
    ]
    report_ = {
        "dataset": {
            "id": dataset.pk,
            "name": dataset.name,
            "overlap": dataset.overlap,
            "honeypot_share": dataset.honeypot_share,
        },
        "computed_at": timezone.now().isoformat(),
        "review_threshold_deg": review_threshold_deg(),
        "faces": Face.objects.filter(image__dataset=dataset).count(),
        "honeypots": Honeypot.objects.filter(dataset=dataset).count(),
        **figures,
        "annotators": annotators,
    }
    before = QualitySnapshot.objects.filter(dataset=dataset).values_list("noise", flat=True).first() or {}
    QualitySnapshot.objects.filter(dataset=dataset).update(
        report=report_, noise=noise, computed_at=timezone.now(), compute_s=time.perf_counter() - started
    )
    if noise_moved(before, noise):
        # the rows follow the new weights in a worker (every row of the dataset: not on this request's
        # path); a broker that is down only delays that: robust, the page still answers
        transaction.on_commit(lambda: pipeline.enqueue("rewrite_consensus", dataset.pk), robust=True)
    return report_


NOISE_REWRITE_CHANGE = 0.05  # a relative change of any annotator's noise that rewrites the dataset's rows


def noise_moved(before: dict, after: dict) -> bool:
    """Whether the consensus rows are due for new weights: an annotator's noise moved by
    over NOISE_REWRITE_CHANGE, or one came or went."""
    a, b = (d.get("annotators") or {} for d in (before, after))
    if set(a) != set(b):
        return True
    return any(abs(b[k]["noise_deg"] / max(a[k]["noise_deg"], 1e-9) - 1) > NOISE_REWRITE_CHANGE for k in b)
