"""Issue 26 item 6, "accepted means accepted": every annotator save records how far
its pose is from the proposal it started from (moved_deg, moved_mm; on the label
and its revision), an accepted or corrected save within the accept tolerance of
that proposal is stored `accepted`, and reviewers, the v1 API, the JSON export
and the quality scores read the stored figures."""

import json

import numpy as np
import pytest

from annotator.labeling.services import ACCEPT_TOLERANCE_DEG
from annotator.models import Annotation, AnnotationRevision, Face
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db

EULER, T = (10.0, -5.0, 3.0), [5.0, -10.0, 700.0]  # add_proposal's pose


@pytest.fixture
def face(assigned):
    dataset = assigned(make_dataset("moved", n_faces=1))
    return Face.objects.get(image__dataset=dataset)


def put(client, face, euler, t, status, proposal, version=0):
    body = {
        "R": geometry.euler_to_matrix(list(euler)).reshape(-1).tolist(),
        "t": t,
        "status": status,
        "expected_version": version,
        "proposal_id": proposal and proposal.pk,  # None: the proposal the label already names
    }
    r = client.put(f"/api/label/faces/{face.pk}/annotation/", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()


def test_an_untouched_proposal_saved_with_save_is_accepted_and_a_moved_one_corrected(client, bob, alice, face):
    proposal = add_proposal(face, "fused")
    client.force_login(bob)
    # "Save" (corrected) on the proposal as shown (rounded by the page's fields: within the tolerance)
    body = put(client, face, (10.0, -5.0, 3.0 + ACCEPT_TOLERANCE_DEG / 2), T, "corrected", proposal)
    assert body["status"] == "accepted" and body["moved_deg"] == pytest.approx(ACCEPT_TOLERANCE_DEG / 2, abs=1e-6)
    assert body["moved_mm"] == pytest.approx(0.0)
    # 3 degrees of yaw away: a correction, whatever the button
    body = put(client, face, (13.0, -5.0, 3.0), [5.0, -10.0, 702.0], "accepted", proposal, version=1)
    assert body["status"] == "accepted"  # only a finished save near the proposal is changed: this one kept its word
    body = put(client, face, (13.0, -5.0, 3.0), [5.0, -10.0, 702.0], "corrected", proposal, version=2)
    assert body["status"] == "corrected"
    assert body["moved_deg"] == pytest.approx(3.0, abs=1e-6) and body["moved_mm"] == pytest.approx(2.0)
    a = Annotation.objects.get(face=face, author=bob)
    assert (a.status, a.moved_deg) == ("corrected", pytest.approx(3.0, abs=1e-6))
    revisions = list(AnnotationRevision.objects.filter(annotation=a).order_by("version"))
    assert [r.status for r in revisions] == ["accepted", "accepted", "corrected"]
    assert revisions[0].moved_deg == pytest.approx(ACCEPT_TOLERANCE_DEG / 2, abs=1e-6)
    assert (revisions[-1].moved_deg, revisions[-1].moved_mm) == (a.moved_deg, a.moved_mm)
    # a draft keeps its status, and a later save naming no proposal is measured from the label's own
    body = put(client, face, EULER, T, "draft", None, version=3)
    assert body["status"] == "draft" and body["moved_deg"] == pytest.approx(0.0, abs=1e-6)

    # the v1 API (read-only fields) and its revisions
    client.force_login(alice)
    got = client.get(f"/api/v1/annotations/{a.pk}/").json()
    assert got["moved_deg"] == pytest.approx(0.0, abs=1e-6) and got["moved_mm"] == pytest.approx(0.0)
    listed = client.get(f"/api/v1/annotations/{a.pk}/revisions/").json()["results"]
    assert [r["moved_deg"] is not None for r in listed] == [True] * 4
    assert listed[2]["moved_deg"] == pytest.approx(3.0, abs=1e-6) and listed[2]["moved_mm"] == pytest.approx(2.0)
    ignored = client.patch(f"/api/v1/annotations/{a.pk}/", {"moved_deg": 9}, content_type="application/json")
    assert ignored.status_code == 405

    # the reviewer's page and its state: a corrected label 3 degrees off
    client.force_login(bob)
    put(client, face, (13.0, -5.0, 3.0), [5.0, -10.0, 702.0], "corrected", proposal, version=4)
    client.force_login(alice)
    state = client.get(f"/api/label/review/annotations/{a.pk}/").json()["annotation"]
    assert state["moved_deg"] == pytest.approx(3.0, abs=1e-6) and state["moved_mm"] == pytest.approx(2.0)
    page = client.get(f"/review/annotations/{a.pk}/").content.decode()
    assert "Moved from the proposal" in page and "3.0° / 2 mm" in page


def test_a_save_without_a_proposal_records_nothing_and_keeps_its_status(client, bob, face):
    client.force_login(bob)
    body = {"R": np.eye(3).reshape(-1).tolist(), "t": T, "status": "corrected", "expected_version": 0}
    r = client.put(f"/api/label/faces/{face.pk}/annotation/", json.dumps(body), content_type="application/json")
    assert r.json()["status"] == "corrected" and r.json()["moved_deg"] is None and r.json()["moved_mm"] is None


def test_a_depth_change_alone_is_a_correction(client, bob, face):
    proposal = add_proposal(face, "fused")
    client.force_login(bob)
    body = put(client, face, EULER, [5.0, -10.0, 705.0], "corrected", proposal)
    assert body["status"] == "corrected" and body["moved_deg"] == pytest.approx(0.0, abs=1e-6)
    assert body["moved_mm"] == pytest.approx(5.0)


def test_the_json_export_and_the_quality_scores_read_the_stored_figures(client, bob, face):
    from annotator.exports.selectors import label_rows
    from annotator.quality.selectors import load_tables
    from workers.core import quality as core

    proposal = add_proposal(face, "fused")
    client.force_login(bob)
    put(client, face, (13.0, -5.0, 3.0), T, "corrected", proposal)
    [row] = list(label_rows(face.image.dataset, "accepted"))
    assert row.provenance["moved_deg"] == pytest.approx(3.0, abs=1e-6) and row.provenance["moved_mm"] == 0.0
    # the stored figure wins over one computed from the proposal's pose (the proposal it started from at save time)
    Annotation.objects.filter(face=face).update(moved_deg=7.0)
    labels, honeypots, _ = load_tables(face.image.dataset)
    assert labels.moved_deg.tolist() == [7.0]
    n = len(labels.face)
    scores = core.annotator_scores(labels, honeypots, np.full(n, np.nan), np.zeros(n, bool), np.zeros(n))
    assert scores[bob.pk]["proposal_moved_median"] == pytest.approx(7.0)


@pytest.mark.django_db(transaction=True)
def test_migration_0023_backfills_labels_and_revisions_with_a_proposal():
    from tests.migration_steps import migrate, migrate_to_latest, old_image

    apps = migrate(("annotator", "0022_annotator_hour"))
    try:
        Dataset, Face, Proposal = (apps.get_model("annotator", m) for m in ("Dataset", "Face", "Proposal"))
        Annotation, Revision = (
            apps.get_model("annotator", "Annotation"),
            apps.get_model("annotator", "AnnotationRevision"),
        )
        bob = apps.get_model("auth", "User").objects.create(username="bob")
        ds = Dataset.objects.create(name="old", kind="aflw2000")
        face = Face.objects.create(image=old_image(apps, ds), box=[0, 0, 9, 9])
        R0 = geometry.euler_to_matrix(list(EULER)).reshape(-1).tolist()
        proposal = Proposal.objects.create(face=face, proposer="p", proposer_version="1", R=R0, t=T, score=1.0)
        R3 = geometry.euler_to_matrix([13.0, -5.0, 3.0]).reshape(-1).tolist()
        pose = {"face": face, "dataset": ds, "origin": "annotator", "status": "corrected", "t": [5.0, -10.0, 703.0]}
        moved = Annotation.objects.create(author=bob, proposal=proposal, R=R3, version=2, **pose)
        Revision.objects.create(annotation=moved, author=bob, version=1, R=R0, t=T, status="accepted")
        Revision.objects.create(annotation=moved, author=bob, version=2, R=R3, t=pose["t"], status="corrected")
        alone = Annotation.objects.create(author=None, R=R3, **{**pose, "origin": "ground_truth"})

        apps = migrate(("annotator", "0023_backfill_moved"))
        Annotation, Revision = (
            apps.get_model("annotator", "Annotation"),
            apps.get_model("annotator", "AnnotationRevision"),
        )
        got = Annotation.objects.get(pk=moved.pk)
        assert got.moved_deg == pytest.approx(3.0, abs=1e-6) and got.moved_mm == pytest.approx(3.0)
        assert got.status == "corrected"  # statuses stay as saved
        by_version = {r.version: (r.moved_deg, r.moved_mm) for r in Revision.objects.filter(annotation_id=moved.pk)}
        assert by_version[1] == (pytest.approx(0.0, abs=1e-6), pytest.approx(0.0))
        assert by_version[2] == (pytest.approx(3.0, abs=1e-6), pytest.approx(3.0))
        assert Annotation.objects.get(pk=alone.pk).moved_deg is None  # no proposal: nothing to measure from
        migrate(("annotator", "0022_annotator_hour"))  # reversible (a no-op)
    finally:
        migrate_to_latest()
