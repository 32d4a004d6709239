"""The review page in real headless Chromium: the label drawn by the labeling
page's renderer with the other label and the proposal as ghosts, then approve
(A), reject (R, a reason, a note: the annotator finds it at the top of their
queue with the note) and correct (C, nudges, S: a revision by the reviewer)."""

import numpy as np
import pytest

from annotator.labeling.services import save_annotation
from annotator.models import Annotation, Assignment, Face, Role
from tests.browser.conftest import decode_data_url, in_viewport, login
from tests.browser.data import add_proposal, make_dataset
from tests.web.conftest import _user
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def save(face, author, yaw, time_spent_s=12.0):
    return save_annotation(
        face=face,
        author=author,
        R=geometry.euler_to_matrix([yaw, -5.0, 3.0]),
        t=[4.0, -6.0, 760.0],
        status="corrected",
        expected_version=0,
        time_spent_s=time_spent_s,
    )


@pytest.fixture
def world(bob, django_user_model):
    dave = _user(django_user_model, "dave", Role.REVIEWER)
    erin = _user(django_user_model, "erin", Role.ANNOTATOR)
    ds = make_dataset("rev", n_faces=2, with_files=True, width=400, height=300)
    for user, role in ((bob, Role.ANNOTATOR), (erin, Role.ANNOTATOR), (dave, Role.REVIEWER)):
        Assignment.objects.create(dataset=ds, user=user, role=role)
    faces = list(Face.objects.filter(image__dataset=ds).order_by("image__file_name"))
    for f in faces:
        add_proposal(f, "fused", euler=(2.0, -4.0, 1.0), t=(4.0, -6.0, 760.0))
    labels = {"bob0": save(faces[0], bob, 20.0), "bob1": save(faces[1], bob, -15.0), "erin0": save(faces[0], erin, 0.0)}
    return {"dataset": ds, "faces": faces, "labels": labels, "bob": bob, "dave": dave}


def open_review(page, live_server, world):
    login(page, live_server, world["dave"])
    page.goto(f"{live_server.url}/review/datasets/{world['dataset'].name}/")
    page.click("text=Start reviewing")
    page.wait_for_function("() => window.headposeReview !== undefined")
    page.evaluate("() => window.headposeReview.ready")
    return page


def shown_annotation(page):
    return page.evaluate("() => window.headposeReview.config.state.annotation.id")


def next_page(page, previous_id):
    page.wait_for_function(
        f"() => window.headposeReview && window.headposeReview.config.state.annotation.id "
        f"!== {previous_id} && document.body.dataset.reviewReady === '1'"
    )


def test_approve_with_ghosts_and_angles(page, live_server, world, js_errors, shots_dir):
    open_review(page, live_server, world)
    first = world["labels"]["bob0"]
    assert shown_annotation(page) == first.pk  # the oldest label first
    # the label's pose is what the editor shows, drawn over the photo
    pose = page.evaluate("() => window.headposeReview.getPose()")
    assert np.allclose(pose["R"], first.R) and pose["t"] == first.t
    drawn = page.evaluate(
        "() => { window.headposeReview.renderNow(); "
        "return document.getElementById('pose-canvas').toDataURL('image/png'); }"
    )
    assert (decode_data_url(drawn)[..., 3] > 0).sum() > 500
    assert sorted(page.evaluate("() => window.headposeReview.visibleGhosts")) == sorted(
        [f"annotator-{world['labels']['erin0'].pk}", "proposal"]
    )
    angles = page.inner_text("#angles")
    assert "bob" in angles and "erin" in angles and "20.0°" in angles and "fused@1" in angles
    assert "12.0 s" in page.inner_text("#time-spent")
    page.screenshot(path=str(shots_dir / "review_page.png"))
    page.keyboard.press("g")  # erin's ghost alone
    assert page.evaluate("() => window.headposeReview.visibleGhosts") == [f"annotator-{world['labels']['erin0'].pk}"]
    page.keyboard.press("a")
    next_page(page, first.pk)
    first.refresh_from_db()
    assert first.review_state == "approved" and first.reviewed_by == world["dave"]
    # face 0's two labels are 20° apart (its consensus needs review): erin's comes
    # next, before bob's older label of the undisputed face 1
    assert shown_annotation(page) == world["labels"]["erin0"].pk
    # the dataset page: erin0 is open here (face 0 in review), bob1 waits (face 1 labeled)
    page.goto(f"{live_server.url}/datasets/rev/")
    states = page.eval_on_selector_all(".face-card", "cards => cards.map(c => c.dataset.state)")
    assert states == ["in_review", "labeled"]
    page.click("#state-filter a[data-state=in_review]")
    assert page.eval_on_selector_all(".face-card", "cards => cards.map(c => c.dataset.face)") == [
        str(world["faces"][0].pk)
    ]
    page.screenshot(path=str(shots_dir / "dataset_states.png"))
    assert js_errors == []


