"""One bad stored row never breaks an export: a legacy row written around the
services (t = 1e308, behind the camera, R not a rotation) refuses the export
with the list of EVERY offending face, on the API, the page, the command and a
job; with skip_invalid (--skip-invalid) the rest is written and what was
skipped is named (X-Skipped-Faces, SKIPPED_FACES.json in zips, the job)."""

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings

from annotator.exports.services import run_export_job
from annotator.labeling.services import set_ground_truth
from annotator.models import Annotation, Face, Job
from tests.browser.data import make_image
from workers.core import geometry
from workers.core.exports import FORMATS, SKIPPED_MANIFEST

pytestmark = pytest.mark.django_db
ALL = sorted(FORMATS)


@pytest.fixture
def broken(world):
    """Dataset 'pub' (2 faces with ground truth) plus a third face; two of the
    three ground-truth rows corrupted directly (ORM and SQL), as legacy rows are."""
    ds = world["datasets"]["pub"]
    image = make_image(ds, "zz-extra.png", with_file=True, seed=7)
    face = Face.objects.create(image=image, box=[90, 60, 230, 190])
    set_ground_truth(face=face, R=geometry.euler_to_matrix([1.0, 2.0, 3.0]), t=[0, 0, 700])
    gts = list(Annotation.objects.filter(dataset=ds, origin="ground_truth").order_by("face__image__file_name"))
    assert len(gts) == 3
    Annotation.objects.filter(pk=gts[0].pk).update(t=[1e308, 1e308, 1e308])
    with connection.cursor() as cur:  # behind the camera, straight into the table
        cur.execute(f"UPDATE {Annotation._meta.db_table} SET t = %s WHERE id = %s", ["[0, 0, -650]", gts[2].pk])
    bad = [gts[0].face, gts[2].face]
    return ds, bad, gts[1].face


def _names(faces):
    return [f"{f.image.file_name} face {f.index}" for f in faces]


@pytest.mark.parametrize("fmt", ALL)
def test_api_refuses_listing_every_bad_face_then_skips_them_on_request(broken, api_as, fmt):
    ds, bad, good = broken
    client = api_as("researcher")
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format={fmt}&labels=ground_truth")
    assert r.status_code == 422, r.content[:300]
    body = r.json()
    assert body["code"] == "invalid_faces" and "2 face(s) cannot be written" in body["detail"]
    assert [f["face_id"] for f in body["invalid_faces"]] == [f.pk for f in bad]
    for name in _names(bad):
        assert name in body["detail"]
    r = client.get(f"/api/v1/datasets/{ds.pk}/export/?format={fmt}&labels=ground_truth&skip_invalid=1")
    assert r.status_code == 200
    assert r["X-Skipped-Faces"] == f"2; face_ids={bad[0].pk},{bad[1].pk}"
    data = b"".join(r.streaming_content)
    if FORMATS[fmt].extension == ".zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read(SKIPPED_MANIFEST))
            assert [f["face_id"] for f in manifest["faces"]] == [f.pk for f in bad]
            members = [n for n in zf.namelist() if n != SKIPPED_MANIFEST]
            stem = lambda face: face.image.file_name.rsplit(".", 1)[0]  # noqa: E731
            assert any(stem(good) in n for n in members)
            assert not any(stem(b) in n for b in bad for n in members)
    else:
        text = data.decode()
        assert good.image.file_name in text and not any(b.image.file_name in text for b in bad)


def test_the_page_names_every_bad_face_and_skips_them_when_ticked(broken, client, world):
    ds, bad, good = broken
    client.force_login(world["users"]["researcher"])
    assert b'name="skip_invalid"' in client.get(f"/datasets/{ds.name}/").content
    r = client.post(f"/datasets/{ds.name}/export/", {"format": "csv", "labels": "ground_truth"}, follow=True)
    assert r.status_code == 200 and b"2 face(s) cannot be written" in r.content
    for name in _names(bad):
        assert name.encode() in r.content
    r = client.post(f"/datasets/{ds.name}/export/", {"format": "csv", "labels": "ground_truth", "skip_invalid": "1"})
    assert r.status_code == 200 and r["X-Skipped-Faces"].startswith("2; ")
    assert good.image.file_name in b"".join(r.streaming_content).decode()


@pytest.mark.parametrize("fmt", ALL)
def test_the_command_lists_every_bad_face_and_skips_with_the_flag(broken, tmp_path, capsys, fmt):
    ds, bad, _good = broken
    out = tmp_path / ("x" + FORMATS[fmt].extension)
    with pytest.raises(CommandError, match="2 face\\(s\\) cannot be written"):
        call_command("export_labels", dataset=ds.name, format=fmt, labels="ground_truth", output=str(out))
    assert not out.exists()
    err = capsys.readouterr().err
    assert all(f"cannot be written: {name}" in err for name in _names(bad))
    call_command(
        "export_labels", dataset=ds.name, format=fmt, labels="ground_truth", output=str(out), skip_invalid=True
    )
    err = capsys.readouterr().err
    assert all(f"skipped: {name}" in err for name in _names(bad)) and "1 rows, 2 faces skipped" in err
    if FORMATS[fmt].extension == ".zip":
        with zipfile.ZipFile(out) as zf:
            assert json.loads(zf.read(SKIPPED_MANIFEST))["skipped"] == 2


@override_settings(HEADPOSE_EXPORT_STREAM_MAX_FACES=1)
def test_a_job_fails_listing_every_bad_face_or_skips_them(broken, world, api_as, django_capture_on_commit_callbacks):
    ds, bad, _good = broken
    client = api_as("researcher")
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(
            "/api/v1/exports/", {"dataset": ds.pk, "format": "biwi_pose", "labels": "ground_truth"}, format="json"
        )
    job = run_export_job(r.json()["id"])  # what the worker runs
    assert job.state == Job.State.FAILED
    assert [e["face_id"] for e in job.errors] == [f.pk for f in bad]
    body = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert [e["message"].split(":")[0] for e in body["errors"]] == _names(bad)
    with django_capture_on_commit_callbacks(execute=False):
        r = client.post(
            "/api/v1/exports/",
            {"dataset": ds.pk, "format": "biwi_pose", "labels": "ground_truth", "skip_invalid": True},
            format="json",
        )
    job = run_export_job(r.json()["id"])
    assert job.state == Job.State.DONE and job.result["rows"] == 1
    body = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert [f["face_id"] for f in body["result"]["skipped"]] == [f.pk for f in bad]
    browser = Client()
    browser.force_login(world["users"]["researcher"])
    html = browser.get(f"/exports/{job.pk}/").content.decode()
    assert "2</strong> face(s) skipped" in html and all(name in html for name in _names(bad))
    with zipfile.ZipFile(io.BytesIO(b"".join(client.get(body["download_url"]).streaming_content))) as zf:
        assert json.loads(zf.read(SKIPPED_MANIFEST))["skipped"] == 2
