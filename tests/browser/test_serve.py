"""`make serve` (tools/serve.py) for real: migrate, collectstatic, gunicorn and a
Celery worker; DEBUG off whatever the shell says; static files with hashed
names, gzip and a far-future cache; in headless Chromium an annotator logs in,
labels and saves; SIGTERM stops every process it started."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import requests

from annotator.models import Annotation, Face
from tests.browser.data import add_proposal, make_dataset
from tests.conftest import REPO_ROOT
from tests.servers import Browser, server_env, wait_until_answers
from tools.redis_server import free_port


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _label_and_save(page, base: str, face) -> dict:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "pw-bob")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(f"{base}/label/faces/{face.pk}/")
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    page.keyboard.press("ArrowRight")  # a nudge in yaw: the label differs from the proposal
    shown = page.evaluate("() => window.headposeEditor.getPose()")
    saved = page.evaluate("() => window.headposeEditor.save()")
    assert saved["version"] == 1
    return shown


def test_make_serve(django_user_model, real_password_hasher, tmp_path, page, bob, assigned, js_errors):
    django_user_model.objects.create_user("alice", "a@example.com", "pw-alice-long")
    dataset = assigned(make_dataset("served", n_faces=1, with_files=True))
    face = Face.objects.get(image__dataset=dataset)
    add_proposal(face, "landmarks-fit")
    port = free_port()
    # development mode named explicitly (make serve's default is production, which refuses the tests'
    # SQLite and key and answers plain HTTP with a redirect to HTTPS; tests/web/test_production_mode.py
    # starts its web process in production): what is checked here is DEBUG forced off, the processes,
    # the static files and a label saved through them
    env = server_env(
        DEBUG="1",
        HEADPOSE_ENV="development",
        SERVE_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=2,
        SERVE_WORKERS="default=1",
        STATIC_ROOT=tmp_path / "static",
    )
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.serve"], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base + "/accounts/login/", proc, log, timeout=180)
        children = _children(proc.pid)
        assert len(children) == 2, log.read_text()[-2000:]  # gunicorn's master, the Celery worker

        browser = Browser(base)
        login = browser.get("/accounts/login/")
        css = login.text.split('href="/static/css/app.')[1].split('"')[0]
        assert css.endswith(".css") and len(css.split(".")[0]) == 12  # content hash in the name
        static = requests.get(f"{base}/static/css/app.{css}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert static.status_code == 200 and static.headers["Content-Encoding"] == "gzip"
        assert "immutable" in static.headers["Cache-Control"]
        missing = requests.get(base + "/no-such-page/", timeout=10)
        assert missing.status_code == 404 and "Traceback" not in missing.text and "URLconf" not in missing.text
        assert browser.log_in("alice", "pw-alice-long").status_code == 302
        assert browser.get("/").status_code == 200

        shown = _label_and_save(page, base, face)
        label = Annotation.objects.get(face=face, author=bob)
        assert np.abs(label.R_matrix - np.reshape(shown["R"], (3, 3))).max() < 1e-12
        assert js_errors == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)
