"""The review flow: who may review what, handing annotations to reviewers
(claims), what the review page shows, and the verdicts. Selectors read; the
functions marked "service" write, each in one transaction (the verdicts
themselves are annotator/services.py's review_annotation / correct_annotation).

A reviewer sees the label an annotator made of a face, the other annotators'
labels of it and the proposal, so only reviewers of the dataset and admins may
open it: an annotator of the dataset gets a 403, anyone else a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotator.common import access
from annotator.common.poses import image_intrinsics
from annotator.datasets.models import Dataset
from annotator.datasets.selectors import visible_datasets
from annotator.labeling.editor import editor_pose, visible_landmarks_2d
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, RejectReason
from annotator.labeling.selectors import readable_annotations
from annotator.proposals.selectors import preferred_proposal
from annotator.quality.services import flush_consensus
from annotator.review.models import ReviewClaim
from annotator.review.selectors import awaiting_count, awaiting_review
from annotator.review.services import ReviewingDenied, correct_annotation, review_annotation
from workers.core import geometry

CLAIM_TTL = timedelta(minutes=getattr(settings, "HEADPOSE_CLAIM_MINUTES", 30))


# --- permissions (selectors) -------------------------------------------------


def dataset_for_reviewing(user, dataset_id: int) -> Dataset:
    """Dataset.DoesNotExist (404) when the user cannot see it, ReviewingDenied
    (403) when they see it but are not one of its reviewers."""
    dataset = visible_datasets(user).get(pk=dataset_id)
    if not access.may_review(user, dataset.pk):
        raise ReviewingDenied(f"You are not a reviewer of dataset {dataset.name}.")
    return dataset


def annotation_for_reviewing(user, annotation_id: int) -> Annotation:
    """The annotation if `user` may review it (access.why_not_review, the one rule
    of every review page and API route): Annotation.DoesNotExist (404) when they
    cannot read it, ReviewingDenied (403) when they read it but may not review it:
    not a reviewer of the dataset, ground truth, their own label, a draft."""
    annotation = (
        readable_annotations(user).select_related("face__image__dataset", "author", "proposal").get(pk=annotation_id)
    )
    reason = access.why_not_review(user, annotation)
    if reason:
        raise ReviewingDenied(reason)
    return annotation


# --- the queue (services) ------------------------------------------------------


def next_for_review(reviewer, dataset: Dataset, *, skip_annotation_id: int | None = None) -> Annotation | None:
    """Service: the next annotation for `reviewer`: one they hold, else the
    first in selectors.review_queue's order; claimed for CLAIM_TTL; None when nothing
    awaits review.
    `skip_annotation_id` (the one just left with N) is released and passed over."""
    flush_consensus(dataset.pk)  # which faces' consensus is disputed: the queue puts them first
    now = timezone.now()
    with transaction.atomic():
        # Serialise hand-outs per dataset: two reviewers asking at once must not get the same label.
        Dataset.objects.select_for_update(no_key=True).filter(pk=dataset.pk).values_list("pk").first()
        ReviewClaim.objects.filter(annotation__dataset=dataset, expires_at__lte=now).delete()
        queue = awaiting_review(dataset, reviewer)
        if skip_annotation_id is not None:
            release(reviewer, skip_annotation_id)
            queue = queue.exclude(pk=skip_annotation_id)
        # one the reviewer already holds first: a reload keeps their place; then
        # selectors.review_queue's order without sorting it: the oldest label of a
        # disputed face (a walk of the pending-review index to the first one), then the
        # oldest label (the index's first row)
        # (the reviewer's few claims read first: a sub-query would let the planner walk
        # the whole table in id order to meet them)
        held = list(
            ReviewClaim.objects.filter(reviewer=reviewer, expires_at__gt=now).values_list("annotation_id", flat=True)
        )
        in_order = queue.order_by("updated_at", "pk")
        annotation = (
            (queue.filter(pk__in=held).order_by("pk").first() if held else None)
            or in_order.filter(face__consensus__dataset=dataset, face__consensus__needs_review=True).first()
            or in_order.first()
        )
        if annotation is not None:
            renew_claim(reviewer, annotation)
    return annotation


def renew_claim(reviewer, annotation: Annotation) -> None:
    """Service: (re)take the review claim on an annotation the reviewer opened."""
    ReviewClaim.objects.update_or_create(
        annotation=annotation, defaults={"reviewer": reviewer, "expires_at": timezone.now() + CLAIM_TTL}
    )


def release(reviewer, annotation_id: int) -> None:
    ReviewClaim.objects.filter(annotation_id=annotation_id, reviewer=reviewer).delete()


def queue_size(reviewer, dataset: Dataset) -> int:
    """How many labels await `reviewer` in `dataset`, counted up to QUEUE_SIZE_CAP."""
    flush_consensus(dataset.pk)
    return awaiting_count(dataset, reviewer)


# --- verdicts (services) ---------------------------------------------------------


@dataclass
class Decision:
    decision: str
    expected_version: int
    reason: str = ""
    note: str = ""


def decide(reviewer, annotation: Annotation, data: Decision) -> Annotation:
    """Service: approve or reject (services.review_annotation), then let go of the claim."""
    reviewed = review_annotation(
        annotation=annotation,
        reviewer=reviewer,
        decision=data.decision,
        reason=data.reason,
        note=data.note,
        expected_version=data.expected_version,
    )
    release(reviewer, annotation.pk)
    return reviewed


@dataclass
class Correction:
    R: object
    t: object
    expected_version: int
    time_spent_s: float = 0.0
    note: str = ""


def correct(reviewer, annotation: Annotation, data: Correction) -> Annotation:
    """Service: the reviewer's pose replaces the annotator's (services.correct_annotation)."""
    corrected = correct_annotation(
        annotation=annotation,
        reviewer=reviewer,
        R=data.R,
        t=data.t,
        expected_version=data.expected_version,
        time_spent_s=data.time_spent_s,
        note=data.note,
    )
    release(reviewer, annotation.pk)
    return corrected


# --- what the review page shows (selectors) ---------------------------------------


def comparison_poses(annotation: Annotation) -> list[dict]:
    """The label under review first, then the other annotators' finished labels
    of the face, then the proposal the annotator started from (else the preferred
    one): [{key, kind, who, R, t}]. Ground truth is never shown: a reviewer judges
    the photo, not a key."""
    face = annotation.face
    poses = [
        {
            "key": "label",
            "kind": "label",
            "who": annotation.author.username,
            **editor_pose(annotation.R, annotation.t, face),
        }
    ]
    others = (
        Annotation.objects.filter(
            face=face,
            origin=AnnotationOrigin.ANNOTATOR,
            status__in=[AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED],
        )
        .exclude(pk=annotation.pk)
        .select_related("author")
        .order_by("author__username")
    )
    for other in others:
        poses.append(
            {
                "key": f"annotator-{other.pk}",
                "kind": "annotator",
                "who": other.author.username,
                **editor_pose(other.R, other.t, face),
            }
        )
    proposal = annotation.proposal or preferred_proposal(face)
    if proposal is not None:
        poses.append(
            {
                "key": "proposal",
                "kind": "proposal",
                "who": f"{proposal.proposer}@{proposal.proposer_version}",
                **editor_pose(proposal.R, proposal.t, face),
            }
        )
    return poses


def pairwise_angles(poses: list[dict]) -> list[dict]:
    """The geodesic angle (degrees) between the rotations of each pair of poses."""
    if len(poses) < 2:
        return []
    Rs = np.asarray([p["R"] for p in poses], dtype=np.float64).reshape(-1, 3, 3)
    pairs = list(combinations(range(len(poses)), 2))
    i, j = (np.asarray(side) for side in zip(*pairs))
    degrees = geometry.geodesic_distance(Rs[i], Rs[j])
    return [{"a": poses[a]["key"], "b": poses[b]["key"], "degrees": float(d)} for (a, b), d in zip(pairs, degrees)]


def review_editor_state(reviewer, annotation: Annotation) -> dict:
    """Everything the review page needs about one annotation, JSON-ready."""
    face = annotation.face
    image = face.image
    K = image_intrinsics(image)
    poses = comparison_poses(annotation)
    return {
        "face": {
            "id": face.pk,
            "index": face.index,
            "box": face.box,
            "landmarks_2d": visible_landmarks_2d(reviewer, face),
        },
        "image": {
            "id": image.pk,
            "file_name": image.file_name,
            "width": image.width,
            "height": image.height,
            "K": [float(v) for v in np.asarray(K).reshape(9)],
        },
        "dataset": {"id": image.dataset_id, "name": image.dataset.name},
        "annotation": {
            "id": annotation.pk,
            "version": annotation.version,
            "status": annotation.status,
            "author": annotation.author.username,
            "flag_reason": annotation.flag_reason,
            "note": annotation.note,
            "time_spent_s": annotation.time_spent_s,
            "total_time_s": annotation.total_time_s,
            "moved_deg": annotation.moved_deg,
            "moved_mm": annotation.moved_mm,
            "updated_at": annotation.updated_at.isoformat(),
            "review_state": annotation.review_state,
        },
        "poses": poses,
        "angles": pairwise_angles(poses),
        "reasons": [{"value": v, "label": str(label)} for v, label in RejectReason.choices],
        "remaining": queue_size(reviewer, image.dataset),
    }
