"""The next-face API answers without running its nested response serializer (issue 27: it
copied ~90 fields a request); the answer must still be exactly NextFaceResultSerializer's
shape: every key it documents and no other, every value as it would render it. Checked
on the states that differ in shape: a face with proposals (one with landmarks) and no label,
a face the annotator labeled that a reviewer rejected (it comes back first, with the
verdict), and the empty queue (no state)."""

import json

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotator.labeling.api import NextFaceResultSerializer
from annotator.labeling.queue import LabelInput, save_label
from annotator.models import Assignment, Face, Proposal, Role
from annotator.review.services import review_annotation
from tests.api.conftest import user
from tests.browser.data import add_proposal, make_dataset

pytestmark = pytest.mark.django_db


def as_documented(body: dict) -> dict:
    return json.loads(json.dumps(NextFaceResultSerializer(body).data))


def test_the_next_face_answer_is_exactly_its_documented_shape(django_user_model):
    ds = make_dataset("shape", n_faces=2)
    ann = user(django_user_model, "shape-ann", "annotator")
    rev = user(django_user_model, "shape-rev", "reviewer")
    Assignment.objects.create(dataset=ds, user=ann, role=Role.ANNOTATOR)
    Assignment.objects.create(dataset=ds, user=rev, role=Role.REVIEWER)
    first, second = Face.objects.filter(image__dataset=ds).order_by("pk")
    for face in (first, second):
        add_proposal(face, "fsanet")
        Proposal.objects.filter(pk=add_proposal(face, "landmarks-fit").pk).update(
            landmarks_2d=[[float(i), float(i) / 2] for i in range(68)], landmark_scheme="ibug68", confidence=0.4
        )
    client = APIClient()
    client.force_login(ann)
    url = f"/api/label/datasets/{ds.pk}/next/"

    fresh = client.post(url, {"with_state": True}, format="json").json()
    assert fresh["state"]["proposals"] and fresh["state"]["annotation"] is None
    assert fresh == as_documented(fresh)

    face = Face.objects.get(pk=fresh["face_id"])
    label = save_label(
        ann, face, LabelInput(R=np.eye(3).tolist(), t=[0, 0, 650], status="accepted", expected_version=0)
    )
    review_annotation(annotation=label, reviewer=rev, decision="rejected", reason="rotation", expected_version=1)
    rejected = client.post(url, {"with_state": True}, format="json").json()
    assert rejected["face_id"] == face.pk and rejected["state"]["annotation"]["review_state"] == "rejected"
    assert rejected == as_documented(rejected)

    without_state = client.post(url, {}, format="json").json()
    assert without_state["state"] is None and without_state == as_documented(without_state)

    other = Face.objects.exclude(pk=face.pk).get(image__dataset=ds)
    save_label(ann, face, LabelInput(R=np.eye(3).tolist(), t=[0, 0, 651], status="accepted", expected_version=2))
    save_label(ann, other, LabelInput(R=np.eye(3).tolist(), t=[0, 0, 600], status="accepted", expected_version=0))
    empty = client.post(url, {"with_state": True}, format="json").json()
    assert empty["face_id"] is None and empty["state"] is None
    assert empty == as_documented(empty)
