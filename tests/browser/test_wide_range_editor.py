"""Yaw beyond +-90 in the labeling page (issue 17): a back-of-head pose is typed,
shown, nudged past profile, saved and reloaded without turning into another
triple of angles. Real Chromium, real server."""

import numpy as np
import pytest

from annotator.models import Annotation, Face
from tests.browser.conftest import login, open_editor
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def face(bob, assigned):
    dataset = assigned(make_dataset("wide", n_faces=1, with_files=True))
    face = Face.objects.filter(image__dataset=dataset).first()
    add_proposal(face, "fused", euler=(88.5, 0.0, 0.0), t=(0.0, 0.0, 800.0))
    return face


def _pose_R(page):
    return np.reshape(page.evaluate("() => window.headposeEditor.getPose()")["R"], (3, 3))


def test_yaw_nudges_go_past_profile(page, live_server, bob, face, js_errors):
    login(page, live_server, bob)
    open_editor(page, live_server, face)
    page.locator("#pose-canvas").focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # +1 deg of yaw each
    np.testing.assert_allclose(geometry.matrix_to_euler_wide(_pose_R(page)), [91.5, 0, 0], atol=1e-9)
    assert page.input_value("input[name=yaw]") == "91.5"
    assert page.input_value("input[name=pitch]") in ("0.0", "-0.0")
    assert js_errors == []


def test_a_back_of_head_pose_is_typed_shown_saved_and_reloaded(page, live_server, bob, face, js_errors, tmp_path):
    login(page, live_server, bob)
    open_editor(page, live_server, face)
    page.fill("input[name=yaw]", "150")
    page.fill("input[name=pitch]", "-10")
    page.locator("input[name=pitch]").press("Enter")
    R = _pose_R(page)
    assert np.abs(R - geometry.euler_to_matrix([150, -10, 0])).max() < 1e-12
    assert [page.input_value(f"input[name={n}]") for n in ("yaw", "pitch", "roll")] in (
        ["150.0", "-10.0", "0.0"],
        ["150.0", "-10.0", "-0.0"],
    )
    page.screenshot(path=str(tmp_path / "back_of_head.png"))
    assert page.evaluate("() => window.headposeEditor.save()")["version"] >= 1
    stored = Annotation.objects.get(face=face, author=bob)
    np.testing.assert_allclose(stored.R_matrix, R, atol=1e-12)
    page.reload()
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    assert page.input_value("input[name=yaw]") == "150.0"
    assert js_errors == []
