"""Issue 26 items 7 and 11 in headless Chromium at 1024x768: the labeling page's
Accept/Save/Skip/Flag are on screen without scrolling, a 403 page keeps the
site's navigation, and the empty queue says what is next (screenshots of each)."""

import pytest

from annotator.models import Face, Role
from tests.browser.conftest import login, open_editor
from tests.browser.data import add_proposal, make_dataset
from tests.web.test_honeypot_queue import finish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIONS = ["#btn-accept", "#btn-save", "#btn-skip", "#btn-flag"]


def test_at_1024x768_the_actions_are_on_screen_and_errors_keep_the_navigation(
    page, live_server, bob, assigned, js_errors, shots_dir
):
    page.set_viewport_size({"width": 1024, "height": 768})
    lab = assigned(make_dataset("lab", n_faces=2, with_files=True, width=640, height=480))
    done = assigned(make_dataset("done", n_faces=1, with_files=True))
    assigned(make_dataset("other", n_faces=1, with_files=True), role=Role.REVIEWER)
    face = Face.objects.filter(image__dataset=lab).order_by("image__file_name").first()
    for k, proposer in enumerate(("fused", "img2pose", "6drepnet", "landmarks-fit", "synergynet")):
        add_proposal(face, proposer, euler=(10.0 + k, -5.0, 3.0))  # a long panel: its proposals listed
    finish(bob, Face.objects.get(image__dataset=done))
    login(page, live_server, bob)

    open_editor(page, live_server, face)
    page.screenshot(path=str(shots_dir / "labeling-1024x768.png"))
    assert page.evaluate("() => window.scrollY") == 0
    for selector in ACTIONS:
        box = page.locator(selector).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1024, (
            selector,
            box,
        )
        # on top: a click there reaches the button, nothing covers it
        hit = page.evaluate(
            "([s, x, y]) => document.elementFromPoint(x, y)?.closest(s) !== null",
            [selector, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit, selector

    page.goto(f"{live_server.url}/datasets/lab/")  # the dataset page: start labeling, cards open the editor
    assert page.locator("#dataset-start button", has_text="Start labeling").is_visible()
    assert page.locator(".face-card").first.get_attribute("href").startswith("/label/faces/")
    page.screenshot(path=str(shots_dir / "dataset-page.png"))

    page.goto(f"{live_server.url}/label/datasets/done/")
    assert page.locator("#queue-empty").is_visible() and page.locator("#next-steps [data-next=label]").count() == 1
    page.screenshot(path=str(shots_dir / "empty-queue.png"), full_page=True)

    assert js_errors == []
    response = page.goto(f"{live_server.url}/review/datasets/lab/")  # bob annotates lab, he does not review it
    assert response.status == 403
    assert page.locator("header.topbar nav a", has_text="Datasets").is_visible()
    assert "ask an admin" in page.inner_text("#error-page")
    page.screenshot(path=str(shots_dir / "403.png"))
