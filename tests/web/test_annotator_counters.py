"""Each annotator's queue counters (issue 27: the progress bar and the honeypot slot read
AnnotatorQueueTotals instead of counting the annotator's labels) stay equal to a count of
their labels made from scratch, through a seeded random run of everything that moves
them: hand-outs, finished saves and drafts, claims that expire, reviewers' rejections,
approvals and amendments, honeypots marked and unmarked, labels deleted, the overlap
changed (a rebuild); and repair_all finds a drift and mends it."""

import random
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from annotator.labeling import queue_entries
from annotator.labeling.queue import LabelInput, labeling_progress, next_face, save_label
from annotator.models import (
    Annotation,
    AnnotatorQueueTotals,
    Assignment,
    FaceClaim,
    Honeypot,
    ReviewState,
    Role,
)
from annotator.review.services import correct_annotation, review_annotation
from tests.browser.data import make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db

FIELDS = list(queue_entries.COUNTED.values())


def counted_from_scratch(user, dataset) -> dict:
    """The counters as labeling_progress computed them before there were counters: one
    aggregate over the user's finished labels joined to their faces' entries."""
    mine = Annotation.objects.filter(
        author=user, dataset=dataset, origin="annotator", status__in=queue_entries.FINISHED
    )
    queued = Q(face__queue_entry__isnull=False)
    if not dataset.queue_sequence_frames:
        queued &= Q(face__queue_entry__is_frame=False)
    rejected = Q(review_state=ReviewState.REJECTED)
    return mine.aggregate(
        finished=Count("pk"),
        done=Count("pk", filter=queued & ~rejected),
        finished_open=Count("pk", filter=queued & Q(face__queue_entry__tier__isnull=False)),
        honeypots_done=Count("pk", filter=queued & ~rejected & Q(face__queue_entry__honeypot_badge__isnull=False)),
        rejected=Count("pk", filter=queued & rejected & Q(face__queue_entry__honeypot=False)),
    )


def stored(user, dataset) -> dict:
    mine = queue_entries.counters_of(user, dataset)
    return {name: getattr(mine, name) for name in FIELDS}


def member(django_user_model, name, group, dataset, role):
    user = django_user_model.objects.create_user(name, password="x")
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    Assignment.objects.create(dataset=dataset, user=user, role=role)
    return user


def pose(rng):
    status = rng.choice(["accepted", "corrected", "skipped", "flagged", "draft"])
    return LabelInput(
        R=geometry.euler_to_matrix([rng.uniform(-30, 30), rng.uniform(-30, 30), 0.0]),
        t=[0, 0, 600],
        status=status,
        expected_version=0,
        flag_reason="occluded" if status == "flagged" else "",
    )


def test_counters_equal_a_count_from_scratch_through_a_random_run(django_user_model):
    dataset = make_dataset("counted", n_faces=14, overlap=2)
    annotators = [member(django_user_model, f"ann{i}", "annotator", dataset, Role.ANNOTATOR) for i in range(3)]
    reviewer = member(django_user_model, "rev", "reviewer", dataset, Role.REVIEWER)
    faces = list(dataset_faces(dataset))
    rng = random.Random(7)
    next_face(annotators[0], dataset)  # builds the queue
    seen_ops = set()
    for step in range(140):
        op = rng.choice(["label", "label", "label", "expire", "review", "amend", "honeypot", "delete", "overlap"])
        who = rng.choice(annotators)
        if op == "label":
            face = next_face(who, dataset)
            if face is None:
                continue
            mine = Annotation.objects.filter(face=face, author=who).first()
            data = pose(rng)
            data.expected_version = mine.version if mine else 0
            save_label(who, face, data)
        elif op == "expire":
            if not FaceClaim.objects.filter(face__image__dataset=dataset).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            ):
                continue
        elif op in ("review", "amend"):
            label = (
                Annotation.objects.filter(
                    dataset=dataset, origin="annotator", status__in=["accepted", "corrected", "flagged"]
                )
                .order_by("?")
                .first()
            )
            if label is None:
                continue
            if op == "review":
                decision = rng.choice([ReviewState.APPROVED, ReviewState.REJECTED])
                review_annotation(
                    annotation=label, reviewer=reviewer, decision=decision, expected_version=label.version
                )
            else:
                correct_annotation(
                    annotation=label,
                    reviewer=reviewer,
                    R=np.eye(3).tolist(),
                    t=[0, 0, 610],
                    expected_version=label.version,
                )
        elif op == "honeypot":
            face = rng.choice(faces)
            existing = Honeypot.objects.filter(face=face).first()
            if existing is not None:
                existing.delete()
            else:
                Honeypot.objects.create(
                    face=face, dataset=dataset, R=np.eye(3).reshape(-1).tolist(), t=[0, 0, 600], trusted="ground_truth"
                )
        elif op == "delete":
            label = Annotation.objects.filter(dataset=dataset, origin="annotator").order_by("?").first()
            if label is None:
                continue
            label.delete()
        elif op == "overlap":
            dataset.overlap = 3 - dataset.overlap  # 1 <-> 2: the entries and counters are rebuilt at the next hand-out
            dataset.save(update_fields=["overlap"])
            next_face(who, dataset)
        seen_ops.add(op)
        for user in annotators:
            assert stored(user, dataset) == counted_from_scratch(user, dataset), (step, op, user.username)
    assert seen_ops == {"label", "expire", "review", "amend", "honeypot", "delete", "overlap"}
    assert any(v for user in annotators for v in stored(user, dataset).values())
    # the progress bar reads them: done as counted from scratch
    for user in annotators:
        assert labeling_progress(user, dataset)["done"] == counted_from_scratch(user, dataset)["done"]


