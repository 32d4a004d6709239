"""The save path's queries, pinned: a regression that adds a lookup to every
save (a lazy foreign key in the response, a second permission query, a separate
transaction for the claim) fails here. Run with transaction=True so the save's
own transaction is a real BEGIN/COMMIT (not a savepoint of the test's), as on a
server: one transaction, so one commit (one WAL flush) per save.

  POST /api/v1/annotations/ (token)                  token+user, face+assignment+claim,
                                                     the face's queue entry FOR NO KEY UPDATE,
                                                     annotation FOR NO KEY UPDATE, UPDATE, INSERT revision
  PUT /api/label/faces/ID/annotation/ (session),     user, face+assignment+claim,
  a face's first save                                annotation FOR UPDATE (none yet), INSERT it
                                                     (in a savepoint: a concurrent first save of the same
                                                     face must become a 409), INSERT revision,
                                                     DELETE the claim (the labeling page claimed the face)"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotator.accounts.tokens import create_token
from annotator.labeling import queue_entries
from annotator.labeling.queue import LabelInput, renew_claim, save_label
from annotator.labeling.selectors import face_for_labeling
from annotator.models import Annotation, AnnotationRevision, Face, FaceClaim
from tests.browser.data import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

# BEGIN and COMMIT included. QUALITY: what annotator/quality.annotation_changed adds to a
# save (the face's consensus marked due, the snapshot marked stale; the consensus itself
# is brought up to date off the request's path: quality/services.flush_consensus)
QUALITY = ["INSERT", "UPDATE"]
# QUEUE: what labeling/queue_entries.refresh adds (the dataset's queue totals, the face's queue
# entry locked, its state read, the face's labels read for their counters); no write when the
# face stays as busy (its claim became its label, or its author saved it again)
QUEUE = ["SELECT", "SELECT FOR UPDATE", "SELECT", "SELECT"]
# ENTRY: the face's queue entry locked before its label (queue_entries.lock_entry: the lock order)
ENTRY = ["SELECT FOR UPDATE"]
# COUNTED: a face's first finished label is counted in its author's counters: the label's
# counted_in, their AnnotatorQueueTotals row (made at their first finished label of the dataset)
COUNTED = ["UPDATE", "UPDATE"]
API_SAVE_QUERIES = 8 + len(QUALITY) + len(QUEUE)
LABEL_FIRST_SAVE_QUERIES = 11 + len(QUALITY) + len(QUEUE) + len(COUNTED)
IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1]


@pytest.fixture
def faces(assigned):
    dataset = assigned(make_dataset("queries", n_faces=2))
    queue_entries.rebuild(dataset)  # as the first hand-out does
    return list(Face.objects.filter(image__dataset=dataset).order_by("pk"))


def _kinds(queries) -> list[str]:
    """Each query's verb; a row lock (FOR UPDATE, or FOR NO KEY UPDATE as the app takes
    them) reads "SELECT FOR UPDATE"."""
    locks = ("FOR UPDATE", "FOR NO KEY UPDATE")
    return [q["sql"].split()[0] + (" FOR UPDATE" if q["sql"].endswith(locks) else "") for q in queries]


def _locking(kinds: list[str]) -> list[str]:
    """The expected kinds on this database: SQLite has no row locks (Django drops
    FOR UPDATE there; a write transaction locks the whole file instead), so the
    same query is a plain SELECT. The count and the order are the same."""
    if connection.features.has_select_for_update:
        return kinds
    return ["SELECT" if kind == "SELECT FOR UPDATE" else kind for kind in kinds]


# an admin (not assigned to the dataset) pays no more than its annotator
@pytest.mark.parametrize("who", ["bob", "alice"])
def test_an_api_save_is_fourteen_queries_in_one_transaction_one_revision_insert_and_no_reread(who, request, faces):
    face = faces[0]
    user = request.getfixturevalue(who)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user=user, name='t')[1]}")

    def save(version, z):
        return client.post(
            "/api/v1/annotations/",
            {"face": face.pk, "R": IDENTITY, "t": [0, 0, z], "status": "accepted", "expected_version": version},
            format="json",
        )

    assert save(0, 600).status_code == 201  # also writes the token's last_used_at (once a minute)
    with CaptureQueriesContext(connection) as captured:
        r = save(1, 650)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["version"] == 2 and body["author"] == who and body["face"] == face.pk and body["t"] == [0, 0, 650]
    assert _kinds(captured.captured_queries) == _locking(
        ["SELECT", "SELECT", "BEGIN", *ENTRY, "SELECT FOR UPDATE", "UPDATE", "INSERT", *QUALITY, *QUEUE, "COMMIT"]
    )
    assert len(captured.captured_queries) == API_SAVE_QUERIES
    assert "annotator_annotationrevision" in captured.captured_queries[6]["sql"]
    assert "ON CONFLICT" in captured.captured_queries[-3 - len(QUEUE)]["sql"]  # the consensus row: one upsert
    a = Annotation.objects.get(face=face, author=user)
    assert a.version == 2 and a.t == [0, 0, 650]
    assert list(AnnotationRevision.objects.filter(annotation=a).values_list("version", flat=True)) == [1, 2]


def test_a_labeling_page_save_releases_its_claim_in_the_same_transaction(client, bob, faces):
    face = faces[1]
    save_label(bob, faces[0], LabelInput(R=IDENTITY, t=[0, 0, 600], status="accepted", expected_version=0))
    client.force_login(bob)
    renew_claim(bob, face)  # what opening the face on the labeling page does
    client.get("/")  # the session is read once before: the cache holds it, as it does for a page's later saves
    with CaptureQueriesContext(connection) as captured:
        r = client.put(
            f"/api/label/faces/{face.pk}/annotation/",
            json.dumps({"R": IDENTITY, "t": [1, 2, 700], "status": "accepted", "expected_version": 0}),
            content_type="application/json",
        )
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 1
    assert _kinds(captured.captured_queries) == _locking(
        [
            "SELECT",
            "SELECT",
            "BEGIN",
            *ENTRY,
            "SELECT FOR UPDATE",
            "SAVEPOINT",
            "INSERT",
            "RELEASE",
            "INSERT",
            *QUALITY,
            "DELETE",
            *QUEUE,
            *COUNTED,
            "COMMIT",
        ]
    )
    assert len(captured.captured_queries) == LABEL_FIRST_SAVE_QUERIES
    assert not FaceClaim.objects.filter(face=face, annotator=bob).exists()
    assert AnnotationRevision.objects.filter(annotation__face=face, annotation__author=bob).count() == 1


def test_a_save_without_a_claim_deletes_nothing(bob, faces):
    face = faces[0]
    face = face_for_labeling(bob, face.pk)
    assert face.claimed is False
    with CaptureQueriesContext(connection) as captured:
        save_label(bob, face, LabelInput(R=IDENTITY, t=[0, 0, 600], status="accepted", expected_version=0))
    assert "DELETE" not in _kinds(captured.captured_queries)
