"""`make serve` (tools/serve.py) for real: migrate, collectstatic, gunicorn and a
Celery worker; DEBUG off whatever the shell says; static files with hashed
names, gzip and a far-future cache; SIGTERM stops every process it started."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

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


@pytest.mark.django_db(transaction=True)
def test_make_serve(django_user_model, tmp_path):
    django_user_model.objects.create_user("alice", "a@example.com", "pw-alice-long")
    port = free_port()
    env = server_env(DEBUG="1", SERVE_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=2, SERVE_WORKERS="default=1",
                     STATIC_ROOT=tmp_path / "static")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tools.serve"], cwd=REPO_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)