def test_reject_sends_it_back_to_the_top_of_the_annotators_queue_with_the_note(
    page, live_server, world, js_errors, shots_dir
):
    open_review(page, live_server, world)
    first = world["labels"]["bob0"]
    page.keyboard.press("d")  # reject (R resets the pose, as on the labeling page)
    page.wait_for_selector("#reject-dialog[open]")
    page.keyboard.press("2")  # the second reason: position
    page.fill("#reject-form textarea[name=note]", "The head sits too low: move it up to the chin.")
    page.screenshot(path=str(shots_dir / "review_reject_dialog.png"))
    page.context.set_offline(True)  # the verdict fails on the way: retried with backoff, nothing lost
    page.click("#reject-submit")
    page.wait_for_function("() => document.getElementById('save-state').dataset.kind === 'retry'")
    assert page.inner_text("#save-state").startswith("retrying in")
    assert "cannot be reached" in page.inner_text("#error-banner") and in_viewport(page, "#error-banner")
    first.refresh_from_db()
    assert first.review_state == ""
    page.context.set_offline(False)  # back online: the waiting verdict goes at once
    next_page(page, first.pk)
    first.refresh_from_db()
    assert (first.review_state, first.review_reason) == ("rejected", "position")
    # bob: "Start labeling" hands him the rejected face first, with the note
    page.context.clear_cookies()
    login(page, live_server, world["bob"])
    page.goto(f"{live_server.url}/")
    page.click(f"form[action='/label/datasets/{world['dataset'].name}/next/'] button")
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    assert page.url.endswith(f"/label/faces/{world['faces'][0].pk}/")
    note = page.inner_text("#review-note")
    assert "placed wrong" in note and "The head sits too low" in note
    page.screenshot(path=str(shots_dir / "label_page_rejected.png"))
    assert [e for e in js_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_correct_saves_the_reviewers_pose_as_a_new_revision(page, live_server, world, js_errors, shots_dir):
    open_review(page, live_server, world)
    first = world["labels"]["bob0"]
    page.keyboard.press("c")
    assert page.evaluate("() => window.headposeReview.mode") == "correcting"
    page.locator("#pose-canvas").focus()
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")  # 3 x 5 degrees to image-right: yaw 20 -> 5
    shown = page.evaluate("() => window.headposeReview.getPose()")
    yaw = geometry.matrix_to_euler(np.reshape(shown["R"], (3, 3)))[0]
    assert yaw == pytest.approx(5.0, abs=1e-6)
    assert page.inner_text("#correction-angle").strip().endswith("15.0°")
    page.screenshot(path=str(shots_dir / "review_correcting.png"))
    page.keyboard.press("s")
    next_page(page, first.pk)
    first.refresh_from_db()
    assert first.review_state == "amended" and first.version == 2 and first.author == world["bob"]
    assert np.abs(first.R_matrix - np.reshape(shown["R"], (3, 3))).max() < 1e-12
    assert [(r.version, r.author.username) for r in first.revisions.order_by("version")] == [(1, "bob"), (2, "dave")]
    assert Annotation.objects.get(pk=world["labels"]["erin0"].pk).version == 1  # the others are untouched
    assert js_errors == []


def test_a_label_saved_again_meanwhile_is_a_conflict_not_a_lost_edit(page, live_server, world, js_errors):
    open_review(page, live_server, world)
    first = world["labels"]["bob0"]
    # bob saves a new version while dave looks at the old one
    save_annotation(
        face=world["faces"][0],
        author=world["bob"],
        R=geometry.euler_to_matrix([30.0, 0, 0]),
        t=[0.0, 0.0, 700.0],
        status="corrected",
        expected_version=first.version,
    )
    page.keyboard.press("a")
    page.wait_for_selector("#conflict-banner:not([hidden])")
    assert "version 2" in page.inner_text("#conflict-text")
    first.refresh_from_db()
    assert first.review_state == "" and first.version == 2  # nothing was approved
    page.click("#conflict-reload")
    page.wait_for_function("() => window.headposeReview && window.headposeReview.config.state.annotation.version === 2")
    assert js_errors == [e for e in js_errors if "409" in e]  # the refused request is the only console error


def test_a_second_reviewers_verdict_on_the_same_version_is_a_conflict(
    page, live_server, world, js_errors, django_user_model
):
    """dave looks at bob's version 1; rita approves it meanwhile (a verdict is a new
    version): dave's rejection of version 1 is refused with the conflict banner, and
    rita's verdict stands."""
    from annotator.review.services import review_annotation

    rita = _user(django_user_model, "rita", Role.REVIEWER)
    Assignment.objects.create(dataset=world["dataset"], user=rita, role=Role.REVIEWER)
    open_review(page, live_server, world)
    first = world["labels"]["bob0"]
    assert shown_annotation(page) == first.pk
    review_annotation(annotation=first, reviewer=rita, decision="approved", expected_version=1)
    page.keyboard.press("d")  # reject (R resets the pose, as on the labeling page)
    page.wait_for_selector("#reject-dialog[open]")
    page.keyboard.press("1")
    page.click("#reject-submit")
    page.wait_for_selector("#conflict-banner:not([hidden])")
    assert "version 2" in page.inner_text("#conflict-text")
    first.refresh_from_db()
    assert (first.review_state, first.reviewed_by, first.version) == ("approved", rita, 2)
    assert js_errors == [e for e in js_errors if "409" in e]
