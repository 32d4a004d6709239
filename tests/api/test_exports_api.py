"""Exports over the API: small ones answered directly, large ones as a job run
by a real Celery worker; the AFLW2000 .mat export re-imported through the
project's importer gives back the same poses (real AFLW2000-3D samples); each
file parsed by an independent reader."""

import csv
import io
import json
import time
import zipfile

import numpy as np
import pytest
import scipy.io
from django.core.management import call_command
from django.test import override_settings

from annotator.datasets.importing import create_import_job, run_import_job
from annotator.models import Annotation, Dataset, Job
from workers.core import geometry

pytestmark = pytest.mark.django_db


def _poses(dataset, origin="ground_truth"):
    rows = Annotation.objects.filter(face__image__dataset=dataset, origin=origin).values_list(
        "face__image__file_name", "R", "t"
    )
    return {name: (np.asarray(R).reshape(3, 3), np.asarray(t)) for name, R, t in rows}


def test_json_export_holds_every_face_with_full_6dof(world, api_as):
    ds = world["datasets"]["pub"]
    r = api_as("researcher").get(f"/api/v1/datasets/{ds.pk}/export/?format=json&labels=ground_truth")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    assert 'attachment; filename="pub-ground_truth-json.json"' in r["Content-Disposition"]
    doc = json.loads(b"".join(r.streaming_content))
    truth = _poses(ds)
    assert len(doc["faces"]) == len(truth) == 2
    for face in doc["faces"]:
        R, t = truth[face["image"]]
        assert np.abs(np.asarray(face["R"]) - R).max() < 1e-12 and np.allclose(face["t"], t)
        yaw, pitch, roll = geometry.matrix_to_euler(R)
        assert face["euler"] == pytest.approx({"yaw": yaw, "pitch": pitch, "roll": roll}, abs=1e-9)
        assert (face["origin"], face["origin_detail"], face["provenance"]["origin"]) == (
            "ground_truth",
            "pub",
            "ground_truth",
        )
        assert face["K"]
        # the pre-rename keys and values, still written for older readers
        assert (face["source"], face["source_detail"], face["provenance"]["source"]) == ("dataset", "pub", "dataset")


def test_jsonl_export_and_its_landmarks_option(world, api_as):
    ds, client = world["datasets"]["pub"], api_as("researcher")
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=jsonl&labels=ground_truth")
    assert r.status_code == 200 and r["Content-Disposition"].endswith('pub-ground_truth-jsonl.jsonl"')
    head, *faces = [json.loads(line) for line in b"".join(r.streaming_content).splitlines()]
    assert head["landmarks"] == "2d" and len(faces) == 2 and all(f["landmarks_3d"] is None for f in faces)
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=jsonl&landmarks=all")
    assert r.status_code == 400 and "landmarks" in r.json(), r.content


def test_labels_choice_accepted_and_proposer(world, api_as):
    ds = world["datasets"]["priv"]
    client = api_as("reviewer")
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=csv&labels=accepted")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    # bob's label is "corrected", which counts as accepted; only that face has one
    assert [(x["origin"], x["origin_detail"]) for x in rows] == [("annotator", "bob")]
    assert float(rows[0]["yaw"]) == pytest.approx(10.0, abs=1e-6)
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=csv&labels=proposals&proposer=landmarks-fit")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert len(rows) == 2 and {(x["origin"], x["origin_detail"]) for x in rows} == {("proposal", "landmarks-fit@1")}
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format=csv&labels=proposals&proposer=nobody")
    assert list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode()))) == []


@pytest.mark.parametrize(
    "query, field",
    [("format=xml", "format"), ("labels=some", "labels"), ("split=999999", "split"), ("split=abc", "split")],
)
def test_bad_export_options_are_400_with_the_field(world, api_as, query, field):
    ds = world["datasets"]["pub"]
    r = api_as("researcher").get(f"/api/v1/datasets/{ds.pk}/export/?{query}")
    assert r.status_code == 400 and field in r.json(), r.content


@override_settings(HEADPOSE_EXPORT_STREAM_MAX_FACES=1)
def test_too_large_to_answer_directly_points_to_a_job(world, api_as):
    ds = world["datasets"]["pub"]
    r = api_as("researcher").get(f"/api/v1/datasets/{ds.pk}/export/?format=csv")
    assert r.status_code == 400 and r.json()["code"] == "too_large_for_streaming" and r.json()["faces"] == 2


