"""The proposers package's shape: building blocks in parts/ that never reach back up to
base.py, the registry or a proposer module, and no import circle anywhere in the package
(imports inside functions included, so a circle cannot hide behind a lazy import)."""

import ast
from pathlib import Path

from workers.core import proposers

PACKAGE = Path(proposers.__file__).resolve().parent
NAME = "workers.core.proposers"
# what parts/ may import from the package above it: plain data types, no behaviour
PARTS_MAY_IMPORT = {f"{NAME}.config", f"{NAME}.errors"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parents[2]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The package's modules that `path` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from package import module` names a module too
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith(NAME)}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path) & set(modules) for name, path in modules.items()}


def test_parts_never_import_the_proposers_above_them():
    for name, deps in graph().items():
        if name.startswith(f"{NAME}.parts"):
            above = {d for d in deps if not d.startswith(f"{NAME}.parts")} - PARTS_MAY_IMPORT
            assert not above, f"{name} imports {sorted(above)}"


def test_the_package_has_no_import_circle():
    edges = graph()
    # the package's __init__ imports its own interface; a submodule importing a sibling
    # goes through the package only by Python's mechanics, so that edge is not counted
    for deps in edges.values():
        deps.discard(NAME)
    state: dict[str, str] = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == "open":
                raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*stack, dep])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_the_old_paths_the_app_imports_still_give_the_same_objects():
    from workers.core.proposers import confidence, reference_face, registry
    from workers.core.proposers.parts import confidence as parts_confidence
    from workers.core.proposers.parts import reference_face as parts_reference_face
    from workers.core.proposers.parts import weights

    assert registry.create_proposer is proposers.create_proposer
    assert registry.missing_weights is weights.missing_weights
    assert registry.ProposerError is proposers.ProposerError
    assert reference_face.load_reference_face is parts_reference_face.load_reference_face
    assert confidence.curve is parts_confidence.curve
