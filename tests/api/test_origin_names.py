"""One word per idea in the API (issue 12): who made a label is `origin`
(ground_truth | annotator); the pre-rename names stay accepted and written,
marked deprecated in the schema."""

import pytest
import yaml
from django.core.management import call_command

from annotator.exports import services as exports
from annotator.models import Annotation, Job

pytestmark = pytest.mark.django_db


def _annotations(client, query):
    r = client.get(f"/api/v1/annotations/?{query}&page_size=1000")
    assert r.status_code == 200, r.content
    return r.json()["results"]


def test_origin_filter_and_its_deprecated_source_alias(world, api_as):
    ds = world["datasets"]["pub"]
    client = api_as("admin")
    truth = set(Annotation.objects.filter(dataset=ds, origin="ground_truth").values_list("pk", flat=True))
    labels = set(Annotation.objects.filter(dataset=ds, origin="annotator").values_list("pk", flat=True))
    assert len(truth) == 2 and len(labels) == 1
    for query, expected in [
        ("origin=ground_truth", truth),
        ("source=dataset", truth),
        ("source=ground_truth", truth),
        ("origin=annotator", labels),
        ("source=annotator", labels),
        ("origin=ground_truth&source=dataset", truth),
    ]:
        got = _annotations(client, f"dataset={ds.pk}&{query}")
        assert {a["id"] for a in got} == expected, query
    for a in _annotations(client, f"dataset={ds.pk}"):
        assert (a["origin"], a["source"]) in {("ground_truth", "dataset"), ("annotator", "annotator")}
        assert (a["origin"] == "ground_truth") == (a["id"] in truth)


def test_contradicting_origin_and_source_is_a_400(world, api_as):
    r = api_as("admin").get("/api/v1/annotations/?origin=annotator&source=dataset")
    assert r.status_code == 400 and "source" in r.json() and r.json()["code"] == "invalid"


def test_faces_carry_landmarks_provenance_and_the_old_name(world, api_as):
    face = world["objects"]["pub"]["face"]
    face.landmarks_provenance = "mediapipe@1"
    face.save(update_fields=["landmarks_provenance"])
    body = api_as("admin").get(f"/api/v1/faces/{face.pk}/").json()
    assert body["landmarks_provenance"] == body["landmark_source"] == "mediapipe@1"


def test_the_schema_marks_the_old_names_deprecated(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    params = {p["name"]: p for p in schema["paths"]["/api/v1/annotations/"]["get"]["parameters"]}
    assert params["source"].get("deprecated") is True and not params["origin"].get("deprecated")
    assert set(params["origin"]["schema"]["enum"]) == {"ground_truth", "annotator"}
    props = schema["components"]["schemas"]
    assert props["Annotation"]["properties"]["source"]["deprecated"] is True
    assert "deprecated" not in props["Annotation"]["properties"]["origin"]
    assert props["Face"]["properties"]["landmark_source"]["deprecated"] is True
    assert props["InvalidFace"]["properties"]["source"]["deprecated"] is True


def test_an_export_job_downloads_under_its_file_name_and_imports_keep_their_input(world, api_as, tmp_path):
    ds = world["datasets"]["pub"]
    job = exports.create_export_job(
        user=world["users"]["researcher"],
        dataset=ds,
        options={"format": "csv", "labels": "ground_truth", "proposer": "", "split": None},
    )
    assert job.input_name == ""  # an export reads no input
    job = exports.run_export_job(job.pk)
    assert job.result["file_name"] == "pub-ground_truth-csv.csv"
    r = api_as("researcher").get(f"/api/v1/exports/{job.pk}/download/")
    assert r.status_code == 200 and 'filename="pub-ground_truth-csv.csv"' in r["Content-Disposition"]
    assert (
        api_as("researcher").get(f"/api/v1/exports/{job.pk}/").json()["result"]["file_name"] == job.result["file_name"]
    )
    # an older job, whose result has no file name, is named from its options
    Job.objects.filter(pk=job.pk).update(result={**job.result, "file_name": ""})
    r = api_as("researcher").get(f"/api/v1/exports/{job.pk}/download/")
    assert 'filename="pub-ground_truth-csv.csv"' in r["Content-Disposition"]

    from annotator.datasets.importing import create_import_job

    folder = tmp_path / "imgs"
    folder.mkdir()
    job = create_import_job(kind=Job.Kind.IMPORT_IMAGES, dataset_name="named", server_path=str(folder))
    assert job.input_name == str(folder)
