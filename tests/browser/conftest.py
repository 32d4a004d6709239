"""Headless Chromium (the Debian package, never a downloaded build) with WebGL2
on SwiftShader, logged in to pytest-django's live server."""

import base64
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
