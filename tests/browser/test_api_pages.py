"""The API docs page (Swagger UI from the drf-spectacular-sidecar wheel, no
CDN), the token page and the export pages in headless Chromium; screenshots go
to HEADPOSE_SHOTS_DIR for a person to look at."""

import pytest

from annotator.exports.services import create_export_job, run_export_job
from tests.api.conftest import world  # noqa: F401
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def _no_outside_requests(page, live_server):
    outside = []
    page.on(
        "request",
        lambda req: (
            outside.append(req.url)
            if not req.url.startswith(live_server.url) and not req.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    return outside


def test_docs_page_lists_the_api_without_a_cdn(page, live_server, world, js_errors, shots_dir):  # noqa: F811
    outside = _no_outside_requests(page, live_server)
    login(page, live_server, world["users"]["researcher"])
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector("text=/api/v1/annotations/", timeout=20000)
    for path in ("/api/v1/datasets/{id}/export/", "/api/v1/tokens/", "/api/v1/benchmarks/{id}/entries/"):
        assert page.locator(f"text={path}").count() >= 1, path
    page.screenshot(path=str(shots_dir / "api_docs.png"))
    assert outside == [] and js_errors == []


def test_token_page_shows_the_new_key_once(page, live_server, world, js_errors, shots_dir):  # noqa: F811
    login(page, live_server, world["users"]["researcher"])
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("#id_name", "training pipeline")
    page.check("#id_read_only")
    page.click("text=Create token")
    key = page.inner_text("#new-key").strip()
    assert key.startswith("hps_")
    assert page.locator("#tokens tr", has_text="training pipeline").locator("text=read-only").count() == 1
    page.screenshot(path=str(shots_dir / "tokens.png"), full_page=True)
    r = page.request.get(f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Token {key}"})
    assert r.status == 200 and r.json()["token"]["read_only"] is True
    assert js_errors == []


def test_export_form_and_job_page(page, live_server, world, js_errors, shots_dir):  # noqa: F811
    login(page, live_server, world["users"]["reviewer"])
    page.goto(f"{live_server.url}/datasets/priv/")
    page.click("#export summary")
    page.select_option("select[name=format]", "coco")
    page.screenshot(path=str(shots_dir / "dataset_export_form.png"))
    with page.expect_download() as download:
        page.click(".export-form button[type=submit]")
    assert download.value.suggested_filename == "priv-best-coco.json"
    job = create_export_job(
        user=world["users"]["reviewer"],
        dataset=world["datasets"]["priv"],
        options={"format": "json", "labels": "best", "proposer": "", "split": None},
    )
    run_export_job(job.pk)
    page.goto(f"{live_server.url}/exports/{job.pk}/")
    page.wait_for_selector("#export-download:not([hidden])")
    assert "2 / 2 faces" in page.inner_text("#export-state")
    page.screenshot(path=str(shots_dir / "export_job.png"))
    assert js_errors == []
