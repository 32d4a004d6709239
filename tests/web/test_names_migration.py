"""annotator 0008 (one word per idea) maps the stored values and keys both
ways: Annotation.source dataset/annotator -> origin ground_truth/annotator (the
one-ground-truth-per-face constraint follows), Job.source -> input_name (an
export's download name -> result["file_name"]), Face.landmark_source ->
landmarks_provenance and the same key inside FaceMesh.provenance."""

import pytest
from django.db import IntegrityError, transaction

from tests.migration_steps import migrate, migrate_to_latest, old_image

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = ("annotator", "0007_alter_job_result_file"), ("annotator", "0008_names")


@pytest.fixture
def old_world():
    """Rows written by the code before the rename, at migration 0007."""
    apps = migrate(BEFORE)
    Dataset, Face = (apps.get_model("annotator", m) for m in ("Dataset", "Face"))
    Annotation, Job, FaceMesh = (apps.get_model("annotator", m) for m in ("Annotation", "Job", "FaceMesh"))
    User = apps.get_model("auth", "User")
    ds = Dataset.objects.create(name="old", kind="aflw2000")
    image = old_image(apps, ds)
    face = Face.objects.create(image=image, box=[0, 0, 9, 9], landmark_source="dataset")
    bob = User.objects.create(username="bob")
    pose = {"R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "status": "ground_truth"}
    gt = Annotation.objects.create(face=face, dataset=ds, source="dataset", **pose)
    own = Annotation.objects.create(
        face=face, dataset=ds, source="annotator", author=bob, **{**pose, "status": "draft"}
    )
    FaceMesh.objects.create(
        face=face,
        state="done",
        provenance={"mesher": "m", "provenance": {"landmark_source": "dataset", "scheme": "ibug68"}},
    )
    imp = Job.objects.create(kind="import_aflw2000", dataset=ds, source="/data/aflw.zip")
    skipped = {
        "image": "x.jpg",
        "face_index": 0,
        "face_id": face.pk,
        "source": "proposer",
        "source_detail": "p@1",
        "reason": "bad",
    }
    exp = Job.objects.create(
        kind="export",
        dataset=ds,
        source="old-best-csv.csv",
        state="done",
        options={"format": "csv", "labels": "best"},
        result={"rows": 1, "skipped": [skipped]},
    )
    yield {"gt": gt.pk, "own": own.pk, "face": face.pk, "import": imp.pk, "export": exp.pk, "skipped": skipped}
    migrate_to_latest()


def test_forward_then_backward(old_world):
    apps = migrate(AFTER)
    Annotation, Job, Face, FaceMesh = (
        apps.get_model("annotator", m) for m in ("Annotation", "Job", "Face", "FaceMesh")
    )
    assert Annotation.objects.get(pk=old_world["gt"]).origin == "ground_truth"
    assert Annotation.objects.get(pk=old_world["own"]).origin == "annotator"
    face = Face.objects.get(pk=old_world["face"])
    assert face.landmarks_provenance == "dataset"
    assert FaceMesh.objects.get(face=face).provenance == {
        "mesher": "m",
        "provenance": {"landmarks_provenance": "dataset", "scheme": "ibug68"},
    }
    assert Job.objects.get(pk=old_world["import"]).input_name == "/data/aflw.zip"
    export = Job.objects.get(pk=old_world["export"])
    assert export.input_name == "" and export.result["file_name"] == "old-best-csv.csv"
    assert export.result["skipped"] == [{**old_world["skipped"], "origin": "proposal", "origin_detail": "p@1"}]
    # the constraints follow the new field and value
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(
            face=face,
            dataset_id=face.image.dataset_id,
            origin="ground_truth",
            status="ground_truth",
            R=[1, 0, 0, 0, 1, 0, 0, 0, 1],
            t=[0, 0, 600],
        )

    apps = migrate(BEFORE)
    Annotation, Job, Face, FaceMesh = (
        apps.get_model("annotator", m) for m in ("Annotation", "Job", "Face", "FaceMesh")
    )
    assert Annotation.objects.get(pk=old_world["gt"]).source == "dataset"
    assert Annotation.objects.get(pk=old_world["own"]).source == "annotator"
    assert Face.objects.get(pk=old_world["face"]).landmark_source == "dataset"
    assert FaceMesh.objects.get(face_id=old_world["face"]).provenance["provenance"] == {
        "landmark_source": "dataset",
        "scheme": "ibug68",
    }
    assert Job.objects.get(pk=old_world["import"]).source == "/data/aflw.zip"
    assert Job.objects.get(pk=old_world["export"]).source == "old-best-csv.csv"
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(
            face_id=old_world["face"],
            dataset_id=Face.objects.get(pk=old_world["face"]).image.dataset_id,
            source="dataset",
            status="ground_truth",
            R=[1, 0, 0, 0, 1, 0, 0, 0, 1],
            t=[0, 0, 600],
        )
