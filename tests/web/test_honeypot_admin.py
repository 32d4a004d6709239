"""The admin's Faces action marks honeypots: faces with ground truth become
honeypots, a face without a trusted label is refused with a message and
nothing of that dataset is marked."""

import numpy as np
import pytest
from django.urls import reverse

from annotator.labeling.services import set_ground_truth
from annotator.models import Face, Honeypot
from tests.browser.data import make_dataset

pytestmark = pytest.mark.django_db


def test_admin_action_marks_and_unmarks_honeypots(admin_client):
    dataset = make_dataset("hp", n_faces=3)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    for face in faces[:2]:
        set_ground_truth(face=face, R=np.eye(3), t=[0, 0, 600])
    url = reverse("admin:annotator_face_changelist")
    r = admin_client.post(url, {"action": "mark_honeypots", "_selected_action": [f.pk for f in faces]}, follow=True)
    assert b"no trusted label" in r.content and Honeypot.objects.count() == 0
    r = admin_client.post(url, {"action": "mark_honeypots", "_selected_action": [f.pk for f in faces[:2]]}, follow=True)
    assert b"2 honeypot(s)" in r.content
    assert sorted(Honeypot.objects.values_list("face_id", flat=True)) == [faces[0].pk, faces[1].pk]
    assert {h.trusted for h in Honeypot.objects.all()} == {"ground_truth"}
    admin_client.post(url, {"action": "unmark_honeypots", "_selected_action": [faces[0].pk]}, follow=True)
    assert list(Honeypot.objects.values_list("face_id", flat=True)) == [faces[1].pk]
