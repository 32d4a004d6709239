"""The labeling queue stays flat as a dataset grows (issue 27 item 1): the next
face and an annotator's progress cost the same queries at 30 and 300 faces
(they read an index range of QueueEntry rows and the dataset's counters, never
the dataset), the counters agree with a count of the rows, and fifty
annotators asking at once on PostgreSQL are never handed the same face."""

import threading

import numpy as np
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from annotator.labeling import queue_entries
from annotator.labeling.queue import LabelInput, labeling_progress, next_face, save_label
from annotator.models import Annotation, Assignment, Dataset, Face, FaceClaim, QueueEntry, QueueTotals, Role
from tests.api.bulk_rows import bulk_faces


def bulk_dataset(name: str, n_faces: int, overlap: int = 1) -> Dataset:
    """A dataset of `n_faces` faces made the fast way (bulk_create: no signal, as an
    import script or the scale bench does): the queue is built at its first hand-out."""
    ds = Dataset.objects.create(name=name, overlap=overlap)
    bulk_faces(ds, n_faces)
    return ds


def annotators(django_user_model, ds, prefix: str, n: int):
    users = [django_user_model.objects.create_user(f"{prefix}{k}") for k in range(n)]
    Assignment.objects.bulk_create(Assignment(dataset=ds, user=u, role=Role.ANNOTATOR) for u in users)
    return users


def label(user, face):
    save_label(
        user, face, LabelInput(R=np.eye(3).reshape(-1).tolist(), t=[0, 0, 700], status="accepted", expected_version=0)
    )


def at_once(users, work, timeout_s: float = 180) -> list[BaseException]:
    """Run work(user) for every user in threads released together (each with its own
    database connection); the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(users))

    def run(user):
        try:
            start.wait(timeout=30)
            work(user)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout_s)
    return errors


def open_to(user, ds, overlap: int) -> int:
    """The oracle: faces of `ds` that `user` has not finished and fewer others than
    `overlap` hold a claim on or have finished, counted face by face."""
    n = 0
    for face in Face.objects.filter(image__dataset=ds).prefetch_related("annotations", "claims"):
        done = {a.author_id for a in face.annotations.all() if a.status in queue_entries.FINISHED}
        busy = done | {c.annotator_id for c in face.claims.all()}
        n += user.pk not in done and len(busy - {user.pk}) < overlap
    return n


@pytest.mark.django_db
def test_next_face_and_progress_cost_the_same_queries_at_30_and_600_faces(django_user_model, monkeypatch):
    # every walk from the start of the shuffle: one that starts past the last open face wraps
    # around with one more query, whatever the size (the secret start keys depend on ids)
    monkeypatch.setattr(queue_entries, "start_key", lambda dataset_id, user_id: 0)
    counts = {}
    for n in (30, 300):
        ds = bulk_dataset(f"size{n}", n, overlap=2)
        first, second, asker = annotators(django_user_model, ds, f"u{n}-", 3)
        for user in (first, second):  # some of the dataset labeled by others, some twice
            for _ in range(5):
                label(user, next_face(user, ds))
        label(asker, next_face(asker, ds))  # the queue is built and the asker has a slot
        with CaptureQueriesContext(connection) as hand_out:
            face = next_face(asker, ds)
        with CaptureQueriesContext(connection) as progress:
            counted = labeling_progress(asker, ds)
        assert face is not None and counted["done"] == 1
        # the counters say what a count of the rows says
        totals = QueueTotals.objects.get(dataset=ds)
        open_rows = QueueEntry.objects.filter(dataset=ds, tier__isnull=False).count()
        assert totals.open_faces == open_rows
        assert counted["remaining"] == open_to(asker, ds, overlap=2)
        counts[n] = (len(hand_out), len(progress))
        # the rows the writes kept are the rows a rebuild computes from scratch (its own, set-based path)
        kept = list(QueueEntry.objects.filter(dataset=ds).order_by("face_id").values())
        queue_entries.rebuild(ds)
        assert list(QueueEntry.objects.filter(dataset=ds).order_by("face_id").values()) == kept
    assert counts[30] == counts[300], counts


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks between concurrent transactions")
def test_fifty_annotators_asking_at_once_are_never_handed_the_same_face(django_user_model):
    ds = bulk_dataset("rush", 70)
    users = annotators(django_user_model, ds, "rush", 50)
    queue_entries.rebuild(ds)  # as the first hand-out does
    handed: dict[int, int] = {}

    def ask(user):
        handed[user.pk] = next_face(user, ds).pk

    assert not at_once(users, ask)
    assert len(handed) == 50 and len(set(handed.values())) == 50
    assert FaceClaim.objects.filter(face__image__dataset=ds).count() == 50
    assert QueueTotals.objects.get(dataset=ds).open_faces == 20  # the counter kept up with 50 writers
    queue_entries.rebuild(ds)
    assert QueueTotals.objects.get(dataset=ds).open_faces == 20  # and agrees with a fresh count


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks between concurrent transactions")
def test_annotators_labeling_at_once_never_deadlock_and_their_counters_add_up(django_user_model):
    """Hand-outs (the dataset's lock, then the counters of a claimed face's annotators)
    and saves (the counters, then at COMMIT the foreign-key checks of their inserts on
    the dataset row) at once: with the hand-out lock FOR UPDATE these deadlocked under the
    load test; FOR NO KEY UPDATE lets a save's checks through. Labels saved again while
    their face is handed to others: a save locks the face's entry before its label
    (queue_entries.lock_entry), as a refresh does. Overlap 3: every claim and save moves
    other annotators' counters."""
    ds = bulk_dataset("crowd", 40, overlap=3)
    users = annotators(django_user_model, ds, "crowd", 12)
    queue_entries.rebuild(ds)

    def work(user):
        previous = None
        for _ in range(6):
            face = next_face(user, ds)
            if face is None:
                break
            label(user, face)
            if previous is not None:  # a label saved again while others are handed its face
                version = Annotation.objects.get(face=previous, author=user).version
                pose = {"R": np.eye(3).reshape(-1).tolist(), "t": [0, 0, 710], "status": "corrected"}
                save_label(user, previous, LabelInput(**pose, expected_version=version))
            previous = face

    assert not at_once(users, work)
    assert Annotation.objects.filter(dataset=ds).count() == 72
    assert Annotation.objects.filter(dataset=ds, status="corrected").exists()
    kept = {u.pk: labeling_progress(u, ds) for u in users}
    queue_entries.rebuild(ds)  # the counters summed afresh from the labels
    assert {u.pk: labeling_progress(u, ds) for u in users} == kept


