"""The labeling page says how far to trust its starting pose (issue 17): a proposal
below HEADPOSE_LOW_CONFIDENCE carries a "low confidence" badge; a face with no
proposal (no proposer gave a sane pose, so none was stored) starts from a frontal
head at the face box and says so. Real Chromium, real server."""

import numpy as np
import pytest

from annotator.labeling.editor import default_translation
from annotator.models import Face
from tests.browser.conftest import login, open_editor
from tests.browser.data import add_proposal, make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def faces(bob, assigned):
    dataset = assigned(make_dataset("conf", n_faces=3, with_files=True))
    return list(Face.objects.filter(image__dataset=dataset).order_by("image__file_name", "index"))


def _open(page, live_server, bob, face):
    login(page, live_server, bob)
    open_editor(page, live_server, face)
    return page


def test_a_low_confidence_proposal_is_marked(page, live_server, bob, faces, js_errors, settings, tmp_path):
    settings.HEADPOSE_LOW_CONFIDENCE = 0.45
    add_proposal(faces[0], "fused", euler=(70.0, -5.0, 2.0)).__class__.objects.filter(face=faces[0]).update(
        confidence=0.30, provenance={"regime": "profile", "expected_error_deg": 6.02}
    )
    _open(page, live_server, bob, faces[0])
    badge = page.locator("#low-confidence")
    assert badge.is_visible() and badge.inner_text() == "low confidence"
    title = badge.get_attribute("title")
    assert "0.30" in title and "about 6.0° expected error" in title and "profile view" in title
    assert page.inner_text("#confidence-why") == (
        "Profile view, where proposals are weaker; about 6.0° off expected: check this pose closely."
    )
    assert page.locator("#no-proposal").count() == 0
    page.screenshot(path=str(tmp_path / "low_confidence.png"))
    assert js_errors == []


def test_a_confident_proposal_has_no_badge(page, live_server, bob, faces, js_errors, settings):
    settings.HEADPOSE_LOW_CONFIDENCE = 0.45
    add_proposal(faces[1], "fused", euler=(30.0, -5.0, 2.0)).__class__.objects.filter(face=faces[1]).update(
        confidence=0.80
    )
    _open(page, live_server, bob, faces[1])
    assert "fused" in page.inner_text("#origin-line")
    assert page.locator("#low-confidence").count() == 0 and page.locator("#confidence-why").count() == 0
    assert js_errors == []


def test_without_a_proposal_the_page_starts_frontal_at_the_face_box_and_says_so(
    page, live_server, bob, faces, js_errors, tmp_path
):
    face = faces[2]
    assert not face.proposals.exists()
    _open(page, live_server, bob, face)
    note = page.locator("#no-proposal")
    assert note.is_visible() and "frontal head at the face box" in note.inner_text()
    assert "frontal default" in page.inner_text("#origin-line")
    p = page.evaluate("() => window.headposeEditor.getPose()")
    np.testing.assert_allclose(np.reshape(p["R"], (3, 3)), np.eye(3), atol=1e-12)
    np.testing.assert_allclose(p["t"], default_translation(face, np.eye(3)), rtol=1e-9)
    page.screenshot(path=str(tmp_path / "no_proposal.png"))
    assert js_errors == []
