"""The review workflow through the labeling API (/api/label/review/) with real
tokens: the queue, approve, reject (back to the top of the annotator's queue
with the note), correct (a revision by the reviewer; exports read it), 409 on
a stale version, one error shape. World: tests/api/conftest.py (dave reviews
priv, bob labels it)."""

import csv
import io

import numpy as np
import pytest
from django.test import Client
from scipy.spatial.transform import Rotation

from annotator.labeling.queue import labeling_progress, next_face
from annotator.models import Annotation, ReviewClaim
from tests.api.conftest import label
from workers.core import geometry

pytestmark = pytest.mark.django_db


def R_of(euler):
    return geometry.euler_to_matrix(euler).reshape(-1).tolist()


@pytest.fixture
def priv(world):
    o = world["objects"]["priv"]
    # a second annotator's label of the same face: a ghost on the review page
    o["other"] = label(o["face"], world["users"]["other_annotator"], [-10.0, 5.0, 0.0])
    return o


def next_review(client, dataset, **body):
    r = client.post(f"/api/label/review/datasets/{dataset.pk}/next/", body, format="json")
    assert r.status_code == 200, r.content
    return r.json()


def decide(client, annotation_id, **body):
    return client.post(f"/api/label/review/annotations/{annotation_id}/decision/", body, format="json")


def test_the_queue_hands_out_oldest_first_never_ones_own_and_never_to_two_reviewers(world, api_as, priv):
    dave, alice = api_as("reviewer"), api_as("admin")
    first = next_review(dave, priv["dataset"])
    assert first["annotation_id"] == priv["annotation"].pk  # bob's label is older than erin's
    assert first["url"] == f"/review/annotations/{priv['annotation'].pk}/"
    assert next_review(dave, priv["dataset"])["annotation_id"] == first["annotation_id"]  # a reload keeps it
    # alice gets the other one while dave holds bob's
    assert next_review(alice, priv["dataset"])["annotation_id"] == priv["other"].pk
    # N (skip): dave lets bob's go and is handed nothing else (alice holds erin's)
    nothing = next_review(dave, priv["dataset"], skip_annotation_id=first["annotation_id"])
    assert nothing["annotation_id"] is None and nothing["url"] == f"/review/datasets/{priv['dataset'].name}/"
    assert not ReviewClaim.objects.filter(annotation=priv["annotation"]).exists()
    # nobody reviews their own label: alice's label is never handed to her
    mine = label(priv["unlabeled_face"], world["users"]["admin"], [3.0, 0.0, 0.0])
    assert mine.pk not in {next_review(alice, priv["dataset"], skip_annotation_id=priv["other"].pk)["annotation_id"]}
    assert api_as("admin").get(f"/api/label/review/annotations/{mine.pk}/").status_code == 403


def test_the_review_state_shows_the_label_the_others_the_proposal_and_their_angles(world, api_as, priv):
    body = api_as("reviewer").get(f"/api/label/review/annotations/{priv['annotation'].pk}/").json()
    poses = {p["key"]: p for p in body["poses"]}
    assert [p["kind"] for p in body["poses"]] == ["label", "annotator", "proposal"]
    assert poses["label"]["who"] == "bob" and poses[f"annotator-{priv['other'].pk}"]["who"] == "erin"
    assert np.allclose(poses["label"]["R"], priv["annotation"].R)
    assert body["annotation"]["author"] == "bob" and body["annotation"]["total_time_s"] == 0.0
    assert body["image"]["K"] == priv["image"].K
    assert len(body["angles"]) == 3
    for pair in body["angles"]:  # against scipy's rotations, an independent implementation
        a, b = (Rotation.from_matrix(np.reshape(poses[k]["R"], (3, 3))) for k in (pair["a"], pair["b"]))
        assert pair["degrees"] == pytest.approx(np.degrees((a.inv() * b).magnitude()), abs=1e-9)
    assert "ground_truth" not in str(body)  # a reviewer judges the photo, not the key


