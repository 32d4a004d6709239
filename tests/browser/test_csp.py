"""Every page works under the Content-Security-Policy (config/csp.py) in headless
Chromium: the labeling page, the review page, the sequence timeline, the
leaderboard (plotly), the admin and the API docs (Swagger UI, Redoc) load,
draw and report no CSP violation, neither as a `securitypolicyviolation` event
nor in the console. pytest-django's live server goes through the middleware,
so the policy is the one every response carries."""

import re

import numpy as np
import pytest

from annotator.labeling.services import save_annotation
from annotator.models import Assignment, Face, Role
from annotator.sequences.services import build_tracks
from evaluation import uploads
from tests.browser.conftest import login
from tests.browser.data import add_proposal, make_dataset
from tests.sequence_data import make_sequence_dataset
from tests.web.conftest import _user
from tests.web.test_evaluation_validation import make_benchmark
from workers.core import geometry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium's init scripts run outside the page's policy: they record what the policy blocked.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.fixture
def csp_page(page, js_errors):
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations")


def assert_clean(page, js_errors, response=None):
    if response is not None:
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
        assert "'unsafe-eval'" not in policy
    assert violations(page) == []
    assert [e for e in js_errors if "Content Security Policy" in e] == []
    assert js_errors == []


def test_labeling_page_under_the_policy(csp_page, live_server, bob, assigned, js_errors, shots_dir):
    dataset = assigned(make_dataset("csp", n_faces=1, with_files=True, width=400, height=300))
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "fused")
    login(csp_page, live_server, bob)
    response = csp_page.goto(f"{live_server.url}/label/faces/{face.pk}/")
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    # the import map carries this response's nonce, and three.js came through it
    assert csp_page.locator("script[type=importmap][nonce]").count() == 1
    assert csp_page.evaluate("() => document.querySelector('script[type=importmap]').nonce") == nonce
    csp_page.wait_for_function("() => window.headposeEditor !== undefined")
    csp_page.evaluate("() => window.headposeEditor.ready")
    drawn = csp_page.evaluate(
        "() => { window.headposeEditor.renderNow(); "
        "return document.getElementById('pose-canvas').toDataURL('image/png').length; }"
    )
    assert drawn > 1000
    csp_page.keyboard.press("ArrowRight")
    saved = csp_page.evaluate("() => window.headposeEditor.save()")
    assert saved["version"] == 1
    csp_page.screenshot(path=str(shots_dir / "csp_labeling_page.png"))
    assert_clean(csp_page, js_errors, response)


def test_review_page_under_the_policy(csp_page, live_server, bob, django_user_model, js_errors):
    dave = _user(django_user_model, "dave", Role.REVIEWER)
    dataset = make_dataset("csp-review", n_faces=1, with_files=True, width=400, height=300)
    Assignment.objects.create(dataset=dataset, user=bob, role=Role.ANNOTATOR)
    Assignment.objects.create(dataset=dataset, user=dave, role=Role.REVIEWER)
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "fused")
    save_annotation(
        face=face,
        author=bob,
        R=geometry.euler_to_matrix([12.0, -5.0, 3.0]),
        t=[4.0, -6.0, 760.0],
        status="corrected",
        expected_version=0,
        time_spent_s=5.0,
    )
    login(csp_page, live_server, dave)
    csp_page.goto(f"{live_server.url}/review/datasets/{dataset.name}/")
    csp_page.click("text=Start reviewing")
    csp_page.wait_for_function("() => window.headposeReview !== undefined")
    csp_page.evaluate("() => window.headposeReview.ready")
    assert np.isfinite(csp_page.evaluate("() => window.headposeReview.getPose()")["t"]).all()
    assert_clean(csp_page, js_errors)


def test_sequence_timeline_under_the_policy(csp_page, live_server, bob, assigned, js_errors):
    dataset, sequence, _truth = make_sequence_dataset(n_frames=12, seed=3, with_files=True)
    assigned(dataset)
    build_tracks(sequence.pk)
    login(csp_page, live_server, bob)
    csp_page.goto(f"{live_server.url}/label/sequences/{sequence.pk}/")
    csp_page.wait_for_function("() => window.headposeEditor !== undefined")
    csp_page.evaluate("() => window.headposeEditor.ready")
    csp_page.evaluate("() => window.headposeEditor.goToFrame(5)")
    assert csp_page.evaluate("() => window.headposeEditor.frame()") == 5
    assert_clean(csp_page, js_errors)


def test_leaderboard_admin_and_api_docs_under_the_policy(csp_page, live_server, django_user_model, js_errors):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-long")
    benchmark, gt = make_benchmark(n=20)
    rows = "".join(f"{name},{e[0] + 2:.4f},{e[1]:.4f},{e[2]:.4f}\n" for name, e in gt.items())
    entry = uploads.create_upload_entry(
        benchmark=benchmark,
        data=("id,yaw,pitch,roll\n" + rows).encode(),
        filename="p.csv",
        user=admin,
        name="csp",
        is_public=True,
    )
    login(csp_page, live_server, admin)
    csp_page.goto(f"{live_server.url}/benchmarks/{benchmark.pk}/")
    assert csp_page.locator("text=csp").count() >= 1
    # the entry page draws its charts with the vendored plotly (no eval, no inline script)
    csp_page.goto(f"{live_server.url}/benchmarks/entries/{entry.pk}/")
    csp_page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20000)
    assert_clean(csp_page, js_errors)
    # the admin's pages name no icon, so Chromium asks for /favicon.ico (a 404 in the console, no CSP matter)
    csp_page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    for path in (
        "/admin/",
        "/admin/annotator/dataset/",
        f"/admin/annotator/dataset/{benchmark.dataset_id}/change/",
        "/admin/annotator/job/",
        "/admin/auth/user/add/",
    ):
        response = csp_page.goto(live_server.url + path)
        assert response.status == 200, path
        assert_clean(csp_page, js_errors, response)
    csp_page.goto(f"{live_server.url}/api/v1/docs/")
    csp_page.wait_for_selector("text=/api/v1/annotations/", timeout=20000)
    assert_clean(csp_page, js_errors)
    csp_page.goto(f"{live_server.url}/api/v1/redoc/")
    csp_page.wait_for_selector("text=HeadPose Studio API", timeout=30000)
    csp_page.wait_for_selector("text=/api/v1/annotations/", timeout=30000)
    # Redoc's menu shows Redocly's logo from its CDN: the policy keeps it out (nothing loads from
    # another site) and Redoc drops the image on the error. The one thing refused; no script was.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [v for v in violations(csp_page) if logo not in v] == []
    assert csp_page.locator(f'img[src="{logo}"]').count() == 0
    assert [e for e in js_errors if logo not in e] == []
