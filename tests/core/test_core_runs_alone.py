"""`pytest tests/core` runs without Django, Redis or a database: tests/core/pytest.ini
configures such a run (and conftest.py checks every one); the whole suite still
gets Django and Redis from the repository's pytest.ini."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, sys, pytest; rc = pytest.main({args!r}); "
    "print(json.dumps({{'rc': int(rc), 'modules': sorted({{m.split('.')[0] for m in sys.modules}})}}))"
)
SERVICES = {"django", "redis", "celery", "pytest_django", "tools", "schemathesis", "playwright"}


def run_pytest(*args) -> dict:
    """pytest.main(args) in a fresh interpreter at the repository root: its exit
    code and the top-level packages imported by the end."""
    code = PROBE.format(args=["-q", "-p", "no:cacheprovider", *args])
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_core_run_imports_no_django_redis_or_web_plugins():
    out = run_pytest("tests/core/test_matching.py", "tests/core/formats/test_splits.py")
    assert out["rc"] == 0
    assert SERVICES & set(out["modules"]) == set()
    assert "workers" in out["modules"] and "numpy" in out["modules"]  # the probe sees what the tests imported


def test_a_web_run_still_gets_django_and_redis():
    out = run_pytest("--collect-only", "tests/web/test_settings.py")
    assert out["rc"] == 0
    assert {"django", "pytest_django", "tools", "redis"} <= set(out["modules"])