def test_approve_and_a_stale_version_is_a_409(world, api_as, priv):
    a = priv["annotation"]
    stale = decide(api_as("reviewer"), a.pk, decision="approved", expected_version=a.version + 1)
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": stale.json()["detail"],
        "code": "version_conflict",
        "current_version": a.version,
        "expected_version": a.version + 1,
    }
    ok = decide(api_as("reviewer"), a.pk, decision="approved", expected_version=a.version)
    assert ok.status_code == 200 and ok.json()["review_state"] == "approved"
    a.refresh_from_db()
    assert a.review_state == "approved" and a.reviewed_by == world["users"]["reviewer"]
    # approved labels leave the queue
    assert next_review(api_as("reviewer"), priv["dataset"])["annotation_id"] == priv["other"].pk


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "rejected"}, "reason"),
        ({"decision": "rejected", "reason": "sloppy"}, "reason"),
        ({"decision": "maybe", "reason": "other"}, "decision"),
        ({"decision": "approved"}, "expected_version"),
    ],
)
def test_bad_verdicts_are_400_naming_the_field(world, api_as, priv, body, field):
    body = {"expected_version": priv["annotation"].version, **body}
    if field == "expected_version":
        body.pop("expected_version")
    r = decide(api_as("reviewer"), priv["annotation"].pk, **body)
    assert r.status_code == 400 and r.json()["code"] == "invalid" and field in r.json(), r.content
    assert Annotation.objects.get(pk=priv["annotation"].pk).review_state == ""


def test_a_rejected_label_goes_to_the_top_of_its_annotators_queue_with_the_note(world, api_as, priv):
    bob = world["users"]["annotator"]
    # bob finishes the other face too, so without the rejection his queue would be empty
    label(priv["unlabeled_face"], bob, [1.0, 1.0, 1.0])
    assert next_face(bob, priv["dataset"]) is None
    r = decide(
        api_as("reviewer"),
        priv["annotation"].pk,
        decision="rejected",
        reason="rotation",
        note="The head looks further left.",
        expected_version=priv["annotation"].version,
    )
    assert r.status_code == 200 and r.json()["review_state"] == "rejected"
    assert labeling_progress(bob, priv["dataset"])["remaining"] == 1
    export = api_as("reviewer").get(f"/api/v1/datasets/{priv['dataset'].pk}/export/?format=csv&labels=annotations")
    detail = [row["origin_detail"] for row in csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))]
    assert sorted(detail) == ["bob", "erin"]  # bob's other face and erin's: the rejected label is left out
    nxt = api_as("annotator").post(f"/api/label/datasets/{priv['dataset'].pk}/next/", {}, format="json").json()
    assert nxt["face_id"] == priv["face"].pk
    state = api_as("annotator").get(f"/api/label/faces/{priv['face'].pk}/").json()["annotation"]
    assert state["review_state"] == "rejected" and state["review_reason"] == "rotation"
    page = Client()
    page.force_login(bob)
    html = page.get(f"/label/faces/{priv['face'].pk}/").content.decode()
    assert "A reviewer sent this label back" in html and "The head looks further left." in html
    assert state["review_note"] == "The head looks further left."
    # bob saves again: the verdict was about the old version; the face is finished and back for review
    saved = api_as("annotator").put(
        f"/api/label/faces/{priv['face'].pk}/annotation/",
        {"R": R_of([20.0, 0.0, 0.0]), "t": [0, 0, 600], "status": "corrected", "expected_version": state["version"]},
        format="json",
    )
    assert saved.status_code == 200
    assert next_face(bob, priv["dataset"]) is None
    assert next_review(api_as("reviewer"), priv["dataset"])["annotation_id"] in (
        priv["annotation"].pk,
        priv["other"].pk,
    )


def test_a_correction_is_the_reviewers_revision_and_exports_read_it(world, api_as, priv):
    a = priv["annotation"]
    url = f"/api/label/review/annotations/{a.pk}/correction/"
    body = {"R": R_of([25.0, -4.0, 2.0]), "t": [3.0, 4.0, 640.0], "expected_version": a.version, "time_spent_s": 7}
    assert api_as("reviewer").put(url, {**body, "expected_version": a.version + 1}, format="json").status_code == 409
    assert api_as("reviewer").put(url, {**body, "R": [1, 0, 0, 0, 1, 0, 0, 0, 2]}, format="json").status_code == 400
    r = api_as("reviewer").put(url, body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["version"] == a.version + 1 and r.json()["review_state"] == "amended"
    a.refresh_from_db()
    assert np.allclose(a.R, body["R"]) and a.t == body["t"] and a.status == "corrected"
    assert a.author == world["users"]["annotator"] and a.total_time_s == 0.0  # still bob's label, bob's time
    revisions = api_as("admin").get(f"/api/v1/annotations/{a.pk}/revisions/").json()["results"]
    assert [(v["version"], v["author"]) for v in revisions] == [(1, "bob"), (2, "dave")]
    assert np.allclose(geometry.euler_to_matrix([10.0, 0.0, 0.0]).reshape(-1), revisions[0]["R"])
    # the corrected label is out of the queue, and an export reads the corrected pose
    assert next_review(api_as("reviewer"), priv["dataset"])["annotation_id"] == priv["other"].pk
    export = api_as("reviewer").get(f"/api/v1/datasets/{priv['dataset'].pk}/export/?format=csv&labels=annotations")
    text = b"".join(export.streaming_content).decode()
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["origin_detail"] == "bob"]
    assert len(rows) == 1 and float(rows[0]["yaw"]) == pytest.approx(25.0)
    # bob sees the correction as his label's current pose
    state = api_as("annotator").get(f"/api/label/faces/{priv['face'].pk}/").json()
    assert np.allclose(state["initial"]["R"], body["R"]) and state["annotation"]["review_state"] == "amended"
    page = Client()
    page.force_login(world["users"]["annotator"])
    assert "A reviewer corrected this label" in page.get(f"/label/faces/{priv['face'].pk}/").content.decode()
    # the review state's filter, by its name and by its deprecated old name (corrected)
    for value in ("amended", "corrected"):
        found = api_as("admin").get(f"/api/v1/annotations/?review_state={value}&dataset={a.dataset_id}")
        assert found.status_code == 200 and [x["id"] for x in found.json()["results"]] == [a.pk], value