def dataset_faces(dataset):
    from annotator.models import Face

    return Face.objects.filter(image__dataset=dataset).order_by("pk")


def test_repair_finds_counters_that_drifted_and_mends_them(django_user_model):
    dataset = make_dataset("drift", n_faces=4, overlap=1)
    ann = member(django_user_model, "ann", "annotator", dataset, Role.ANNOTATOR)
    for _ in range(3):
        face = next_face(ann, dataset)
        save_label(ann, face, LabelInput(R=np.eye(3).tolist(), t=[0, 0, 600], status="accepted", expected_version=0))
    assert stored(ann, dataset)["done"] == 3
    AnnotatorQueueTotals.objects.filter(dataset=dataset, annotator=ann).update(done=99)  # a write that bypassed it
    assert labeling_progress(ann, dataset)["done"] == 99
    cache.delete("headpose:queue-repair")
    queue_entries.repair_all()
    assert stored(ann, dataset) == counted_from_scratch(ann, dataset)
    assert labeling_progress(ann, dataset) == {"done": 3, "remaining": 1, "total": 4}
    # a label's state changed behind the services' back: the next round recounts it
    Annotation.objects.filter(author=ann, dataset=dataset).filter(
        pk__in=Annotation.objects.filter(author=ann)[:1].values("pk")
    ).update(review_state=ReviewState.REJECTED)
    assert stored(ann, dataset) != counted_from_scratch(ann, dataset)
    cache.delete("headpose:queue-repair")
    queue_entries.repair_all()
    assert stored(ann, dataset) == counted_from_scratch(ann, dataset)
    assert labeling_progress(ann, dataset)["done"] == 2


@pytest.mark.django_db(transaction=True)
def test_migration_0029_counts_the_labels_of_built_queues_as_the_app_does(django_user_model):
    from tests.migration_steps import migrate, migrate_to_latest

    dataset = make_dataset("migrated", n_faces=6, overlap=2)
    annotators = [member(django_user_model, f"mig{i}", "annotator", dataset, Role.ANNOTATOR) for i in range(3)]
    reviewer = member(django_user_model, "mig-rev", "reviewer", dataset, Role.REVIEWER)
    rng = random.Random(3)
    for _ in range(10):
        who = rng.choice(annotators)
        face = next_face(who, dataset)
        if face is not None:
            data = pose(rng)
            mine = Annotation.objects.filter(face=face, author=who).first()
            data.expected_version = mine.version if mine else 0
            save_label(who, face, data)
    label = (
        Annotation.objects.filter(dataset=dataset, status="accepted").first()
        or Annotation.objects.filter(dataset=dataset, status="corrected").first()
    )
    review_annotation(
        annotation=label, reviewer=reviewer, decision=ReviewState.REJECTED, expected_version=label.version
    )
    expected = {u.pk: stored(u, dataset) for u in annotators}
    counted = dict(Annotation.objects.filter(dataset=dataset).values_list("pk", "counted_in"))
    assert any(any(v.values()) for v in expected.values())
    try:
        migrate(("annotator", "0028_rejected_labels_index"))  # no counters, no counted_in
        apps = migrate(("annotator", "0029_annotator_queue_totals"))
        rows = apps.get_model("annotator", "AnnotatorQueueTotals").objects.filter(dataset_id=dataset.pk)
        got = {r.annotator_id: {name: getattr(r, name) for name in FIELDS} for r in rows}
        zero = dict.fromkeys(FIELDS, 0)
        assert {u.pk: got.get(u.pk, zero) for u in annotators} == expected
        labels = apps.get_model("annotator", "Annotation").objects.filter(dataset_id=dataset.pk)
        assert dict(labels.values_list("pk", "counted_in")) == counted
    finally:
        migrate_to_latest()
