"""Bench scripts run Django against a throw-away test database (created and
dropped here) on whatever DATABASE_URL names: PostgreSQL in the figures we report."""

import contextlib
import os
import tempfile
from pathlib import Path


def setup_django(bench_name: str, allowed_hosts: str = "127.0.0.1,localhost,testserver"):
    """django.setup() for a bench that creates its own test database (named for
    the bench and the process, so never a concurrent pytest run's); returns the
    connection. Temporary data and media folders."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("ALLOWED_HOSTS", allowed_hosts)
    os.environ.setdefault("HEADPOSE_DATA_DIR", tempfile.mkdtemp(prefix="headpose-bench-"))
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="headpose-bench-media-")
    import django

    django.setup()
    from django.db import connection

    test = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql":
        test["NAME"] = f"test_headpose_bench_{bench_name}_{os.getpid()}"
    elif connection.vendor == "sqlite":
        test["NAME"] = str(Path(os.environ["HEADPOSE_DATA_DIR"]) / "bench.sqlite3")
    return connection


@contextlib.contextmanager
def django_test_db(
    bench_name: str, allowed_hosts: str = "127.0.0.1,localhost,testserver", test_environment: bool = False
):
    """setup_django, then the bench's own test database for the duration of the
    block (yields the connection); `test_environment`: Django's test settings
    too (locmem mail, instrumented templates), as the test client expects."""
    connection = setup_django(bench_name, allowed_hosts)
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    if test_environment:
        setup_test_environment()
    config = setup_databases(verbosity=0, interactive=False)
    try:
        yield connection
    finally:
        connections.close_all()
        teardown_databases(config, verbosity=0)


@contextlib.contextmanager
def chromium_page(user, nodelay: bool = False):
    """Headless Chromium (tests/browser's launch settings) logged in as `user` on
    a live server of the bench's database: yields (page, base_url). `nodelay`:
    the server sets TCP_NODELAY on each connection, as `manage.py runserver`
    (config/devserver.py) and gunicorn do; without it a small response on a
    kept-alive connection waits up to 40 ms for a delayed ACK."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test import Client
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from config.devserver import NoDelayWSGIServer
    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path

    class NoDelayThreadedServer(NoDelayWSGIServer, ThreadedWSGIServer):
        pass

    class Server(LiveServerThread):
        server_class = NoDelayThreadedServer if nodelay else ThreadedWSGIServer

    server = Server("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://127.0.0.1:{server.port}"
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
            try:
                yield context.new_page(), base
            finally:
                browser.close()
    finally:
        server.terminate()
