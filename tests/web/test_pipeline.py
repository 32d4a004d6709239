"""annotator/pipeline.py: what follows an import and stored proposals, in
order, through the real code paths (a real import, a real Celery worker), and
the layering it exists for: annotator never imports evaluation."""

import ast
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotator.common import pipeline
from annotator.models import Face, FaceMesh, Job, Proposal, Split
from evaluation.models import Benchmark
from tests.waiting import wait_for

ANNOTATOR = Path(__file__).resolve().parents[2] / "annotator"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def test_annotator_never_imports_evaluation():
    files = sorted(ANNOTATOR.rglob("*.py"))
    assert len(files) > 30  # the walk really sees the app
    offenders = {
        str(f.relative_to(ANNOTATOR)): sorted(m for m in _imported_modules(f) if m.split(".")[0] == "evaluation")
        for f in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_layering_check_sees_every_way_of_importing(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text(
        "import evaluation.models\nfrom evaluation import seeding\n"
        "def f():\n    from evaluation.benchmarks import save_benchmark\n"
        "    importlib.import_module('evaluation.uploads')\n"
    )
    assert {"evaluation.models", "evaluation", "evaluation.benchmarks", "evaluation.uploads"} <= _imported_modules(
        sample
    )


def test_stages_name_their_steps_in_order_and_evaluation_plugs_in_benchmarks():
    assert pipeline.IMPORT_FINISHED == ("splits", "benchmarks", "meshes", "proposals")
    assert [name for name, _ in pipeline.steps("import_finished")] == list(pipeline.IMPORT_FINISHED)
    assert pipeline.steps("import_finished")[1][1].__module__ == "evaluation.seeding"
    assert [name for name, _ in pipeline.steps("proposals_stored")] == ["meshes", "tracks"]
    with pytest.raises(ValueError, match="no step 'reviews'"):
        pipeline.register("import_finished", "reviews", lambda outcome: None)


@pytest.fixture
def recorded(monkeypatch):
    """Every step still runs; each records its name first."""
    calls = []
    for (stage, name), fn in list(pipeline._steps.items()):

        def spy(arg, _fn=fn, _key=(stage, name)):
            calls.append(_key)
            return _fn(arg)

        monkeypatch.setitem(pipeline._steps, (stage, name), spy)
    return calls


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_import_is_followed_by_splits_benchmarks_meshes_and_proposals(
    celery_worker_process, settings, aflw_samples_dir, recorded
):
    settings.HEADPOSE_AUTO_MESH = True
    settings.HEADPOSE_AUTO_PROPOSE = True
    settings.HEADPOSE_PROPOSER = "landmarks-fit"
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)

    assert recorded == [("import_finished", n) for n in ("splits", "benchmarks", "meshes", "proposals")]
    # in-process steps are done when the import returns ...
    assert set(Split.objects.filter(dataset__name="aflw").values_list("name", flat=True)) == {"all", "p1"}
    assert Benchmark.objects.get(name="aflw-p1").split.name == "p1"
    # ... the queued ones are run by the worker
    wait_for(
        lambda: FaceMesh.objects.filter(state="done").count() == 10,
        seconds=120,
        why=lambda: list(FaceMesh.objects.values_list("state", "message")),
    )
    wait_for(
        lambda: Job.objects.filter(kind="propose", state="done").exists(),
        why=lambda: list(Job.objects.filter(kind="propose").values_list("state", "errors")),
    )
    assert Proposal.objects.filter(proposer="landmarks-fit").count() == 10
    assert Face.objects.count() == 10  # proposals landed on the imported faces


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_stored_proposals_are_followed_by_meshes(celery_worker_process, settings, recorded):
    """Plain images have no landmarks: the proposer's landmarks make the faces
    meshable, so storing proposals queues their meshes."""
    from annotator.datasets.demo import write_demo_folder

    call_command("import_images", str(write_demo_folder()), dataset="demo", verbosity=0)
    assert not Face.objects.exists()  # no detection yet: nothing to mesh
    settings.HEADPOSE_AUTO_MESH = True
    call_command("propose", dataset="demo", proposer="landmarks-fit", inline=True, verbosity=0, stdout=io.StringIO())

    assert ("proposals_stored", "meshes") in recorded
    faces = Face.objects.filter(image__dataset__name="demo")
    assert faces.count() >= 2
    wait_for(
        lambda: FaceMesh.objects.filter(state="done").count() == faces.count(),
        seconds=120,
        why=lambda: list(FaceMesh.objects.values_list("state", "message")),
    )


@pytest.mark.django_db
def test_a_failed_import_builds_no_splits_or_benchmarks(tmp_path, recorded):
    bad = tmp_path / "not-a-zip.zip"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(CommandError, match="failed"):
        call_command("import_aflw2000", str(bad), dataset="broken", verbosity=0)
    job = Job.objects.get(dataset__name="broken")
    assert job.state == Job.State.FAILED and "import stopped" in job.errors[-1]["message"]
    assert [name for _, name in recorded] == list(pipeline.IMPORT_FINISHED)  # every step asked ...
    assert not Split.objects.filter(dataset__name="broken").exists()  # ... and the splits and
    assert not Benchmark.objects.filter(dataset__name="broken").exists()  # benchmarks steps declined
