"""Team quality control: each face's consensus, honeypots, annotator scores and
the dataset's noise floor. The maths is workers/core/consensus.py and
workers/core/quality.py; this module reads the rows, calls them and writes.

- `annotation_changed(annotation)` (service) runs after every annotator save and
  every review (annotator/services.py): the face's FaceConsensus row is
  recomputed (a face whose members spread over HEADPOSE_CONSENSUS_REVIEW_DEG,
  or who had a member rejected as an outlier, gets needs_review), a honeypot
  answer's error is recorded, and the dataset's QualitySnapshot goes stale.
- `mark_honeypots` (service): faces with a trusted label become honeypots.
- `report(dataset)` (service): the snapshot when fresh, else `refresh`, which
  recomputes every figure from the rows at once (vectorised) and stores it.
"""

from __future__ import annotations

import time

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, JSONField, OuterRef, Subquery
from django.utils import timezone

from annotator.common import access, pipeline
from annotator.common.poses import PoseError
from annotator.datasets.models import Dataset, Face
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, ReviewState
from annotator.quality.models import FaceConsensus, Honeypot, HoneypotAnswer, QualitySnapshot
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
    """Service: bring the quality rows in line with a changed annotation (an annotator's).
    Runs inside the save's transaction, so it costs round trips on the hot path
    (tests/web/test_save_queries.py pins them): the face locked with its honeypot
    mark, its members, one upsert of the consensus row, the snapshot marked stale."""
    if annotation.origin != AnnotationOrigin.ANNOTATOR:
        return
    if annotation.status == AnnotationStatus.DRAFT and annotation.pk not in (
        FaceConsensus.objects.filter(face_id=annotation.face_id).values_list("members", flat=True).first() or []
    ):
        return  # a draft autosave of a label that was no member: no figure changes
    # savepoint=False: the caller's transaction already makes this all-or-nothing
    with transaction.atomic(savepoint=False):
        is_honeypot = refresh_face_consensus(annotation.face_id, annotation.dataset_id)
        if is_honeypot:
            record_honeypot_answer(annotation)
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


def refresh_face_consensus(face_id: int, dataset_id: int) -> bool:
    """Service: recompute one face's consensus row (deleted when it has no member),
    weighted by the dataset's stored noise estimates (the last joint estimate, read
    with the lock; newcomers get its prior): one small weighted median, no
    dataset-wide work on the save's path. Returns whether the face is a honeypot
    (read with the lock too: one round trip for all three)."""
    # two annotators saving the same face at once: the second waits here and then reads the first's label
    locked = (
        Face.objects.select_for_update(of=("self",))
        .filter(pk=face_id)
        .annotate(
            hp=Exists(Honeypot.objects.filter(face=OuterRef("pk"))),
            noise=Subquery(
                QualitySnapshot.objects.filter(dataset_id=dataset_id).values("noise")[:1], output_field=JSONField()
            ),
        )
        .values_list("hp", "noise")
        .first()
    )
    is_honeypot, noise = locked if locked is not None else (False, None)
    rows = list(_members(face_id=face_id).order_by("pk").values_list(*MEMBER_FIELDS))
    if not rows:
        FaceConsensus.objects.filter(face_id=face_id).delete()
        return bool(is_honeypot)
    consensus_rows = build_consensus_rows(
        dataset_id, rows, reliability.Noise.from_dict(noise), (noise or {}).get("rounds", 0)
    )
    # one INSERT ... ON CONFLICT (face) DO UPDATE: no savepoint, no second read
    FaceConsensus.objects.bulk_create(
        consensus_rows, update_conflicts=True, unique_fields=["face"], update_fields=_CONSENSUS_FIELDS
    )
    return bool(is_honeypot)


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
        return len(built)

    for row in members.iterator(chunk_size=5000):
        if len(batch) >= REWRITE_BATCH and row[0] != batch[-1][0]:  # a face never spans two batches
            written += flush(batch)
            batch = []
        batch.append(tuple(row))
    if batch:
        written += flush(batch)
    return {"dataset": dataset_id, "faces": written}


def record_honeypot_answer(annotation: Annotation) -> None:
    """Service: the geodesic error of an annotator's finished label of a honeypot face."""
    honeypot = Honeypot.objects.filter(face_id=annotation.face_id).first()
    if honeypot is None:
        return
    if annotation.status not in POSE_STATUSES:
        HoneypotAnswer.objects.filter(annotation=annotation).delete()
        return
    error = float(
        geometry.geodesic_distance(
            np.asarray(honeypot.R, float).reshape(3, 3), np.asarray(annotation.R, float).reshape(3, 3)
        )
    )
    HoneypotAnswer.objects.update_or_create(
        annotation=annotation, defaults={"honeypot": honeypot, "author_id": annotation.author_id, "geodesic_deg": error}
    )


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


def refresh(dataset: Dataset) -> dict:
    """Service: recompute the dataset's report from its rows and store it."""
    started = time.perf_counter()
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