def test_the_v1_review_endpoint_takes_the_same_reasons(world, api_as, priv):
    a = priv["annotation"]
    url = f"/api/v1/annotations/{a.pk}/review/"
    v = a.version

    def verdict(**body):
        nonlocal v
        r = api_as("reviewer").post(url, {**body, "expected_version": v}, format="json")
        if r.status_code == 200:
            assert r.json()["version"] == v + 1  # each verdict is a new version
            v += 1
        return r

    bad = verdict(decision="rejected", reason="sloppy")
    assert bad.status_code == 400 and "reason" in bad.json()
    r = verdict(decision="rejected", reason="wrong_flag", note="not occluded")
    assert r.status_code == 200 and (r.json()["review_reason"], r.json()["review_note"]) == (
        "wrong_flag",
        "not occluded",
    )
    # without a reason a rejection is "other"; an approval carries none
    assert verdict(decision="rejected").json()["review_reason"] == "other"
    assert verdict(decision="approved").json()["review_reason"] == ""
    rejected = api_as("annotator").get("/api/v1/annotations/?review_state=rejected").json()["results"]
    assert rejected == []  # approved now
    corrected = api_as("reviewer").get(f"/api/v1/annotations/?review_state=corrected&dataset={a.dataset_id}")
    assert corrected.status_code == 200 and corrected.json()["results"] == []


