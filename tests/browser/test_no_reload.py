"""The annotator's hour (issue 26 items 1, 2): the labeling page stays loaded
from face to face. In Chromium an annotator labels 22 faces with the keyboard
alone (the document never reloads; the next face shows at once, the save of the
one before going on behind it: one of them cut on the way is retried, its state
in view, and lands), Back and Forward show the faces before and
after, a reload the same face, and the faces fetched ahead are given back when
the page closes. On the real database (no browser): a face fetched ahead and
given back is claimable by another annotator at once, and two annotators asking
at the same time never get the same face."""

import functools
import threading

import pytest
from django.db import transaction
from django.test import Client

from annotator.labeling.queue import LabelInput, next_face, save_label
from annotator.models import Annotation, Face, FaceClaim, Honeypot
from tests.browser.conftest import in_viewport, login, open_editor
from tests.browser.data import add_proposal, make_dataset, make_image
from tests.web.conftest import _user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N_LABELED = 22


@pytest.fixture
def dave(django_user_model):
    """A second annotator."""
    return _user(django_user_model, "dave", "annotator")


def shown_face(page) -> dict:
    return page.evaluate("() => window.headposeEditor.face()")


def wait_shown(page, face_id: int) -> dict:
    page.wait_for_function(
        "(id) => { const f = window.headposeEditor.face(); return f.id === id && f.shownAt !== null; }", arg=face_id
    )
    return shown_face(page)


