"""The labeling API: saving a pose (optimistic locking, revisions, 400 on bad
payloads, never 500), the pose a face starts from, and who may label."""

import json

import numpy as np
import pytest
from django.test import override_settings

from annotator.models import Annotation, AnnotationRevision, Assignment, Face, Role
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db

R1 = geometry.euler_to_matrix([12.5, -7.25, 4.0])


@pytest.fixture
def face(assigned):
    dataset = assigned(make_dataset("lab", n_faces=2))
    return Face.objects.filter(image__dataset=dataset).order_by("image__file_name").first()


def put(client, face, **payload):
    body = {"R": R1.reshape(-1).tolist(), "t": [1.5, -2.0, 640.0], "status": "corrected", "expected_version": 0}
    body.update(payload)
    return client.put(f"/api/label/faces/{face.pk}/annotation/", json.dumps(body), content_type="application/json")


def test_a_save_stores_exactly_the_pose_sent_and_a_revision(client, bob, face):
    client.force_login(bob)
    r = put(client, face, time_spent_s=3.5)
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 1
    a = Annotation.objects.get(face=face, author=bob)
    assert np.abs(a.R_matrix - R1).max() < 1e-12 and a.t == [1.5, -2.0, 640.0]
    assert a.status == "corrected" and a.total_time_s == 3.5
    r = put(client, face, expected_version=1, status="accepted")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert list(AnnotationRevision.objects.filter(annotation=a).values_list("version", flat=True)) == [1, 2]


def test_saving_over_a_newer_version_is_a_409_and_writes_nothing(client, bob, face):
    client.force_login(bob)
    assert put(client, face).status_code == 200
    assert put(client, face, expected_version=1).status_code == 200
    stale = put(client, face, expected_version=1, t=[0, 0, 900])
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2 and body["expected_version"] == 1 and body["code"] == "version_conflict"
    a = Annotation.objects.get(face=face, author=bob)
    assert a.version == 2 and a.t == [1.5, -2.0, 640.0]
    assert AnnotationRevision.objects.filter(annotation=a).count() == 2


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"R": [1, 0, 0, 0, 1, 0, 0, 0]}, "R"),
        ({"R": [2, 0, 0, 0, 1, 0, 0, 0, 1]}, "R"),
        ({"R": [1, 0, 0, 0, 1, 0, 0, 0, -1]}, "R"),
        ({"R": ["a"] * 9}, "R"),
        ({"R": None}, "R"),
        ({"t": [0, 0]}, "t"),
        ({"t": "far away"}, "t"),
        ({"status": "ground_truth"}, "status"),
        ({"status": "flagged"}, "flag_reason"),
        ({"status": "flagged", "flag_reason": "ugly"}, "flag_reason"),
        ({"expected_version": -1}, "expected_version"),
        ({"expected_version": "x"}, "expected_version"),
        ({"time_spent_s": -4}, "time_spent_s"),
        ({"time_spent_s": 1e9}, "time_spent_s"),
        ({"note": "x" * 5000}, "note"),
    ],
)
def test_bad_payloads_are_400_with_field_errors(client, bob, face, payload, field):
    client.force_login(bob)
    r = put(client, face, **payload)
    assert r.status_code == 400, r.content
    assert field in r.json(), r.json()
    assert not Annotation.objects.filter(face=face).exists()


def test_non_json_and_non_finite_bodies_are_400(client, bob, face):
    client.force_login(bob)
    url = f"/api/label/faces/{face.pk}/annotation/"
    assert client.put(url, "{not json", content_type="application/json").status_code == 400
    nan = '{"R": [1,0,0,0,1,0,0,0,1], "t": [NaN, 0, 1], "status": "draft", "expected_version": 0}'
    assert client.put(url, nan, content_type="application/json").status_code == 400
    assert client.put(url, "[]", content_type="application/json").status_code == 400


def test_a_proposal_of_another_face_is_refused(client, bob, face):
    other = Face.objects.exclude(pk=face.pk).first()
    p = add_proposal(other, "fused")
    client.force_login(bob)
    r = put(client, face, proposal_id=p.pk)
    assert r.status_code == 400 and "proposal" in r.json()["detail"]
    p_own = add_proposal(face, "fused")
    assert put(client, face, proposal_id=p_own.pk).status_code == 200
    assert Annotation.objects.get(face=face, author=bob).proposal_id == p_own.pk


def test_only_assigned_annotators_and_admins_may_label(client, django_user_model, alice, bob, face):
    from django.contrib.auth.models import Group

    stranger = django_user_model.objects.create_user("dave", password="x")
    stranger.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    client.force_login(stranger)
    assert put(client, face).status_code == 404  # cannot even see the dataset
    assert client.get(f"/api/label/faces/{face.pk}/").status_code == 404
    assert client.get(f"/label/faces/{face.pk}/").status_code == 404
    # A reviewer of the dataset sees it but may not label it.
    Assignment.objects.create(dataset=face.image.dataset, user=stranger, role=Role.REVIEWER)
    stranger.groups.add(Group.objects.get_or_create(name=Role.REVIEWER)[0])
    assert put(client, face).status_code == 403
    assert client.get(f"/label/faces/{face.pk}/").status_code == 403
    assert client.post(f"/label/datasets/{face.image.dataset.name}/next/").status_code == 403
    assert not Annotation.objects.exists()
    client.force_login(alice)
    assert put(client, face).status_code == 200
    client.force_login(bob)
    assert put(client, face).status_code == 200  # each author has their own label