def test_aflw_mat_export_reimports_to_the_same_poses(aflw_samples_dir, world, api_as, tmp_path):
    """Real AFLW2000-3D samples: import, export as .mat, re-import the exported
    files (beside the original images) as a new dataset: identical poses."""
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    aflw = Dataset.objects.get(name="aflw")
    r = api_as("admin").get(f"/api/v1/datasets/{aflw.pk}/export/?format=aflw2000_mat&labels=ground_truth")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    exported = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    mats = [n for n in exported.namelist() if n.endswith(".mat")]
    assert len(mats) == 10
    # independent reader: Pose_Para angles equal the originals' (which came from the same convention)
    for name in mats:
        ours = scipy.io.loadmat(io.BytesIO(exported.read(name)))["Pose_Para"].reshape(-1)
        orig = scipy.io.loadmat(aflw_samples_dir / name)["Pose_Para"].reshape(-1)
        assert np.abs(ours[:3] - orig[:3]).max() < 1e-9, name
    bundle = tmp_path / "again.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        for name in mats:
            z.writestr(name, exported.read(name))
            jpg = name.replace(".mat", ".jpg")
            z.write(aflw_samples_dir / jpg, jpg)
    job = run_import_job(
        create_import_job(kind=Job.Kind.IMPORT_AFLW2000, dataset_name="aflw-again", server_path=str(bundle)).pk
    )
    assert job.state == Job.State.DONE and job.succeeded == 10, job.errors
    before, after = _poses(aflw), _poses(Dataset.objects.get(name="aflw-again"))
    assert before.keys() == after.keys() and len(before) == 10
    for name, (R, t) in before.items():
        R2, t2 = after[name]
        assert np.abs(R2 - R).max() < 1e-6 and np.abs(t2 - t).max() < 1e-6, name


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_large_export_runs_as_a_job_on_a_worker(celery_worker_process, world, api_as):
    ds = world["datasets"]["priv"]
    client = api_as("reviewer")
    r = client.post("/api/v1/exports/", {"dataset": ds.pk, "format": "coco", "labels": "best"}, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["state"] == "queued" and job["download_url"] is None
    deadline = time.monotonic() + 60
    while not job["is_finished"] and time.monotonic() < deadline:
        time.sleep(0.3)
        job = client.get(job["url"]).json()
    assert job["state"] == "done", job
    assert job["processed"] == job["total"] == 2 and job["percent"] == 100
    f = client.get(job["download_url"])
    assert f.status_code == 200
    doc = json.loads(b"".join(f.streaming_content))
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = doc
    coco.createIndex()
    assert len(coco.getAnnIds()) == 2 and len(coco.getImgIds()) == 2
    # the label of bob (best = accepted annotation) and the ground truth of the other face
    anns = coco.loadAnns(coco.getAnnIds())
    assert (
        sorted(a["origin"] for a in anns)
        == sorted(a["provenance"]["origin"] for a in anns)
        == ["annotator", "ground_truth"]
    )
    # the pre-rename keys and values, still written for older readers
    assert (
        sorted(a["source"] for a in anns) == sorted(a["provenance"]["source"] for a in anns) == ["annotator", "dataset"]
    )
    # someone else cannot see or download it
    assert api_as("researcher").get(job["url"]).status_code == 404
    assert api_as("researcher").get(job["download_url"]).status_code == 404
    assert any(j["id"] == job["id"] for j in client.get("/api/v1/exports/").json()["results"])


def test_provenance_times_are_the_stored_ones(world, api_as):
    from datetime import datetime

    ds = world["datasets"]["priv"]
    r = api_as("reviewer").get(f"/api/v1/datasets/{ds.pk}/export/?format=json&labels=accepted")
    (face,) = json.loads(b"".join(r.streaming_content))["faces"]
    stored = world["objects"]["priv"]["annotation"]
    stored.refresh_from_db()
    assert datetime.fromisoformat(face["provenance"]["updated_at"]) == stored.updated_at
    assert face["provenance"]["author"] == "bob" and face["provenance"]["version"] == stored.version
