"""The export form of the dataset page, the export job page, the token page and
the export_labels command."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from annotator.models import ApiToken, Job

pytestmark = pytest.mark.django_db


def test_small_export_from_the_dataset_page_downloads(world, client):
    client.force_login(world["users"]["researcher"])
    page = client.get("/datasets/pub/")
    assert b'id="export"' in page.content and b"aflw2000_mat" in page.content
    r = client.post("/datasets/pub/export/", {"format": "csv", "labels": "ground_truth"})
    assert r.status_code == 200 and r["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert len(rows) == 2 and {x["origin"] for x in rows} == {"ground_truth"}


@override_settings(HEADPOSE_EXPORT_STREAM_MAX_FACES=1)
def test_large_export_from_the_page_becomes_a_job_page(world, client, django_capture_on_commit_callbacks):
    client.force_login(world["users"]["researcher"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        r = client.post("/datasets/pub/export/", {"format": "json", "labels": "best"})
    assert r.status_code == 302 and len(queued) == 1
    job = Job.objects.get(kind="export")
    assert r["Location"] == f"/exports/{job.pk}/"
    page = client.get(r["Location"])
    assert page.status_code == 200 and b"queued" in page.content.lower()
    from annotator.exports.services import run_export_job

    run_export_job(job.pk)  # what the worker runs (the worker itself: test_exports_api.py)
    body = client.get(f"/api/v1/exports/{job.pk}/download/")
    assert len(json.loads(b"".join(body.streaming_content))["faces"]) == 2


def test_annotators_get_no_export_form_and_a_refusal(world, client):
    client.force_login(world["users"]["annotator"])
    assert b'id="export"' not in client.get("/datasets/priv/").content
    r = client.post("/datasets/priv/export/", {"format": "csv"}, follow=True)
    assert b"Exports are for reviewers" in r.content
    assert client.post("/datasets/hidden/export/", {"format": "csv"}).status_code == 404


def test_bad_export_form_values_come_back_as_a_message(world, client):
    client.force_login(world["users"]["researcher"])
    r = client.post("/datasets/pub/export/", {"format": "xml"}, follow=True)
    assert r.status_code == 200 and b"format" in r.content and b"not a valid choice" in r.content


def test_token_page_creates_shows_once_and_revokes(world, client):
    client.force_login(world["users"]["reviewer"])
    r = client.post("/account/tokens/", {"name": "laptop", "read_only": "on"})
    assert r.status_code == 200
    token = ApiToken.objects.get(name="laptop")
    key = r.context["new_key"]
    assert key.encode() in r.content and token.read_only
    assert key.encode() not in client.get("/account/tokens/").content  # never shown again
    r = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None and b"revoked" in r.content
    # someone else's token cannot be revoked from here
    other = ApiToken.objects.filter(user=world["users"]["researcher"]).first()
    assert client.post(f"/account/tokens/{other.pk}/revoke/").status_code == 404
    assert client.post("/account/tokens/", {"name": ""}).context["form"].errors["name"]


def test_export_labels_command_all_formats_and_errors(world, tmp_path):
    for fmt in ("json", "csv", "coco", "aflw2000_mat", "biwi_pose"):
        out = tmp_path / f"x.{fmt}"
        call_command(
            "export_labels", dataset="pub", format=fmt, labels="ground_truth", output=str(out), stderr=io.StringIO()
        )
        assert out.stat().st_size > 0
    with pytest.raises(CommandError, match="no dataset"):
        call_command("export_labels", dataset="nope", stderr=io.StringIO())
    with pytest.raises(CommandError, match="no split"):
        call_command("export_labels", dataset="pub", split="nope", stderr=io.StringIO())
    with pytest.raises(CommandError, match="--output"):
        call_command("export_labels", dataset="pub", format="aflw2000_mat", stderr=io.StringIO())


def test_a_face_that_cannot_be_written_is_a_message_not_a_500(world, client):
    from annotator.models import Annotation

    gt = world["objects"]["pub"]["ground_truth"]
    Annotation.objects.filter(pk=gt.pk).update(R=[2, 0, 0, 0, 1, 0, 0, 0, 1])  # corrupted outside the services
    client.force_login(world["users"]["researcher"])
    r = client.post("/datasets/pub/export/", {"format": "csv", "labels": "ground_truth"}, follow=True)
    assert r.status_code == 200 and b"cannot be written" in r.content and gt.face.image.file_name.encode() in r.content
