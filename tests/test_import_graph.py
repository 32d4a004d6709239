"""The module import graph of annotator/, evaluation/ and workers/ has no circle,
no project import hides inside a function to dodge one, and no read module
(selectors.py) imports a write module (issue 23).

Reads the source with `ast` (nothing is imported). A module-level import is an
edge of the graph; `from pkg import name` is an edge to pkg.name when that is a
module, else to pkg. An import inside a function or method must be in ALLOWED,
with the reason it cannot be at the top."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("annotator", "evaluation", "workers")
PROJECT = (*PACKAGES, "config")
# workers/core/proposers/ has an import circle of its own, held by function-level
# imports, that its owner is taking apart: the function-level rule skips workers/core
# for now (the module-level graph, workers/core included, is acyclic and checked).
FUNCTION_RULE_SKIPS = ("workers/core/",)

# (file, or "*" for any file; imported module, or a prefix of it) -> why it is imported inside a function
ALLOWED = {
    ("*", "workers.core.proposers"): "torch, cv2 and mediapipe: never imported by the web process "
    "(tests/web/test_web_host_imports.py)",
    ("*", "workers.core.meshing"): "trimesh and cv2: never imported by the web process",
    ("evaluation/views.py", "evaluation.drawing"): "cv2: only the leaderboard's drill-down image draws",
    ("annotator/apps.py", "config.checks"): "AppConfig.ready: registers a system check once apps are loaded",
    ("evaluation/apps.py", "annotator.common"): "AppConfig.ready: models load only once the app registry is ready",
    ("evaluation/apps.py", "evaluation"): "AppConfig.ready: models load only once the app registry is ready",
    ("workers/celery.py", "annotator.common.reaper"): "the Celery app is imported before Django is set up "
    "(config/__init__.py): the reaper's models load in the handler",
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The project module an imported name lives in (None: not the project's)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    return [f"{node.module}.{alias.name}" for alias in node.names] or [node.module]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module):
    """Imports that run when the module is imported (module body, if/try blocks)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])


def _function_level_imports(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner


def import_graph(modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in _module_level_imports(ast.parse(path.read_text(), str(path))):
            for imported in _imported(node):
                target = _target(imported)
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """What an import names: `from a.b import c` names a.b.c (a module or not)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [f"{node.module}.{alias.name}" for alias in node.names] if node.module and not node.level else []


def _allow_entry(relative: str, name: str):
    for file, prefix in ALLOWED:
        if file in ("*", relative) and (name == prefix or name.startswith(prefix + ".")):
            return file, prefix
    return None


def test_no_import_circle():
    graph = import_graph()
    circles = cycles(graph)
    assert not circles, "import circles:\n" + "\n".join(
        " <-> ".join(c) + "\n    " + "\n    ".join(f"{m} -> {sorted(graph[m] & set(c))}" for m in c) for c in circles
    )


def test_no_function_level_import_of_a_project_module_outside_the_allow_list():
    hidden = []
    for path in MODULES.values():
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative.startswith(FUNCTION_RULE_SKIPS):
            continue
        for node in _function_level_imports(ast.parse(path.read_text(), relative)):
            for name in _names(node):
                if name.split(".")[0] in PROJECT and _allow_entry(relative, name) is None:
                    hidden.append(f"{relative}:{node.lineno}: {name}")
    assert not hidden, (
        "imports inside functions (move them to the top, or add them to ALLOWED with the reason):\n" + "\n".join(hidden)
    )


def test_every_allowed_entry_is_still_needed():
    used = set()
    for path in MODULES.values():
        relative = path.relative_to(REPO_ROOT).as_posix()
        for node in _function_level_imports(ast.parse(path.read_text(), relative)):
            used.update(filter(None, (_allow_entry(relative, name) for name in _names(node))))
    assert set(ALLOWED) - used == set()


# the modules that write rows (docs/ARCHITECTURE.md: the layers)
WRITE_MODULES = (
    "services",
    "queue",
    "importing",
    "splits",
    "meshes",
    "tokens",
    "benchmarks",
    "seeding",
    "uploads",
    "proposer_runs",
    "scoring",
    "moderation",
)


def test_reads_never_import_writes():
    graph = import_graph()
    reads = [name for name in graph if name.rsplit(".", 1)[-1] == "selectors"]
    assert len(reads) >= 8
    writes_read = {
        name: sorted(
            m
            for m in graph[name]
            if m.startswith(("annotator.", "evaluation.")) and m.rsplit(".", 1)[-1] in WRITE_MODULES
        )
        for name in reads
    }
    assert {name: mods for name, mods in writes_read.items() if mods} == {}


@pytest.mark.parametrize(
    "source, expected",
    [
        ({"a": "import b\n", "b": "from a import x\n"}, [["a", "b"]]),
        ({"a": "import b\n", "b": "def f():\n    import a\n"}, []),
        ({"a": "from b import c\n", "b": "", "b.c": "import a\n"}, [["a", "b.c"]]),
        ({"a": "if TYPE_CHECKING:\n    import b\n", "b": "import a\n"}, []),
    ],
)
def test_the_check_sees_a_circle(tmp_path, source, expected):
    modules = {}
    for name, text in source.items():
        path = tmp_path / (name.replace(".", "_") + ".py")
        path.write_text(text)
        modules[name] = path
    global MODULES
    saved, MODULES = MODULES, modules
    try:
        assert cycles(import_graph(modules)) == expected
    finally:
        MODULES = saved