def test_an_annotator_labels_faces_by_keyboard_without_a_reload(page, live_server, bob, assigned, js_errors, shots_dir):
    dataset = assigned(make_dataset("hour", n_faces=N_LABELED + 1, with_files=True))
    # other image sizes: the same scene draws each at its own size and K
    for i, (w, h) in enumerate([(400, 300), (240, 320)]):
        Face.objects.create(
            image=make_image(dataset, f"big{i}.png", w, h, with_file=True, seed=50 + i), box=[60, 60, 200, 220]
        )
    for n, face in enumerate(Face.objects.filter(image__dataset=dataset).order_by("pk")):
        if n % 3:  # the others start from the frontal default: the proposal list hides
            add_proposal(face, "fused", euler=(n - 10.0, -5.0, 2.0), t=(0.0, 0.0, 700.0 + 5 * n))
    total = Face.objects.filter(image__dataset=dataset).count()
    first = next_face(bob, dataset)
    login(page, live_server, bob)
    open_editor(page, live_server, first)
    page.evaluate("() => { window.__sameDocument = 'kept'; }")
    shown = [wait_shown(page, first.pk)]
    page.locator("#pose-canvas").focus()
    shots: set[str] = set()
    for n in range(N_LABELED):
        if n == 3:  # this face's save is cut on the way: the next face shows at once, the save is retried behind it
            cut, cuts = shown[-1]["id"], []
            page.route(f"**/api/label/faces/{cut}/annotation/", functools.partial(_cut_once, cuts=cuts))
        page.keyboard.press("a")  # accept and go to the next face
        page.wait_for_function(
            "(id) => { const f = window.headposeEditor.face(); return f.id !== id && f.shownAt !== null; }",
            arg=shown[-1]["id"],
        )
        shown.append(shown_face(page))
        face_id = shown[-1]["id"]
        if n == 3:
            line = page.locator(f"#saves-behind [data-face-id='{cut}']")
            line.wait_for()  # in view while the save is on its way: saving…, then retrying in 1 s, then saved
            assert not Annotation.objects.filter(face_id=cut, author=bob).exists()
            page.wait_for_function(
                "(id) => document.querySelector(`#saves-behind [data-face-id='${id}']`)?.dataset.kind === 'retry'",
                arg=cut,
            )
            assert "retrying in" in line.inner_text() and in_viewport(page, "#saves-behind")
            page.screenshot(path=str(shots_dir / "no_reload_save_behind_retrying.png"))
            line.wait_for(state="detached", timeout=15000)  # stored, then its line goes
            assert Annotation.objects.get(face_id=cut, author=bob).status == "accepted" and len(cuts) == 2
            page.unroute(f"**/api/label/faces/{cut}/annotation/")
        # the counts move once the save of the face before is stored
        page.wait_for_function("(s) => document.getElementById('progress').innerText.includes(s)", arg=f"{n + 1} done")
        assert page.url.endswith(f"/label/faces/{face_id}/")
        state = page.evaluate("() => window.headposeEditor.config.state")
        assert state["face"]["id"] == face_id
        # the canvas and stage follow the image; the head is drawn where this face's pose puts it
        size = page.evaluate("() => { const c = document.getElementById('pose-canvas'); return [c.width, c.height]; }")
        assert size == [state["image"]["width"], state["image"]["height"]]
        assert page.get_attribute("#face-image", "src") == state["links"]["image"]
        assert page.evaluate("() => window.headposeEditor.getPose()")["t"] == state["initial"]["t"]
        assert page.is_hidden("#proposal-block") == (not state["proposals"])
        kind = f"{size[0]}x{size[1]}" + ("_proposal" if state["proposals"] else "_default")
        if kind not in shots:  # one of each: the head must sit on the new face's image
            shots.add(kind)
            page.screenshot(path=str(shots_dir / f"no_reload_{kind}.png"))
    assert page.evaluate("() => window.__sameDocument") == "kept"  # never reloaded
    ids = [s["id"] for s in shown]
    assert len(set(ids)) == len(ids) == N_LABELED + 1
    accepted = Annotation.objects.filter(author=bob, status="accepted")
    assert sorted(accepted.values_list("face_id", flat=True)) == sorted(ids[:-1])
    assert f"{N_LABELED} done" in page.inner_text("#progress")
    assert f"{total - N_LABELED} remaining" in page.inner_text("#progress")

    # Back: the face before (its label as saved), Forward: the face after; a reload: the same face
    page.go_back()
    wait_shown(page, ids[-2])
    assert page.url.endswith(f"/label/faces/{ids[-2]}/")
    assert "your label v1 (accepted)" in page.inner_text("#origin-line")
    page.screenshot(path=str(shots_dir / "no_reload_back.png"))
    page.go_forward()
    wait_shown(page, ids[-1])
    assert page.evaluate("() => window.__sameDocument") == "kept"
    page.reload()
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    wait_shown(page, ids[-1])

    # faces fetched ahead are claimed; leaving the page gives them back (a beacon), the shown one stays claimed
    page.wait_for_function("(n) => window.headposeEditor.prefetched().length === n", arg=2)
    ahead = page.evaluate("() => window.headposeEditor.prefetched()")
    claimed = set(FaceClaim.objects.filter(annotator=bob).values_list("face_id", flat=True))
    assert {ids[-1], *ahead} <= claimed
    page.goto(f"{live_server.url}/label/datasets/{dataset.name}/")
    for _ in range(100):
        if not FaceClaim.objects.filter(annotator=bob, face_id__in=ahead).exists():
            break
        page.wait_for_timeout(50)
    assert not FaceClaim.objects.filter(annotator=bob, face_id__in=ahead).exists()
    assert FaceClaim.objects.filter(annotator=bob, face_id=ids[-1]).exists()

    # the last faces, then the empty queue: the dataset's page
    open_editor(page, live_server, Face.objects.get(pk=ids[-1]))
    page.locator("#pose-canvas").focus()
    for _ in range(total - N_LABELED - 1):
        previous = wait_shown(page, shown_face(page)["id"])["id"]
        page.keyboard.press("a")
        page.wait_for_function("(id) => window.headposeEditor.face().id !== id", arg=previous)
    page.keyboard.press("a")
    page.wait_for_url(f"**/label/datasets/{dataset.name}/")
    assert Annotation.objects.filter(author=bob, status="accepted").count() == total
    assert [e for e in js_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def _cut_once(route, *, cuts: list) -> None:
    """The first try of a save fails on the way (as offline); the next goes through."""
    cuts.append(route.request.method)
    if len(cuts) == 1:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def _next(client: Client, dataset, exclude=()) -> int | None:
    r = client.post(
        f"/api/label/datasets/{dataset.pk}/next/",
        {"exclude": list(exclude), "with_state": True},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["state"] or {}).get("face", {}).get("id") == body["face_id"]
    return body["face_id"]


def test_a_face_fetched_ahead_and_given_back_is_claimable_by_another_annotator(bob, dave, assigned):
    dataset = assigned(assigned(make_dataset("ahead", n_faces=2)), dave)
    bobs, daves = Client(enforce_csrf_checks=True), Client()
    bobs.force_login(bob)
    daves.force_login(dave)
    bobs.get("/")  # the CSRF cookie
    shown = next_face(bob, dataset).pk
    token = bobs.cookies["csrftoken"].value
    r = bobs.post(
        f"/api/label/datasets/{dataset.pk}/next/",
        {"exclude": [shown], "with_state": True},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    ahead = r.json()["face_id"]
    assert ahead not in (None, shown)
    assert _next(daves, dataset) is None  # both faces are bob's: one shown, one fetched ahead
    # the page closes: navigator.sendBeacon posts a form with the token in it
    r = bobs.post(f"/api/label/datasets/{dataset.pk}/release/", {"face_ids": [ahead], "csrfmiddlewaretoken": token})
    assert r.status_code == 200 and r.json() == {"released": 1}, r.content
    assert _next(daves, dataset) == ahead
    assert FaceClaim.objects.filter(annotator=bob, face_id=shown).exists()  # the shown face stays bob's


def test_fetching_ahead_hands_out_the_faces_in_the_same_order_honeypots_included(bob, assigned):
    """The page holds the shown face and one ahead (`exclude`): the faces come in
    the order (and with the honeypot slots) of one face at a time."""
    dataset = assigned(make_dataset("order", n_faces=12))
    dataset.honeypot_share = 0.25
    dataset.save()
    for face in Face.objects.filter(image__dataset=dataset).order_by("pk")[:3]:
        Honeypot.objects.create(face=face, dataset=dataset, R=[1, 0, 0, 0, 1, 0, 0, 0, 1], t=[0, 0, 600])

    def finish(face):
        save_label(
            bob, face, LabelInput(R=[1, 0, 0, 0, 1, 0, 0, 0, 1], t=[0, 0, 700], status="skipped", expected_version=0)
        )

    with transaction.atomic():  # one at a time, then rolled back
        one_at_a_time = []
        while (face := next_face(bob, dataset)) is not None:
            one_at_a_time.append(face.pk)
            finish(face)
        transaction.set_rollback(True)
    ahead_of_time = [next_face(bob, dataset).pk]
    while True:
        ahead = next_face(bob, dataset, exclude=[ahead_of_time[-1]])  # fetched while the shown one is worked on
        finish(Face.objects.get(pk=ahead_of_time[-1]))
        if ahead is None:
            break
        ahead_of_time.append(ahead.pk)
    assert len(one_at_a_time) == 12
    assert ahead_of_time == one_at_a_time


def test_two_annotators_at_once_never_get_the_same_face(bob, dave, assigned):
    dataset = assigned(assigned(make_dataset("pair", n_faces=12)), dave)
    handed: dict[str, list[int]] = {"bob": [], "dave": []}
    start = threading.Barrier(2)
    errors = []

    def annotate(user):
        client = Client()
        client.force_login(user)
        held: list[int] = []
        try:
            start.wait()
            while True:
                # the page's rhythm: fetch one ahead, finish the shown one, show the one ahead
                face_id = _next(client, dataset, exclude=held)
                if face_id is None and not held:
                    return
                if face_id is not None:
                    handed[user.username].append(face_id)
                    held.append(face_id)
                if len(held) == 2 or face_id is None:
                    done = held.pop(0)
                    save_label(
                        user,
                        Face.objects.get(pk=done),
                        LabelInput(R=[1, 0, 0, 0, 1, 0, 0, 0, 1], t=[0, 0, 700], status="accepted", expected_version=0),
                    )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=annotate, args=(u,)) for u in (bob, dave)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert not set(handed["bob"]) & set(handed["dave"])
    assert sorted(handed["bob"] + handed["dave"]) == sorted(
        Face.objects.filter(image__dataset=dataset).values_list("pk", flat=True)
    )
