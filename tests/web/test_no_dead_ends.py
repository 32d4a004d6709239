"""Issue 26 items 7 and 8 (the queue half): the remaining counts name only faces
the annotator will be given; an empty queue offers what is next; frames of a
sequence stay out of the image queue unless the dataset asks for them."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from annotator.labeling.queue import labeling_progress, next_face
from annotator.models import Annotation, Dataset, Face, Role
from annotator.review.services import review_annotation
from tests.browser.data import make_dataset
from tests.sequence_data import make_sequence_dataset
from tests.web.test_honeypot_queue import finish, make_honeypots, serve_all
from tests.web.test_labeling_queue import erin  # noqa: F401  (a second annotator)

pytestmark = pytest.mark.django_db


def test_remaining_counts_only_faces_the_queue_will_hand_out(bob, erin, alice, assigned):  # noqa: F811
    """Six faces: two honeypots (each answered once, whatever the overlap), one
    face erin finished and one she holds (overlap 1: full), two open. Bob is told 4,
    and the queue then hands him exactly those 4."""
    ds = assigned(assigned(make_dataset(n_faces=6)), user=erin)
    # no honeypot slot drawn while ordinary faces are left (the draw depends on the ids): erin's
    # two faces are ordinary ones, and the honeypots come once those are gone
    Dataset.objects.filter(pk=ds.pk).update(honeypot_share=0)
    ds.refresh_from_db()
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    make_honeypots(ds, faces[:2])
    finish(erin, next_face(erin, ds))
    held = next_face(erin, ds)
    assert held is not None
    progress = labeling_progress(bob, ds)
    assert progress == {"done": 0, "remaining": 4, "total": 4}
    served = serve_all(bob, ds)
    assert len(served) == 4 and held not in served
    assert labeling_progress(bob, ds) == {"done": 4, "remaining": 0, "total": 4}
    # with overlap 2 the face erin finished and the one she holds are open to bob again
    Dataset.objects.filter(pk=ds.pk).update(overlap=2)
    ds.refresh_from_db()
    assert labeling_progress(bob, ds)["remaining"] == 2 == len(serve_all(bob, ds))
    # a label a reviewer sends back is in his queue again: counted once
    label = Annotation.objects.get(face=served[-1], author=bob)
    review_annotation(annotation=label, reviewer=alice, decision="rejected", reason="rotation", expected_version=None)
    assert labeling_progress(bob, ds)["remaining"] == 1 and next_face(bob, ds) == served[-1]


def test_frames_are_labeled_through_their_sequence_unless_the_dataset_queues_them(bob, assigned, client, alice):
    ds, _sequence, _truth = make_sequence_dataset(n_frames=4)
    photo = make_dataset("photos", n_faces=1)
    photo.images.update(dataset=ds)  # one dataset of photos and frames
    assigned(ds)
    n_frames = Face.objects.filter(image__dataset=ds, image__sequence__isnull=False).count()
    assert n_frames == 4
    assert labeling_progress(bob, ds)["remaining"] == 1
    served = serve_all(bob, ds)
    assert [f.image.sequence_id for f in served] == [None]
    # the setting, through the API (admins): the frames join the queue
    client.force_login(alice)
    r = client.patch(
        reverse("api-dataset", args=[ds.pk]), {"queue_sequence_frames": True}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["queue_sequence_frames"] is True, r.content
    ds.refresh_from_db()
    assert labeling_progress(bob, ds)["remaining"] == 4 == len(serve_all(bob, ds))
    # an annotator sees the setting and may not change it
    client.force_login(bob)
    assert client.get(reverse("api-dataset", args=[ds.pk])).json()["queue_sequence_frames"] is True
    r = client.patch(
        reverse("api-dataset", args=[ds.pk]), {"queue_sequence_frames": False}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    # and the admin's form has it
    client.force_login(alice)
    form = client.get(reverse("admin:annotator_dataset_change", args=[ds.pk])).content.decode()
    assert 'name="queue_sequence_frames"' in form


def test_an_empty_queue_offers_what_is_next(bob, erin, client, django_user_model, assigned):  # noqa: F811
    """Bob finished `done`; `more` still has 2 faces for him; he reviews `rev`
    where erin's label awaits him; `full` is another's (nothing for bob there)."""
    done, more, rev = make_dataset("done", n_faces=1), make_dataset("more", n_faces=2), make_dataset("rev", n_faces=1)
    assigned(done)
    assigned(more)
    assigned(rev, user=erin)
    assigned(rev, role=Role.REVIEWER)
    finish(bob, next_face(bob, done))
    finish(erin, next_face(erin, rev))
    client.force_login(bob)
    page = client.get(reverse("label-dataset", args=["done"])).content.decode()
    assert 'id="queue-empty"' in page and "Your queue in done is empty" in page
    steps = page[page.index('id="next-steps"') :]
    assert 'data-next="label" data-dataset="more"' in steps and "<b>2</b> faces waiting for you" in steps
    assert f'action="{reverse("label-next", args=["more"])}"' in steps
    assert 'data-next="review" data-dataset="rev"' in steps and "<b>1</b> label awaiting your review" in steps
    assert f'action="{reverse("review-next", args=["rev"])}"' in steps  # straight into the first label
    assert 'data-next="leaderboard"' not in steps  # an annotator may not use it
    # the review button goes straight to the label, no page in between
    r = client.post(reverse("review-next", args=["rev"]))
    assert r.status_code == 302 and r["Location"].startswith("/review/annotations/")
    # a researcher who annotates: the leaderboard is offered
    carol = django_user_model.objects.create_user("carol2")
    carol.groups.add(Group.objects.get_or_create(name=Role.RESEARCHER)[0])
    assigned(done, user=carol)  # nothing for her there: bob's label fills the overlap
    client.force_login(carol)
    page = client.get(reverse("label-dataset", args=["done"])).content.decode()
    assert 'data-next="leaderboard"' in page and 'id="queue-empty"' in page


def test_dataset_pages_start_work_and_error_pages_keep_the_navigation(bob, erin, client, assigned):  # noqa: F811
    ds = assigned(assigned(make_dataset("lab", n_faces=2)), user=erin, role=Role.REVIEWER)
    face = Face.objects.filter(image__dataset=ds).first()
    client.force_login(bob)
    page = client.get(reverse("dataset_detail", args=["lab"])).content.decode()
    assert f'action="{reverse("label-next", args=["lab"])}"' in page and "Start reviewing" not in page
    assert f'href="{reverse("label-face", args=[face.pk])}"' in page  # a face card opens the editor
    client.force_login(erin)
    page = client.get(reverse("dataset_detail", args=["lab"])).content.decode()
    assert f'action="{reverse("review-next", args=["lab"])}"' in page and "Start labeling" not in page
    assert f'href="{reverse("face_detail", args=[face.pk])}"' in page  # a reviewer gets the face page
    home = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("review-next", args=["lab"])}"' in home and "Start labeling" not in home
    # 403: the layout, its navigation, the reason and what to do
    denied = client.get(reverse("label-dataset", args=["lab"]))
    body = denied.content.decode()
    assert denied.status_code == 403 and 'class="topbar"' in body and "<nav>" in body
    assert "You are not an annotator of dataset lab." in body and "ask an admin" in body
    missing = client.get("/datasets/no-such-dataset/")
    assert (
        missing.status_code == 404
        and "<nav>" in missing.content.decode()
        and 'data-status="404"' in (missing.content.decode())
    )
    assert client.get("/api/v1/no-such-thing/").json()["code"] == "not_found"
