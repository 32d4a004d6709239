"""Media on S3-compatible object storage (moto's server, tests/s3_server.py):
imports, meshes and downloads go through the storage API, never MEDIA_ROOT."""

import shutil
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from annotator.datasets import importing
from annotator.models import Dataset, Image, Job
from config.storage import media_storage
from tests.s3_server import s3_server, storages_setting, stored_keys

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as env:
        yield env


@pytest.fixture
def on_s3(s3_env, settings):
    settings.STORAGES = storages_setting(s3_env)
    return s3_env


def _media_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_import_stores_its_images_in_the_bucket_and_a_download_is_a_presigned_redirect(
    on_s3, aflw_samples_dir, admin_client
):
    before = _media_files()
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="on-s3", verbosity=0)
    images = Image.objects.filter(dataset__name="on-s3").order_by("file_name")
    assert images.count() == 10
    assert {i.file.name for i in images} <= set(stored_keys(on_s3))
    assert _media_files() == before  # nothing written under MEDIA_ROOT

    image = images.first()
    response = admin_client.get(reverse("label-image", args=[image.pk]))
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(on_s3["AWS_S3_ENDPOINT_URL"]) and "Signature=" in location and "Expires=" in location
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == (aflw_samples_dir / image.file_name).read_bytes()
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert fetched.headers["Content-Disposition"].startswith("inline")
    # unsigned, the object is not public
    assert requests.get(location.split("?")[0], timeout=10).status_code == 403


def test_a_queued_server_folder_is_uploaded_first_and_the_import_reads_only_the_upload(
    on_s3, aflw_samples_dir, tmp_path
):
    folder = tmp_path / "aflw"
    shutil.copytree(aflw_samples_dir, folder)
    job = importing.create_import_job(kind=Job.Kind.IMPORT_AFLW2000, dataset_name="packed", server_path=str(folder))
    with transaction.atomic():
        importing.queue_import_job(job)  # sent on commit; no worker here, the test runs it below
    job.refresh_from_db()
    assert job.upload.name.endswith(".zip") and job.upload.name in stored_keys(on_s3)
    shutil.rmtree(folder)  # what a worker on another host sees of this path: nothing
    job = importing.run_import_job(job.pk)
    assert (job.state, job.succeeded, job.errors) == ("done", 10, [])
    assert Image.objects.filter(dataset__name="packed").count() == 10


def test_an_upload_missing_from_storage_fails_the_job_with_the_reason(on_s3, aflw_samples_dir):
    job = importing.create_import_job(
        kind=Job.Kind.IMPORT_AFLW2000, dataset_name="gone", server_path=str(aflw_samples_dir)
    )
    importing.queue_import_job(job)
    job.upload.storage.delete(job.upload.name)
    job = importing.run_import_job(job.pk)
    assert job.state == "failed" and "import stopped" in job.errors[-1]["message"]
    assert not Dataset.objects.get(name="gone").images.exists()


def test_the_storage_setting_is_checked():
    settings_of = lambda **values: lambda name, default=None: values.get(name, default)  # noqa: E731
    assert media_storage(settings_of())["BACKEND"].endswith("FileSystemStorage")
    s3 = media_storage(settings_of(HEADPOSE_STORAGE="S3", AWS_STORAGE_BUCKET_NAME="b"))
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage" and s3["OPTIONS"]["default_acl"] is None
    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        media_storage(settings_of(HEADPOSE_STORAGE="s3"))
    with pytest.raises(ImproperlyConfigured, match="filesystem or s3"):
        media_storage(settings_of(HEADPOSE_STORAGE="nfs"))
