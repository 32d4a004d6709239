"""No idle PostgreSQL connections pile up, under the development server
(a thread per client connection, borrowing from a pool of at most
DEVSERVER_DB_POOL_MAX) or gunicorn (sync workers): N sequential and N
concurrent logged-in requests against a real server process, connections to
the test database counted in pg_stat_activity before and after."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.servers import Browser, database_connections, server_env, web_server

N = 30
GUNICORN_WORKERS = 2
DEVSERVER_POOL = 3  # far fewer than the N concurrent requests: they wait for a pooled connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL connections"),
]


def _hammer(base: str, cookies: dict) -> list[int]:
    def one(_):
        client = Browser(base)  # a new HTTP connection each time, as distinct browsers make
        client.cookies = dict(cookies)
        return client.get("/").status_code

    statuses = [one(i) for i in range(N)]
    with ThreadPoolExecutor(max_workers=N) as pool:
        statuses += list(pool.map(one, range(N)))
    return statuses


def _settled(limit: int, timeout: float = 5.0) -> int:
    """The connection count once it is at most `limit` (closing takes a moment), else the last count."""
    deadline = time.monotonic() + timeout
    while (n := database_connections()) > limit and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


@pytest.mark.parametrize("kind,allowed", [("runserver", DEVSERVER_POOL), ("gunicorn", GUNICORN_WORKERS)])
def test_requests_leave_no_idle_connections(kind, allowed, django_user_model, real_password_hasher, tmp_path):
    django_user_model.objects.create_user("alice", "a@example.com", "pw-alice-long")
    before = database_connections()
    env = server_env(DEVSERVER_DB_POOL_MAX=DEVSERVER_POOL)
    with web_server(kind, tmp_path / f"{kind}.log", env, workers=GUNICORN_WORKERS) as base:
        browser = Browser(base)
        assert browser.log_in("alice", "pw-alice-long").status_code == 302
        statuses = _hammer(base, browser.cookies)
        assert statuses == [200] * (2 * N)
        # runserver's pool keeps at most its size; each single-threaded gunicorn worker at most one
        assert _settled(before + allowed) <= before + allowed
    assert _settled(before) == before  # and the server's exit closes them
