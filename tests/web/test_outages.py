"""The error shape holds while the database or Redis is down: the API answers
503 {"detail", "code"} with Retry-After, pages a plain 503 page that says
nothing of the internals (annotator/common/middleware.py), wherever the error
is raised: a view, DRF's token authentication, the session and login
middleware.

The database is made unreachable for real, never mocked: in this process its
connection is pointed at a closed port (PostgreSQL) or a folder (SQLite: it
cannot open one); a gunicorn process is started on a PostgreSQL URL nobody
listens on (no PostgreSQL needed); on PostgreSQL, a gunicorn process reaches
the test database through a TCP forwarder that is closed mid-session and
opened again. Redis unreachable: tests/web/test_job_queue_unreachable.py (a
closed port) and tests/web/test_redis_outage.py (a real Redis killed)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import requests
from django.db import connection
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from annotator.accounts.tokens import create_token
from annotator.common.middleware import (
    BROKER_DOWN,
    DATABASE_DOWN,
    RETRY_AFTER_S,
    OutageMiddleware,
)
from tests.conftest import _database_url
from tests.forwarder import tcp_forwarder
from tests.servers import Browser, server_env, web_server
from tools.redis_server import free_port

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_503 = {"detail": DATABASE_DOWN, "code": "database_unavailable"}
# what a page must never show: the error, a stack, the driver, where the database is
INTERNALS = ("Traceback", "OperationalError", "InterfaceError", "psycopg", "sqlite", "settings.py")


def _json_503(response, body=DATABASE_503) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == body
    assert response["Retry-After"] == str(RETRY_AFTER_S)


def _page_503(text: str, status: int, headers, *secrets: str) -> None:
    assert status == 503, text[:500]
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Retry-After"] == str(RETRY_AFTER_S)
    assert DATABASE_DOWN in text
    for word in (*INTERNALS, *secrets):
        assert word not in text, word


@contextmanager
def database_unreachable(tmp_path):
    """This process's connection pointed where no database answers; put back after."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    else:
        connection.settings_dict["NAME"] = str(tmp_path)  # a folder: "unable to open database file"
    try:
        yield saved
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.parametrize("debug", [False, True])
def test_database_unreachable_api_json_and_pages_plain_wherever_it_fails(debug, django_user_model, settings, tmp_path):
    user = django_user_model.objects.create_user("alice", password="pw-alice-long")
    _, key = create_token(user=user, name="outage")
    settings.DEBUG = debug  # DEBUG's technical 500 page is replaced too
    session = Client(raise_request_exception=False)
    session.force_login(user)
    anonymous = Client(raise_request_exception=False)
    with database_unreachable(tmp_path) as saved:
        # DRF's token authentication looks the token up: a view's error
        _json_503(anonymous.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Token {key}"))
        _json_503(anonymous.post("/api/label/faces/1/annotation/", {}, HTTP_AUTHORIZATION=f"Token {key}"))
        # the session's user, read by the login middleware before any view: a middleware's error
        _json_503(session.get("/api/v1/me/"))
        page = session.get("/")
        _page_503(page.content.decode(), page.status_code, page, str(saved["NAME"]))
        # a view that asks the database itself: the login form's password check
        login = anonymous.post("/accounts/login/", {"username": "alice", "password": "pw-alice-long"})
        _page_503(login.content.decode(), login.status_code, login, str(saved["NAME"]))
    # back: the same clients are answered
    assert session.get("/api/v1/me/").status_code == 200
    assert anonymous.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_broker_error_raised_anywhere_is_a_503_broker_unavailable(rf):
    middleware = OutageMiddleware(lambda request: None)
    response = middleware.process_exception(rf.get("/api/v1/exports/"), RedisConnectionError("Connection refused"))
    _json_503(response, {"detail": BROKER_DOWN, "code": "broker_unavailable"})
    page = middleware.process_exception(rf.get("/datasets/x/export/"), RedisConnectionError("Connection refused"))
    assert page.status_code == 503 and BROKER_DOWN in page.content.decode()
    assert "Connection refused" not in page.content.decode()
    assert middleware.process_exception(rf.get("/api/v1/exports/"), ValueError("a bug")) is None  # still a 500


def test_postgresql_unreachable_a_real_server_answers_503_in_the_error_shape(tmp_path):
    """gunicorn on a PostgreSQL URL nobody listens on: every request that needs
    the database, through a token, a session cookie or a page."""
    port = free_port()
    env = server_env(DATABASE_URL=f"postgres://headpose@127.0.0.1:{port}/headpose_gone", DEBUG="False")
    log = tmp_path / "web.log"
    with web_server("gunicorn", log, env, workers=1) as base:
        token = {"Authorization": "Token hps_" + "x" * 43}
        cookie = {"Cookie": "sessionid=" + "a" * 32}
        for headers in (token, cookie):
            api = requests.get(base + "/api/v1/annotations/", headers=headers, timeout=30)
            assert api.status_code == 503, api.text[:500]
            assert api.json() == DATABASE_503 and api.headers["Retry-After"] == str(RETRY_AFTER_S)
        page = requests.get(base + "/", headers=cookie, timeout=30, allow_redirects=False)
        _page_503(page.text, page.status_code, page.headers, "headpose_gone", str(port))
    # one line for the outage, however many requests met it
    assert log.read_text().count("database_unavailable: answering 503") == 1


def test_postgresql_gone_mid_session_and_back(django_user_model, real_password_hasher, tmp_path):
    """A logged-in user's requests while the database is away (the server's kept
    connection cut, new ones refused), then the same session once it is back."""
    if connection.vendor != "postgresql":
        pytest.skip("cuts PostgreSQL connections (a TCP forwarder in front of the test database)")
    django_user_model.objects.create_superuser("alice", "a@example.com", "pw-alice-long")
    target = (connection.settings_dict.get("HOST") or "127.0.0.1", int(connection.settings_dict.get("PORT") or 5432))
    port = free_port()
    url = _database_url({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": port})
    env = server_env(DATABASE_URL=url, DATABASE_CONN_MAX_AGE=60, DEBUG="False")  # a kept connection, cut under it
    with web_server("gunicorn", tmp_path / "web.log", env, workers=1) as base:
        browser = Browser(base)
        with tcp_forwarder("127.0.0.1", target, port):
            assert browser.log_in("alice", "pw-alice-long").status_code == 302
            assert browser.get("/api/v1/annotations/").status_code == 200
        # the forwarder closed: the kept connection is cut, nothing listens for a new one
        api = browser.get("/api/v1/annotations/")
        assert api.status_code == 503, api.text[:500]
        assert api.json() == DATABASE_503 and api.headers["Retry-After"] == str(RETRY_AFTER_S)
        page = browser.get("/")
        _page_503(page.text, page.status_code, page.headers, connection.settings_dict["NAME"], str(port))
        with tcp_forwarder("127.0.0.1", target, port):
            assert browser.get("/api/v1/annotations/").status_code == 200
            assert browser.get("/").status_code == 200