def test_anonymous_users_get_nothing(client, face):
    assert put(client, face).status_code in (302, 401, 403)
    assert not Annotation.objects.exists()
    assert client.get(f"/label/images/{face.image_id}/file").status_code == 302


def state(client, face):
    r = client.get(f"/api/label/faces/{face.pk}/")
    assert r.status_code == 200, r.content
    return r.json()


def test_start_pose_prefers_fused_then_the_newest_proposal(client, bob, face):
    client.force_login(bob)
    add_proposal(face, "landmark_fit", euler=(1, 2, 3))
    fused = add_proposal(face, "fused", euler=(20, 0, 0))
    add_proposal(face, "other", euler=(30, 0, 0))  # newest, but fused is preferred
    s = state(client, face)
    assert s["initial"]["origin"]["proposer"] == "fused" and s["initial"]["origin"]["proposal_id"] == fused.pk
    assert np.allclose(np.reshape(s["initial"]["R"], (3, 3)), geometry.euler_to_matrix([20, 0, 0]))
    with override_settings(HEADPOSE_PROPOSER="landmark_fit"):
        assert state(client, face)["initial"]["origin"]["proposer"] == "landmark_fit"
    with override_settings(HEADPOSE_PROPOSER="missing"):
        assert state(client, face)["initial"]["origin"]["proposer"] == "other"  # the newest


def test_the_proposer_that_runs_and_the_proposal_shown_follow_one_decision(settings, tmp_path):
    from annotator.proposals.selectors import preferred_proposers
    from annotator.proposals.services import preferred_proposer_name
    from workers.core.proposers import DEFAULT_PROPOSER

    settings.HEADPOSE_PROPOSER = "landmark_fit"
    assert preferred_proposers() == ["landmark_fit"] and preferred_proposer_name() == "landmark_fit"
    settings.HEADPOSE_PROPOSER, settings.HEADPOSE_WEIGHTS_DIR = "auto", str(tmp_path)  # no weights here
    assert preferred_proposers() == ["fused"] and preferred_proposer_name() == DEFAULT_PROPOSER


def test_start_pose_is_the_annotators_own_latest_label(client, bob, face):
    add_proposal(face, "fused")
    client.force_login(bob)
    put(client, face, status="draft")
    s = state(client, face)
    assert s["initial"]["origin"] == {"kind": "annotation", "version": 1, "status": "draft"}
    assert np.allclose(np.reshape(s["initial"]["R"], (3, 3)), R1)
    assert s["reference"]["origin"]["proposer"] == "fused"  # reset still goes to the proposal
    assert s["annotation"]["version"] == 1


def test_without_proposals_the_default_pose_sits_on_the_face_box(client, bob, face):
    client.force_login(bob)
    s = state(client, face)
    assert s["initial"]["origin"]["kind"] == "default"
    assert np.allclose(np.reshape(s["initial"]["R"], (3, 3)), np.eye(3))
    K = np.reshape(s["image"]["K"], (3, 3))
    t = np.array(s["initial"]["t"])
    x0, y0, x1, y1 = s["face"]["box"]
    u, v = geometry.project_points(t[None], K)[0]
    assert abs(u - (x0 + x1) / 2) < 1e-6 and abs(v - (y0 + y1) / 2) < 1e-6
    # a 150 mm wide face at that depth is as wide as the box
    assert abs(K[0, 0] * 150 / t[2] - (x1 - x0)) < 1e-6


def test_a_close_up_crop_starts_where_its_head_fits_the_pose_rules(client, bob, face):
    """Issue 24: a face box wider than 75% of the image (the default camera puts
    a frontal head under 200 mm) starts at the box's own depth when the whole
    head is in front there; a rotation that reaches the camera is pushed back
    along the box centre's ray only as far as it needs."""
    from workers.core.pose_rules import MIN_CLEARANCE_MM, nearest_head_z

    client.force_login(bob)
    image = face.image
    face.box = [0.0, 0.0, float(image.width), float(image.height)]  # the face fills the image
    face.save(update_fields=["box"])
    K = geometry.default_intrinsics(image.width, image.height) if not image.K else image.K_matrix
    box_depth = K[0, 0] * 150 / image.width
    assert box_depth < 200
    s = state(client, face)
    assert s["initial"]["origin"]["kind"] == "default" and s["initial"]["t"][2] == pytest.approx(box_depth)
    assert put(client, face, R=np.eye(3).reshape(-1).tolist(), t=s["initial"]["t"]).status_code == 200
    turned = add_proposal(face, "fused", euler=(0, 0, 0))
    turned.R = geometry.axis_angle_to_matrix([0.0, np.pi, 0.0]).reshape(-1).tolist()  # the back of the head
    turned.t = None
    turned.save()
    reference = state(client, face)["reference"]
    R, t = np.reshape(reference["R"], (3, 3)), np.array(reference["t"])
    assert nearest_head_z(R, t) == pytest.approx(MIN_CLEARANCE_MM + 1)  # pushed back just enough, 1 mm to spare
    np.testing.assert_allclose(geometry.project_points(t[None], K), [[image.width / 2, image.height / 2]])
