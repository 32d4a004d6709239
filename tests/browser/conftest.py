"""Headless Chromium (the Debian package, never a downloaded build) with WebGL2
on SwiftShader, logged in to pytest-django's live server."""

import base64
import contextlib
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.web.conftest import alice, assigned, bob  # noqa: F401  (the same users as the web tests)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS_DIR = Path(os.environ.get("HEADPOSE_SHOTS_DIR", "/tmp/shots"))


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        message = "needs Chromium (make browser, or apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


class _InFlight:
    """Requests the live server (a thread of this process) is answering now."""

    def __init__(self):
        import threading

        from django.core.signals import request_finished, request_started

        self.count, self.lock = 0, threading.Lock()
        request_started.connect(self._started, weak=False, dispatch_uid="tests-browser-in-flight-started")
        request_finished.connect(self._finished, weak=False, dispatch_uid="tests-browser-in-flight-finished")

    def _started(self, **kwargs):
        with self.lock:
            self.count += 1

    def _finished(self, **kwargs):
        with self.lock:
            self.count -= 1

    def wait_idle(self, quiet_s: float = 0.15, timeout_s: float = 10.0) -> None:
        import time

        deadline, quiet_since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            if self.count <= 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_s:
                    return
            else:
                quiet_since = None
            time.sleep(0.02)


_IN_FLIGHT: list[_InFlight] = []


@pytest.fixture
def page(page, request):
    """Playwright's page, left before the test's database is flushed: the labeling page
    fetches faces ahead and gives their claims back when it is left (a beacon), and a
    request still running in the live server while the flush truncates the tables can
    deadlock it. So the database fixture is set up first (torn down last), and at the
    end the page goes to about:blank and the live server's last request finishes."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        if not _IN_FLIGHT:
            _IN_FLIGHT.append(_InFlight())
    yield page
    if _IN_FLIGHT and "live_server" in request.fixturenames:
        with contextlib.suppress(Exception):  # a page the test closed or crashed sends nothing more
            page.goto("about:blank")
        _IN_FLIGHT[0].wait_idle()


@pytest.fixture
def js_errors(page):
    """Uncaught errors and console errors of the page; tests assert it stays empty."""
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    return errors


def login(page, live_server, user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])


def open_editor(page, live_server, face):
    page.goto(f"{live_server.url}/label/faces/{face.pk}/")
    page.wait_for_function("() => window.headposeEditor !== undefined")
    page.evaluate("() => window.headposeEditor.ready")
    return page


def in_viewport(page, selector) -> bool:
    """The element is wholly inside the viewport (a banner fixed in view)."""
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    inside = box is not None and box["x"] >= 0 and box["y"] >= 0
    return inside and box["x"] + box["width"] <= view["width"] and box["y"] + box["height"] <= view["height"]


def canvas_rgba(page) -> np.ndarray:
    """What the browser drew on the WebGL canvas (H, W, 4) RGBA, read back as PNG."""
    url = page.evaluate(
        "() => { window.headposeEditor.renderNow(); "
        "return document.getElementById('pose-canvas').toDataURL('image/png'); }"
    )
    return decode_data_url(url)


def decode_data_url(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    bgra = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)


@pytest.fixture
def shots_dir() -> Path:
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SHOTS_DIR
