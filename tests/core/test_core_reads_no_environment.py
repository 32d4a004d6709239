"""workers/core never reads the environment: settings (the weights dir, data
folders, limits) are arguments its callers pass. The Django side reads them
once, in config/settings.py, and passes them in."""

import ast
import textwrap
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "workers" / "core"
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(source: str, filename: str = "<source>"):
    """(line, what) of every use of os.environ / os.getenv (and the like) in the source."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in ("os", "posix")
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names if a.name in ENV_NAMES]
    return sorted(found)


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_source_reads_no_environment(path):
    assert environment_reads(path.read_text(encoding="utf-8"), str(path)) == []


def test_scanner_catches_every_spelling():
    hidden = textwrap.dedent("""
        import os
        from os import getenv, path
        a = os.environ.get("X")
        b = os.environ["Y"]
        c = os.getenv("Z", "")
        d = "W" in os.environ
        def later():
            return getenv("V")
        e = os.path.join("a", "b")  # not the environment
    """)
    assert [what for _, what in environment_reads(hidden)] == [
        "from os import getenv",
        "os.environ",
        "os.environ",
        "os.getenv",
        "os.environ",
    ]
