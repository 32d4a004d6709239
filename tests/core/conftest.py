"""tests/core: plain Python. The shared-data fixtures of ../conftest.py (which a
run of tests/core alone does not load: pytest.ini here stops conftest lookup at
this folder), and a check that such a run never imports Django or Redis."""

import sys
from pathlib import Path

import pytest

from tests.conftest import aflw_samples_dir, shared_dir, weights_dir  # noqa: F401

HERE = Path(__file__).resolve().parent
SERVICE_PACKAGES = ("django", "redis", "celery", "pytest_django", "tools")


def service_modules() -> list[str]:
    return sorted(m for m in sys.modules if m.split(".")[0] in SERVICE_PACKAGES)


@pytest.fixture(autouse=True, scope="session")
def _core_runs_without_services(request):
    """In a run of tests/core alone: fail if anything imported Django, Redis,
    Celery or tools/ (the private Redis server) before or during the tests."""
    alone = request.config.inipath == HERE / "pytest.ini"
    if alone:
        assert service_modules() == [], "a tests/core run imported services"
    yield
    if alone:
        assert service_modules() == [], "a tests/core run imported services"
