"""Handing out faces: order, claims that keep two annotators apart (unless the
dataset asks for overlap), expiry, progress, and the HTML flow."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from annotator.labeling.queue import LabelInput, labeling_progress, next_face, release_claims, save_label
from annotator.models import FaceClaim
from tests.browser.data import make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("erin", password="x")
    user.groups.add(Group.objects.get_or_create(name="annotator")[0])
    return user


def finish(user, face, status="accepted"):
    return save_label(
        user, face, LabelInput(R=geometry.euler_to_matrix([1, 2, 3]), t=[0, 0, 600], status=status, expected_version=0)
    )


def test_a_reload_keeps_ones_place_and_each_face_comes_once(bob, assigned):
    ds = assigned(make_dataset(n_faces=3))
    first = next_face(bob, ds)
    assert next_face(bob, ds) == first  # the live claim comes back
    finish(bob, first)
    assert not FaceClaim.objects.filter(face=first, annotator=bob).exists()  # released once finished
    second = next_face(bob, ds)
    assert second not in (None, first)
    assert labeling_progress(bob, ds) == {"done": 1, "remaining": 2, "total": 3}


def test_each_annotator_has_their_own_stable_shuffle(bob, erin, django_user_model, assigned):
    """Not file-name order (that would tell a honeypot, drawn at random, apart),
    the same on every reload, and different from one annotator to the next: each
    walks the dataset's secret shuffle from their own start."""
    from annotator.models import Face

    ds = make_dataset(n_faces=12, overlap=2)
    assigned(assigned(ds), user=erin)
    by_name = list(Face.objects.filter(image__dataset=ds).order_by("image__file_name").values_list("pk", flat=True))

    def order(user):
        served = []
        while (face := next_face(user, ds, exclude=served)) is not None:
            served.append(face.pk)
        release_claims(user, ds, served)  # what the page does when it closes
        return served

    bobs = order(bob)
    assert sorted(bobs) == sorted(by_name) and bobs != by_name
    assert order(bob) == bobs  # a reload: the same order
    # each starts at their own place in the shuffle: two whose secret start keys fall between
    # the same two faces share an order (1 in 12 here, depending on ids), six all alike never
    others = [django_user_model.objects.create_user(f"walker{k}") for k in range(4)]
    for user in others:
        assigned(ds, user=user)
    orders = [bobs, order(erin), *(order(u) for u in others)]
    assert all(sorted(o) == sorted(by_name) for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_two_annotators_never_get_the_same_face_without_overlap(bob, erin, assigned):
    ds = assigned(assigned(make_dataset(n_faces=2)), user=erin)
    a, b = next_face(bob, ds), next_face(erin, ds)
    assert a != b
    assert next_face(bob, ds) == a
    finish(bob, a)
    finish(erin, b)
    # every face has its one label: nothing left for either
    assert next_face(bob, ds) is None and next_face(erin, ds) is None


def test_overlap_two_hands_each_face_to_two_annotators(bob, erin, django_user_model, assigned):
    frank = django_user_model.objects.create_user("frank", password="x")
    ds = assigned(assigned(assigned(make_dataset(n_faces=2, overlap=2)), user=erin), user=frank)
    a, b = next_face(bob, ds), next_face(erin, ds)
    assert a == b
    assert next_face(frank, ds) != a  # a third person would exceed the overlap


def test_an_expired_claim_frees_the_face(bob, erin, assigned):
    ds = assigned(assigned(make_dataset(n_faces=1)), user=erin)
    face = next_face(bob, ds)
    assert next_face(erin, ds) is None
    FaceClaim.objects.filter(face=face, annotator=bob).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert next_face(erin, ds) == face


def test_a_draft_is_not_done_and_a_skip_is(bob, assigned):
    ds = assigned(make_dataset(n_faces=2))
    face = next_face(bob, ds)
    finish(bob, face, status="draft")
    assert labeling_progress(bob, ds)["done"] == 0
    assert next_face(bob, ds) == face
    save_label(
        bob, face, LabelInput(R=geometry.euler_to_matrix([0, 0, 0]), t=None, status="skipped", expected_version=1)
    )
    assert labeling_progress(bob, ds)["done"] == 1
    assert next_face(bob, ds) != face


def test_the_html_flow_from_home_to_the_page_and_the_end(client, bob, assigned):
    ds = assigned(make_dataset(n_faces=1))
    client.force_login(bob)
    home = client.get("/").content.decode()
    assert f'action="/label/datasets/{ds.name}/next/"' in home and "Start labeling" in home
    r = client.post(f"/label/datasets/{ds.name}/next/")
    assert r.status_code == 302 and r["Location"].startswith("/label/faces/")
    page = client.get(r["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="pose-canvas"' in body and 'type="importmap"' in body
    assert "vendor/three/build/three.module.js" in body
    assert "https://" not in body and "http://" not in body.replace("http://www.w3.org", "")  # nothing from a CDN
    config = json.loads(body.split('id="editor-config" type="application/json">')[1].split("</script>")[0])
    assert config["state"]["progress"] == {"done": 0, "remaining": 1, "total": 1}
    assert config["steps"]["angle_fine"] > 0
    # how near and far the wheel moves the head (static/js/editor/controls.js clampDepth)
    assert config["depth_limits"] == {"safe_depth_mm": 204.0, "max_depth_mm": float(settings.HEADPOSE_MAX_DEPTH_MM)}
    finish(bob, ds.images.first().faces.first())
    r = client.post(f"/label/datasets/{ds.name}/next/", follow=True)
    assert r.redirect_chain[-1][0] == f"/label/datasets/{ds.name}/"
    assert "Nothing left to label" in r.content.decode()


def test_pages_name_datasets_and_the_id_urls_of_before_redirect_for_good(client, alice, django_user_model):
    ds = make_dataset(n_faces=1)
    client.force_login(alice)  # labels and reviews every dataset
    for page in ("label", "review"):
        r = client.get(f"/{page}/datasets/{ds.pk}/")
        assert (r.status_code, r["Location"]) == (301, f"/{page}/datasets/{ds.name}/"), page
        assert client.get(r["Location"]).status_code == 200
        r = client.post(f"/{page}/datasets/{ds.pk}/next/")  # 308: the POST goes on as a POST
        assert (r.status_code, r["Location"]) == (308, f"/{page}/datasets/{ds.name}/next/"), page
    # the same gate before the redirect: no dataset name leaks to who may not label it
    client.force_login(django_user_model.objects.create_user("mallory"))
    assert client.get(f"/label/datasets/{ds.pk}/").status_code == 404
    assert client.get(f"/label/datasets/{ds.name}/").status_code == 404


def test_the_api_next_endpoint(client, bob, assigned):
    ds = assigned(make_dataset(n_faces=2))
    client.force_login(bob)
    r = client.post(f"/api/label/datasets/{ds.pk}/next/", {}, content_type="application/json")
    assert r.status_code == 200
    body = r.json()
    assert body["url"] == f"/label/faces/{body['face_id']}/" and body["progress"]["remaining"] == 2
    r = client.post(
        f"/api/label/datasets/{ds.pk}/next/", {"skip_face_id": body["face_id"]}, content_type="application/json"
    )
    assert r.json()["face_id"] != body["face_id"]
    assert client.get(f"/api/label/datasets/{ds.pk}/next/").status_code == 405


def test_images_are_served_only_to_those_who_see_the_dataset(client, bob, django_user_model, assigned):
    ds = assigned(make_dataset(n_faces=1, with_files=True))
    image = ds.images.first()
    client.force_login(bob)
    r = client.get(f"/label/images/{image.pk}/file")
    assert r.status_code == 200 and b"".join(r.streaming_content)[:4] == b"\x89PNG"
    client.force_login(django_user_model.objects.create_user("zed", password="x"))
    assert client.get(f"/label/images/{image.pk}/file").status_code == 404
