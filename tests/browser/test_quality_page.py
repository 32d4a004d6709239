"""The quality page in headless Chromium: the scores table, the noise floor and
the plotly charts (vendored plotly, no request leaves the server); a screenshot
goes to HEADPOSE_SHOTS_DIR for a person to look at."""

import numpy as np
import pytest

from annotator.labeling.services import save_annotation, set_ground_truth
from annotator.models import Assignment, Face, Role
from annotator.quality.services import mark_honeypots
from tests.api.conftest import user
from tests.browser.conftest import login
from tests.browser.data import add_proposal, make_dataset
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def labeled_team(django_user_model):
    rng = np.random.default_rng(3)
    dataset = make_dataset("team-page", n_faces=24, overlap=3)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    truth = {}
    for face in faces:
        euler = rng.uniform([-70, -20, -10], [70, 20, 10])
        truth[face.pk] = geometry.euler_to_matrix(euler)
        set_ground_truth(face=face, R=truth[face.pk], t=[0, 0, 650])
        add_proposal(face, "landmarks-fit", euler=tuple(euler + rng.normal(0, 3, 3)), t=(0, 0, 650))
    mark_honeypots(dataset, [f.pk for f in faces[::4]])
    for name, sigma in (("ana", 1.0), ("ben", 3.0), ("cleo", 8.0)):
        u = user(django_user_model, name, Role.ANNOTATOR)
        Assignment.objects.create(dataset=dataset, user=u, role=Role.ANNOTATOR)
        for face in faces:
            noise = geometry.axis_angle_to_matrix(rng.normal(size=3) * np.deg2rad(sigma) / np.sqrt(3))
            save_annotation(
                face=face,
                author=u,
                R=truth[face.pk] @ noise,
                t=[0, 0, 650],
                status="corrected",
                expected_version=0,
                time_spent_s=float(rng.gamma(4, 3)),
                proposal=face.proposals.first(),
            )
    return dataset


def test_quality_page_draws_the_scores_and_charts(page, live_server, alice, django_user_model, js_errors, shots_dir):
    dataset = labeled_team(django_user_model)
    outside = []
    page.on(
        "request",
        lambda req: (
            outside.append(req.url)
            if not req.url.startswith(live_server.url) and not req.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    login(page, live_server, alice)
    page.goto(f"{live_server.url}/datasets/{dataset.name}/quality/")
    page.wait_for_selector("body[data-charts-ready='1']")
    assert page.locator("#scores tbody tr").count() == 3
    for name in ("ana", "ben", "cleo"):
        assert page.locator(f"#scores tr[data-username='{name}']").count() == 1
    assert page.locator(".js-plotly-plot").count() == 4
    assert page.locator("#noise-floor tbody tr").count() == 7
    page.screenshot(path=str(shots_dir / "quality.png"), full_page=True)
    assert not js_errors and not outside
