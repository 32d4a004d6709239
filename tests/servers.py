"""Real server processes for tests: gunicorn, the development server, a Celery
worker, each on the test database, and a cookie-keeping HTTP client.

Tests that use them need `@pytest.mark.django_db(transaction=True)`: the
processes only see committed rows."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.conftest import REPO_ROOT, _database_url
from tools.redis_server import free_port


def server_env(**extra) -> dict:
    """The test process's environment, pointed at the test database, DEBUG off."""
    from django.db import connection

    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(DATABASE_URL=_database_url(connection.settings_dict), ALLOWED_HOSTS="127.0.0.1", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_until_answers(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, timeout=5, allow_redirects=False)
            return
        except requests.RequestException:  # not listening yet, or a worker still booting
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def web_server(kind: str, log: Path, env: dict, workers: int = 2):
    """kind 'gunicorn' (sync workers), 'serve' (gunicorn exactly as `make serve`
    runs it: tools/serve.py's command, WEB_CONCURRENCY workers) or 'runserver'
    (threaded); yields the base URL."""
    port = free_port()
    if kind == "gunicorn":
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
    elif kind == "serve":
        from tools.serve import commands

        env = {**env, "SERVE_BIND": f"127.0.0.1:{port}", "SERVE_WORKERS": ""}  # the web process alone
        (cmd,) = commands(env)
    else:
        cmd = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base + "/accounts/login/", proc, log)
        yield base
    finally:
        stop(proc)


@contextmanager
def celery_worker(
    log: Path, env: dict, name: str = "outage", queues: str = "default,gpu,cpu", processes: int | None = None
):
    """A Celery worker on `queues`, solo (processes None) or prefork with
    `processes` children, in its own process group (kill_worker kills all of
    it); yields once it says it is ready."""
    pool = ["-P", "solo"] if processes is None else ["-P", "prefork", "-c", str(processes), "-O", "fair"]
    with open(log, "ab") as out:
        start = out.tell()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers",
                "worker",
                "-Q",
                queues,
                *pool,
                "-n",
                f"{name}-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log.read_bytes()[start:]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        stop(proc)


def kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the whole worker (main process and any pool children) started by celery_worker."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Browser:
    """requests with its own cookie dict: the test servers speak plain HTTP, and a
    Secure cookie must still come back (requests' jar would keep it)."""

    def __init__(self, base: str):
        self.base, self.cookies = base, {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method != "GET" and "csrftoken" in self.cookies:
            headers.setdefault("X-CSRFToken", self.cookies["csrftoken"])
            headers.setdefault("Referer", self.base + "/")
        response = requests.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def log_in(self, username: str, password: str) -> requests.Response:
        page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.post(
            "/accounts/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token}
        )


def database_connections() -> int:
    """Connections to the test database other than this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]
