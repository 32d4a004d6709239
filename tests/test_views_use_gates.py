"""Pages and API routes reach rows only through a gate or a selector (issue 23).

A view module (every feature's views.py, api.py and urls.py, the URL modules, evaluation's
views.py and api.py) never touches a model manager (`Model.objects`) nor hands a
model class to get_object_or_404: the row comes from a selector that applies the
visibility rules (annotator/common/access.py), or from a gate (`face_for_labeling`,
`annotation_for_reviewing`, `dataset_for_export`, ...). Reads the source with
`ast`; nothing is imported."""

import ast

from tests.conftest import REPO_ROOT

VIEW_MODULES = sorted(
    [
        *REPO_ROOT.glob("annotator/*/views.py"),
        *REPO_ROOT.glob("annotator/*/api.py"),
        *REPO_ROOT.glob("annotator/*/urls.py"),
        *REPO_ROOT.glob("annotator/*urls.py"),
        REPO_ROOT / "evaluation/views.py",
        REPO_ROOT / "evaluation/api.py",
        REPO_ROOT / "evaluation/urls.py",
        REPO_ROOT / "evaluation/api_urls.py",
    ]
)


def _ungated(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append((node.lineno, f"{ast.unparse(node)}"))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("get_object_or_404", "get_list_or_404")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id[:1].isupper()
        ):
            found.append((node.lineno, f"get_object_or_404({node.args[0].id}, ...)"))
    return found


def test_view_modules_are_found():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in VIEW_MODULES}
    assert {"annotator/labeling/api.py", "annotator/review/views.py", "evaluation/views.py"} <= names


def test_no_view_reaches_a_model_without_a_gate_or_selector():
    ungated = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
        for path in VIEW_MODULES
        for line, what in _ungated(path.read_text())
    ]
    assert not ungated, "views touching a model manager (read through a selector or a gate instead):\n" + "\n".join(
        ungated
    )


def test_the_check_sees_a_manager_and_a_model_class():
    assert _ungated("def v(request):\n    return Face.objects.get(pk=1)\n") == [(2, "Face.objects")]
    assert _ungated("def v(request):\n    return get_object_or_404(Face, pk=1)\n") == [
        (2, "get_object_or_404(Face, ...)")
    ]
    assert _ungated("def v(request):\n    return get_object_or_404(visible_faces(request.user), pk=1)\n") == []
