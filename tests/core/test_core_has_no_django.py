"""workers/core is plain Python: no module there may import Django or Celery.

Two independent checks: every module is imported in a fresh interpreter where
those packages are blocked (catches indirect imports too), and the source of
every file is scanned (catches imports hidden behind try/except or inside
functions that the import alone never runs)."""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "workers" / "core"
BLOCKED = ("django", "celery")

BLOCKER = textwrap.dedent("""
    import importlib, json, sys
    BLOCKED = {blocked!r}

    class Blocker:
        attempts = []
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                Blocker.attempts.append(name)
                raise ImportError(f"{{name}} is blocked: workers/core must not import it")
            return None

    sys.meta_path.insert(0, Blocker())
    sys.path.insert(0, {repo!r})
    results = {{}}
    for module in {modules!r}:
        before = len(Blocker.attempts)
        try:
            importlib.import_module(module)
            error = None
        except BaseException as exc:
            error = f"{{type(exc).__name__}}: {{exc}}"
        results[module] = {{"error": error, "blocked": Blocker.attempts[before:]}}
    results["__leaked__"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps(results))
""")


def core_modules():
    names = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def run_isolated(modules):
    code = BLOCKER.format(blocked=BLOCKED, repo=str(REPO), modules=modules)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def forbidden_imports(source: str, filename: str = "<source>"):
    """(line, name) of every import of a blocked package in the source."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if fname in ("import_module", "__import__"):
                names = [node.args[0].value]
        found += [(node.lineno, n) for n in names if n.split(".")[0] in BLOCKED]
    return found


def test_core_package_is_found():
    modules = core_modules()
    assert "workers.core" in modules and "workers.core.geometry" in modules


def test_blocker_really_blocks():
    # guard against a blocker that silently lets everything through
    res = run_isolated(["json", "django.conf"])
    assert res["json"]["error"] is None
    assert res["django.conf"]["error"] and res["django.conf"]["blocked"]


def test_every_core_module_imports_without_django_or_celery():
    modules = core_modules()
    res = run_isolated(modules)
    problems = {m: r for m, r in res.items() if m != "__leaked__" and (r["error"] or r["blocked"])}
    assert not problems, f"core modules that need Django/Celery or fail to import: {problems}"
    assert res["__leaked__"] == []


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_source_has_no_django_or_celery_import(path):
    assert forbidden_imports(path.read_text(encoding="utf-8"), str(path)) == []


def test_scanner_catches_hidden_imports():
    hidden = textwrap.dedent("""
        try:
            from django.conf import settings
        except ImportError:
            settings = None
        def later():
            import celery.app
            import importlib
            return importlib.import_module("django.db")
        import djangoish  # a different package: allowed
    """)
    assert [n for _, n in forbidden_imports(hidden)] == ["django.conf", "celery.app", "django.db"]