def test_a_verdict_without_expected_version_is_a_400_naming_the_field(world, api_as, priv):
    """A breaking change (issue 25): old clients that sent no version are told which field is missing."""
    a = priv["annotation"]
    for url in (f"/api/v1/annotations/{a.pk}/review/", f"/api/label/review/annotations/{a.pk}/decision/"):
        r = api_as("reviewer").post(url, {"decision": "approved"}, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid", r.content
        assert "expected_version" in r.json() and "expected_version" in r.json()["detail"]
    a.refresh_from_db()
    assert a.review_state == "" and a.version == 1


VERDICT_ROUTES = {
    "v1": lambda a: (f"/api/v1/annotations/{a.pk}/review/", "post", {"decision": "approved"}),
    "decision": lambda a: (f"/api/label/review/annotations/{a.pk}/decision/", "post", {"decision": "approved"}),
    "correction": lambda a: (
        f"/api/label/review/annotations/{a.pk}/correction/",
        "put",
        {"R": R_of([12.0, 0.0, 0.0]), "t": [0, 0, 600]},
    ),
}


@pytest.mark.parametrize("route", sorted(VERDICT_ROUTES))
def test_two_verdicts_on_one_version_the_second_is_a_409(world, api_as, priv, route):
    """dave and alice both judge version 1: the first verdict makes version 2, the
    second (sent for version 1) is refused, whichever its kind; nothing is overruled unseen."""
    a = priv["annotation"]
    url, method, body = VERDICT_ROUTES[route](a)
    first = getattr(api_as("reviewer"), method)(url, {**body, "expected_version": 1}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2, first.content
    for second in (
        {"decision": "rejected", "reason": "rotation"},
        {"decision": "approved"},
    ):
        r = api_as("admin").post(
            f"/api/label/review/annotations/{a.pk}/decision/", {**second, "expected_version": 1}, format="json"
        )
        assert r.status_code == 409 and r.json()["code"] == "version_conflict", r.content
        assert {"detail", "code"} <= set(r.json()) and r.json()["current_version"] == 2
        r = api_as("admin").post(
            f"/api/v1/annotations/{a.pk}/review/", {**second, "expected_version": 1}, format="json"
        )
        assert r.status_code == 409 and r.json()["code"] == "version_conflict", r.content
    r = api_as("admin").put(
        f"/api/label/review/annotations/{a.pk}/correction/",
        {"R": R_of([30.0, 0.0, 0.0]), "t": [0, 0, 600], "expected_version": 1},
        format="json",
    )
    assert r.status_code == 409
    a.refresh_from_db()
    assert a.version == 2 and a.reviewed_by == world["users"]["reviewer"]
    assert a.review_state == ("amended" if route == "correction" else "approved")


def _every_review_route(client, a):
    """Each page and API route that shows a label for review or takes a verdict on it."""
    v = a.version
    return {
        "page": client.get(f"/review/annotations/{a.pk}/"),
        "state": client.get(f"/api/label/review/annotations/{a.pk}/"),
        "decision": client.post(
            f"/api/label/review/annotations/{a.pk}/decision/",
            {"decision": "approved", "expected_version": v},
            format="json",
        ),
        "correction": client.put(
            f"/api/label/review/annotations/{a.pk}/correction/",
            {"R": R_of([5.0, 0.0, 0.0]), "t": [0, 0, 600], "expected_version": v},
            format="json",
        ),
        "v1": client.post(
            f"/api/v1/annotations/{a.pk}/review/", {"decision": "approved", "expected_version": v}, format="json"
        ),
    }


def _as(world, role):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(world["users"][role])  # the page needs a session; the API takes it too
    return client


@pytest.mark.parametrize("who", ["admin", "reviewer"])
def test_nobody_reviews_their_own_label_on_any_route(world, priv, who):
    """An admin, and a reviewer of the dataset who also annotates it, label a face:
    every review route refuses them their own label (403 with the reason), and the
    label is untouched."""
    from annotator.models import Assignment, Role

    me = world["users"][who]
    Assignment.objects.get_or_create(dataset=priv["dataset"], user=me, role=Role.ANNOTATOR)
    mine = label(priv["unlabeled_face"], me, [4.0, 0.0, 0.0])
    answers = _every_review_route(_as(world, who), mine)
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 403)
    for k in ("state", "decision", "correction", "v1"):
        assert answers[k].json() == {"detail": "Nobody reviews their own label.", "code": "permission_denied"}, k
    mine.refresh_from_db()
    assert (mine.review_state, mine.version) == ("", 1)
    # ... and the queue never hands it to them
    assert next_review(_as(world, who), priv["dataset"])["annotation_id"] != mine.pk


def test_a_draft_is_not_reviewed_on_any_route(world, priv):
    draft = label(priv["unlabeled_face"], world["users"]["annotator"], [4.0, 0.0, 0.0], status="draft")
    for who in ("reviewer", "admin"):
        answers = _every_review_route(_as(world, who), draft)
        assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 403), who
        assert "draft" in answers["v1"].json()["detail"]
    draft.refresh_from_db()
    assert (draft.review_state, draft.version, draft.status) == ("", 1, "draft")


def test_the_service_asks_the_gate_on_the_locked_row(world, priv):
    """A caller that skipped the gate (or a label that became a draft after the page
    asked it) still cannot get a verdict through: review_annotation asks why_not_review
    on the row it locked."""
    from annotator.labeling.services import save_annotation
    from annotator.review.services import ReviewingDenied, review_annotation

    a, bob, alice = priv["annotation"], world["users"]["annotator"], world["users"]["admin"]
    mine = label(priv["unlabeled_face"], alice, [4.0, 0.0, 0.0])
    with pytest.raises(ReviewingDenied, match="own label"):
        review_annotation(annotation=mine, reviewer=alice, decision="approved", expected_version=None)
    save_annotation(face=a.face, author=bob, R=a.R, t=a.t, status="draft", expected_version=a.version)
    with pytest.raises(ReviewingDenied, match="draft"):
        review_annotation(annotation=a, reviewer=world["users"]["reviewer"], decision="approved", expected_version=None)
    a.refresh_from_db()
    assert a.review_state == "" and a.status == "draft"


def test_the_review_page_nudges_by_the_configured_steps_like_the_labeling_page(world, priv, settings):
    import json
    import re

    settings.HEADPOSE_LABEL_STEPS = {"angle_coarse": 15.0}
    c = Client()
    c.force_login(world["users"]["reviewer"])
    page = c.get(f"/review/annotations/{priv['annotation'].pk}/")
    assert page.status_code == 200
    raw = re.search(r'<script id="review-config" type="application/json">(.*?)</script>', page.content.decode(), re.S)
    steps = json.loads(raw.group(1))["steps"]
    assert steps["angle_coarse"] == 15.0 and steps["angle_fine"] == 1.0