@pytest.mark.django_db
def test_rebuild_queue_names_an_unknown_dataset():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no such dataset: nope"):
        call_command("rebuild_queue", "nope")


@pytest.mark.django_db
def test_the_reaper_gives_bulk_made_faces_their_entries_and_fixes_drifted_counters(django_user_model):
    from django.core.cache import cache

    ds = bulk_dataset("repair", 5)
    (user,) = annotators(django_user_model, ds, "repairer", 1)
    next_face(user, ds)  # builds the queue
    bulk_faces(ds, 3)  # no signal: no entries yet
    QueueTotals.objects.filter(dataset=ds).update(honeypots=7)  # drifted
    cache.delete("headpose:queue-repair")
    assert queue_entries.repair_all() == 1
    assert QueueEntry.objects.filter(dataset=ds).count() == 8
    totals = QueueTotals.objects.get(dataset=ds)
    assert (totals.open_faces, totals.honeypots) == (7, 0)  # 8 faces, one claimed; no honeypot
    assert queue_entries.repair_all() == 0  # the next round within REPAIR_EVERY_S does nothing


@pytest.mark.django_db
def test_the_review_queue_is_counted_up_to_its_cap(django_user_model, client, monkeypatch):
    from annotator.review import queue as reviewing
    from annotator.review import selectors
    from tests.api.bulk_rows import bulk_labels

    ds = bulk_dataset("capped", 5)
    (author,) = annotators(django_user_model, ds, "capped-author", 1)
    reviewer = django_user_model.objects.create_user("capped-reviewer")
    Assignment.objects.create(dataset=ds, user=reviewer, role=Role.REVIEWER)
    bulk_labels(list(Face.objects.filter(image__dataset=ds)), author)
    assert reviewing.queue_size(reviewer, ds) == 5
    monkeypatch.setattr(selectors, "QUEUE_SIZE_CAP", 3)
    assert reviewing.queue_size(reviewer, ds) == 3
    client.force_login(reviewer)
    assert "<b>3+</b> labels awaiting your review" in client.get(f"/review/datasets/{ds.name}/").content.decode()
    label = reviewing.next_for_review(reviewer, ds)
    assert "3+ awaiting your review" in client.get(f"/review/annotations/{label.pk}/").content.decode()
