"""Production by default where it is deployed (issue 24 item 3).

The shipped deployment files (deploy/headpose.env.example, the systemd units,
deploy/Procfile) and `make serve` (tools/serve.py) run with HEADPOSE_ENV=production;
with the env example `check --deploy` is clean and DEBUG is refused. Then the
shipped web command lines are started as they are written (the Procfile's web
line under a shell, the unit's ExecStart with its Environment= and the env file,
make serve's gunicorn with the README's variables), each behind what a TLS proxy
sends (X-Forwarded-Proto: https): a 404 is the plain page, never Django's
technical one; cookies are Secure; HSTS and the Content-Security-Policy are on
every response; plain HTTP is redirected to HTTPS."""

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.conftest import REPO_ROOT, _database_url
from tests.servers import wait_until_answers
from tools.redis_server import free_port
from tools.serve import commands, serve_env

DEPLOY = REPO_ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "headpose.env.example"
WEB_UNIT = DEPLOY / "headpose-web.service"
TEST_KEY = "prod-test-" + "Zq8vN2xLp4rT6wY0aB3cE5gH7jK9mQ1sU" * 2
PROXY = {"X-Forwarded-Proto": "https"}


def env_file(path: Path) -> dict:
    """KEY=VALUE lines (systemd EnvironmentFile / docker --env-file), comments skipped."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def unit_lines(path: Path) -> list[str]:
    return path.read_text().replace("\\\n", " ").splitlines()


def unit_setting(path: Path, name: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit_lines(path) if line.startswith(name + "=")]


def base_env(tmp_path: Path) -> dict:
    """What a service manager gives a process: no DEBUG, no HEADPOSE_ENV, the venv's python first."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }


def test_the_shipped_files_and_make_serve_run_in_production():
    assert env_file(ENV_EXAMPLE)["HEADPOSE_ENV"] == "production"
    assert "DEBUG" not in env_file(ENV_EXAMPLE)
    for unit in (WEB_UNIT, DEPLOY / "headpose-worker@.service"):
        assert "HEADPOSE_ENV=production" in unit_setting(unit, "Environment"), unit
        assert unit_setting(unit, "EnvironmentFile") == ["/etc/headpose/headpose.env"]
    for line in filter(
        None, (line for line in (DEPLOY / "Procfile").read_text().splitlines() if line and not line.startswith("#"))
    ):
        assert line.split(": ", 1)[1].startswith("HEADPOSE_ENV=${HEADPOSE_ENV:-production} "), line
    assert "tools.serve" in (REPO_ROOT / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n")[0]
    assert serve_env({})["HEADPOSE_ENV"] == "production"
    assert serve_env({"HEADPOSE_ENV": "", "DEBUG": "1"})["HEADPOSE_ENV"] == "production"
    assert serve_env({"DEBUG": "1"})["DEBUG"] == "0"
    assert serve_env({"HEADPOSE_ENV": "development"})["HEADPOSE_ENV"] == "development"  # named, it is kept


def _manage_with_env_example(tmp_path, *args, **extra):
    key_file = tmp_path / "secret_key"
    key_file.write_text(TEST_KEY)
    env = {
        **base_env(tmp_path),
        **env_file(ENV_EXAMPLE),
        "SECRET_KEY_FILE": str(key_file),
        "HEADPOSE_DATA_DIR": str(tmp_path / "data"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_deploy_check_is_clean_with_the_env_example_and_debug_is_refused(tmp_path):
    result = _manage_with_env_example(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DEVELOPMENT MODE" not in result.stderr and "System check identified no issues" in result.stdout
    refused = _manage_with_env_example(tmp_path, "check", DEBUG="1")
    assert refused.returncode != 0 and "HEADPOSE_ENV=production refuses to start" in refused.stderr
    assert "DEBUG is on" in refused.stderr


# --- the shipped web command lines, started -----------------------------------


@pytest.fixture
def postgres_only():
    if connection.vendor == "sqlite":
        pytest.skip(
            "production refuses SQLite (config/modes.py): run with DATABASE_URL=postgres://... to start "
            "the shipped production command lines"
        )


def _shipped_env(tmp_path: Path, static_root: Path) -> dict:
    """The env example as installed, with this test's database, Redis, key, host and folders."""
    key_file = tmp_path / "secret_key"
    key_file.write_text(TEST_KEY)
    return {
        **env_file(ENV_EXAMPLE),
        "SECRET_KEY_FILE": str(key_file),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CACHE_URL": os.environ.get("CACHE_URL", os.environ["REDIS_URL"]),
        "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "headpose-tests"),
        "HEADPOSE_DATA_DIR": str(tmp_path / "data"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(static_root),
        "WEB_CONCURRENCY": "1",
    }  # the example's 9 processes are for a server, not a shared test machine


@pytest.fixture(scope="module")
def static_root(tmp_path_factory, django_db_setup, django_db_blocker):
    """The release step the Procfile and the unit run first: collectstatic (hashed names)."""
    if connection.vendor == "sqlite":
        return None
    tmp = tmp_path_factory.mktemp("release")
    root = tmp / "static"
    env = {**base_env(tmp), **_shipped_env(tmp, root)}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def procfile_web(tmp_path, static_root, port):
    line = next(line for line in (DEPLOY / "Procfile").read_text().splitlines() if line.startswith("web: "))
    env = {**base_env(tmp_path), **_shipped_env(tmp_path, static_root), "PORT": str(port)}
    env.pop("HEADPOSE_ENV")  # a PaaS has no env file: the line itself says production
    return ["/bin/sh", "-c", line.split(": ", 1)[1]], env  # as honcho and foreman run it


def systemd_web(tmp_path, static_root, port):
    (exec_start,) = unit_setting(WEB_UNIT, "ExecStart")
    args = shlex.split(exec_start)
    assert args[0] == "/srv/headpose/app/.venv/bin/python" and "127.0.0.1:8000" in args
    args = [sys.executable, *args[1:]]
    args[args.index("127.0.0.1:8000")] = f"127.0.0.1:{port}"
    unit_env = dict(item.split("=", 1) for item in unit_setting(WEB_UNIT, "Environment"))
    return args, {**base_env(tmp_path), **unit_env, **_shipped_env(tmp_path, static_root)}


def make_serve_web(tmp_path, static_root, port):
    # the README's line: SECRET_KEY=... DATABASE_URL=... REDIS_URL=... ALLOWED_HOSTS=... make serve,
    # behind a TLS proxy (DEPLOYMENT.md: SECURE_PROXY_SSL_HEADER); no HEADPOSE_ENV given
    shipped = _shipped_env(tmp_path, static_root)
    given = {
        name: shipped[name]
        for name in (
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_URL",
            "CACHE_KEY_PREFIX",
            "ALLOWED_HOSTS",
            "HEADPOSE_DATA_DIR",
            "MEDIA_ROOT",
            "STATIC_ROOT",
            "WEB_CONCURRENCY",
            "SECURE_PROXY_SSL_HEADER",
        )
    }
    env = serve_env(
        {
            **base_env(tmp_path),
            **given,
            "SECRET_KEY": TEST_KEY,
            "DEBUG": "1",
            "SERVE_BIND": f"127.0.0.1:{port}",
            "SERVE_WORKERS": "",
        }
    )
    (web,) = commands(env)
    return web, env


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shipped", [procfile_web, systemd_web, make_serve_web], ids=lambda f: f.__name__)
def test_a_shipped_web_command_line_serves_production(
    shipped, postgres_only, static_root, tmp_path, real_password_hasher, django_user_model
):
    django_user_model.objects.create_user("pat", "pat@example.com", "pw-pat-long-enough")
    port = free_port()
    args, env = shipped(tmp_path, static_root, port)
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base + "/accounts/login/", proc, log, timeout=120)
        # plain HTTP (nothing in front) is sent to HTTPS
        plain = requests.get(base + "/accounts/login/", allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"] == f"https://127.0.0.1:{port}/accounts/login/"

        missing = requests.get(base + "/no-such-page/", headers=PROXY, timeout=10)
        assert missing.status_code == 404
        for technical in ("Traceback", "URLconf", "DEBUG = True", "Using the URLconf", "settings", "config.urls"):
            assert technical not in missing.text, technical
        assert missing.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"

        login_page = requests.get(base + "/accounts/login/", headers=PROXY, timeout=10)
        assert login_page.status_code == 200
        assert login_page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        csrf = next(c for c in login_page.cookies if c.name == "csrftoken")
        assert csrf.secure
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        logged_in = requests.post(
            base + "/accounts/login/",
            allow_redirects=False,
            timeout=10,
            data={"username": "pat", "password": "pw-pat-long-enough", "csrfmiddlewaretoken": token},
            headers={**PROXY, "Origin": f"https://127.0.0.1:{port}", "Cookie": f"csrftoken={csrf.value}"},
        )
        assert logged_in.status_code == 302, logged_in.text[-1500:]
        session = next(c for c in logged_in.cookies if c.name == "sessionid")
        assert session.secure and session.has_nonstandard_attr("HttpOnly")

        for response in (missing, login_page, logged_in):
            policy = response.headers["Content-Security-Policy"]
            assert re.search(r"script-src 'self' 'nonce-[\w-]{16,}';", policy), policy
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
            assert "unsafe-eval" not in policy
        static = requests.get(base + "/static/admin/css/base.css", headers=PROXY, timeout=10)
        assert static.status_code == 200 and "Content-Security-Policy" in static.headers
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group (the shell of a Procfile line and the gunicorn it started)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
