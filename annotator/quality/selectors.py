"""Quality reads: the finished labels and honeypot answers of a dataset as arrays."""

from __future__ import annotations

import numpy as np

from annotator.common.rows import RowScope, values_json
from annotator.datasets.models import Dataset
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, ReviewState
from annotator.quality.models import FaceConsensus, Honeypot, HoneypotAnswer
from workers.core import quality as core

# Labels with a pose the annotator stands by: they make a face's consensus and its honeypot answers.
POSE_STATUSES = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]
FINISHED = POSE_STATUSES + [AnnotationStatus.SKIPPED, AnnotationStatus.FLAGGED]
REVIEW_CODES = {
    ReviewState.PENDING: core.REVIEW_PENDING,
    ReviewState.APPROVED: core.REVIEW_APPROVED,
    ReviewState.REJECTED: core.REVIEW_REJECTED,
    ReviewState.AMENDED: core.REVIEW_AMENDED,
}


def load_tables(dataset: Dataset) -> tuple[core.LabelTable, core.HoneypotTable, list[int]]:
    """The dataset's finished annotator labels and honeypot answers as arrays, and
    the user ids behind the annotator codes (codes are the ids themselves)."""
    rows = list(
        values_json(
            Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=FINISHED).order_by(
                "pk"
            ),
            [
                "face_id",
                "author_id",
                "status",
                "review_state",
                "total_time_s",
                "updated_at",
                "proposal_id",
                "moved_deg",
            ],
            ["R", "t", "proposal__R"],
        )
    )
    n = len(rows)
    R = np.array([r["R"] for r in rows], dtype=np.float64).reshape(n, 3, 3)
    t = np.array([r["t"] if r["t"] is not None else [np.nan] * 3 for r in rows], dtype=np.float64).reshape(n, 3)
    prop = np.array(
        [r["proposal__R"] if r["proposal__R"] is not None else [np.nan] * 9 for r in rows], dtype=np.float64
    ).reshape(n, 3, 3)
    status = np.array([r["status"] for r in rows], dtype=object)
    review = np.array([REVIEW_CODES.get(r["review_state"], 0) for r in rows], dtype=np.int8)
    labels = core.LabelTable(
        annotator=np.array([r["author_id"] for r in rows], dtype=np.int64),
        face=np.array([r["face_id"] for r in rows], dtype=np.int64),
        R=R,
        t=t,
        time_s=np.array([r["total_time_s"] for r in rows], dtype=np.float64),
        finished_at=np.array([r["updated_at"].timestamp() for r in rows], dtype=np.float64),
        proposal_R=prop,
        review=review,
        counts_for_consensus=np.isin(status, [str(s) for s in POSE_STATUSES]) & (review != core.REVIEW_REJECTED),
        proposal_key=np.array([r["proposal_id"] if r["proposal_id"] is not None else -1 for r in rows], dtype=np.int64),
        moved_deg=np.array([np.nan if r["moved_deg"] is None else r["moved_deg"] for r in rows], dtype=np.float64),
    )
    answers = list(
        HoneypotAnswer.objects.filter(honeypot__dataset=dataset).values_list("author_id", "geodesic_deg", "honeypot_id")
    )
    hp_R = dict(Honeypot.objects.filter(dataset=dataset).values_list("pk", "R"))
    hp_ids = list(hp_R)
    hp_yaw = (
        dict(zip(hp_ids, core.abs_yaw(np.array([hp_R[i] for i in hp_ids], float).reshape(-1, 3, 3)))) if hp_ids else {}
    )
    honeypots = core.HoneypotTable(
        annotator=np.array([a[0] for a in answers], dtype=np.int64),
        error_deg=np.array([a[1] for a in answers], dtype=np.float64),
        abs_yaw=np.array([hp_yaw[a[2]] for a in answers], dtype=np.float64),
    )
    return labels, honeypots, sorted(set(labels.annotator.tolist()) | set(honeypots.annotator.tolist()))


def consensus_values(scope: RowScope) -> dict[int, dict]:
    """The consensus of each face in scope that has one, as plain values."""
    return {
        c["face_id"]: c
        for c in values_json(
            FaceConsensus.objects.filter(**scope.of_annotations()),
            ["face_id", "member_count", "dispersion_deg", "computed_at"],
            ["R", "t"],
        )
    }
