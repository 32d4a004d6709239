"""The admin's import page queues a Celery task that a real worker runs."""

import time
import zipfile

import pytest

from annotator.models import Image, Job

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(job, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job.state} after {seconds}s")


@pytest.mark.worker
def test_an_uploaded_zip_is_imported_by_the_worker(celery_worker_process, admin_client, tmp_path, aflw_samples_dir):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(aflw_samples_dir.glob("image0*"))[:6]:
            zf.write(p, p.name)
        zf.writestr("broken.jpg", b"\xff\xd8 not really")
    with archive.open("rb") as fh:
        response = admin_client.post(
            "/admin/annotator/dataset/import/", {"kind": "import_aflw2000", "dataset": "uploaded", "upload": fh}
        )
    assert response.status_code == 302, response.content[:2000]
    job = _wait(Job.objects.get())
    assert job.state == "done_with_errors" and job.input_name == "upload.zip"  # what the user uploaded
    assert job.succeeded == 3 and any(e["name"] == "broken.jpg" for e in job.errors)
    assert Image.objects.filter(dataset__name="uploaded").count() == 3
    page = admin_client.get(f"/admin/annotator/job/{job.pk}/change/").content.decode()
    assert "broken.jpg" in page and "hp-progress" in page


@pytest.mark.worker
def test_a_server_folder_is_read_by_the_worker_not_packed_in_the_request(
    celery_worker_process, admin_client, aflw_samples_dir
):
    response = admin_client.post(
        "/admin/annotator/dataset/import/",
        {"kind": "import_aflw2000", "dataset": "from-folder", "server_path": str(aflw_samples_dir)},
    )
    assert response.status_code == 302, response.content[:2000]
    job = Job.objects.get()
    assert not job.upload  # nothing was copied into storage by the web request
    job = _wait(job)
    assert job.state == "done" and job.succeeded == Image.objects.filter(dataset__name="from-folder").count() > 0
    assert not job.upload


def test_a_server_path_missing_on_the_workers_host_fails_the_job_with_the_reason(tmp_path):
    from annotator.datasets import importing

    folder = tmp_path / "only-on-the-web-host"
    folder.mkdir()
    job = importing.create_import_job(kind="import_images", dataset_name="elsewhere", server_path=str(folder))
    folder.rmdir()  # what a worker on another host sees of it
    job = importing.run_import_job(job.pk)
    assert job.state == "failed" and "not on this worker's host" in job.errors[-1]["message"]


def test_the_import_form_needs_an_input(admin_client):
    response = admin_client.post("/admin/annotator/dataset/import/", {"kind": "import_images", "dataset": "x"})
    assert response.status_code == 200
    assert "Name a folder or .zip on the server, or upload a .zip." in response.content.decode()
    assert not Job.objects.exists()


def test_a_server_path_that_does_not_exist_is_a_form_error(admin_client):
    response = admin_client.post(
        "/admin/annotator/dataset/import/", {"kind": "import_images", "dataset": "x", "server_path": "/no/such"}
    )
    assert "no such file or folder" in response.content.decode()


@pytest.mark.worker
def test_an_uploaded_video_becomes_a_sequence_on_the_worker(celery_worker_process, admin_client, tmp_path):
    from annotator.models import Sequence
    from tests.web.test_import_video import aflw_frames, write_mp4

    video = write_mp4(tmp_path / "street.mp4", aflw_frames(12))
    with video.open("rb") as fh:
        response = admin_client.post(
            "/admin/annotator/dataset/import/",
            {"kind": "import_video", "dataset": "clips", "upload": fh, "every": 2, "max_frames": 5},
        )
    assert response.status_code == 302, response.content[:2000]
    job = _wait(Job.objects.get(kind="import_video"))
    assert job.state == "done" and job.input_name == "street.mp4"
    sequence = Sequence.objects.get(dataset__name="clips")
    assert (sequence.name, sequence.frame_count, sequence.fps) == ("street", 5, 12.5)


# --- who may import, and how much (annotator/datasets/admin.py) -------------------------------

IMPORT_URL = "/admin/annotator/dataset/import/"


@pytest.fixture
def queued(monkeypatch):
    """The jobs the import page queues (no worker here: recorded, not sent)."""
    from annotator.datasets import importing

    sent = []

    def queue(job, **options):
        assert options == {"upload_server_path": False}  # the web request packs nothing
        sent.append(job)

    monkeypatch.setattr(importing, "queue_import_job", queue)
    return sent


def _staff(django_user_model, client, *codenames):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("stan", "stan@example.com", "pw-stan", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="annotator", codename__in=codenames))
    client.force_login(user)
    return user


def test_staff_without_dataset_permissions_cannot_import(django_user_model, client, tmp_path, queued):
    _staff(django_user_model, client, "view_job")
    assert client.get("/admin/annotator/dataset/").status_code == 403
    assert client.get(IMPORT_URL).status_code == 403
    r = client.post(IMPORT_URL, {"kind": "import_images", "dataset": "mine", "server_path": str(tmp_path)})
    assert r.status_code == 403
    assert not Job.objects.exists() and queued == []


def test_the_change_permission_imports_into_a_dataset_and_the_add_permission_makes_one(
    django_user_model, client, tmp_path, queued
):
    from annotator.models import Dataset

    Dataset.objects.create(name="existing", kind="images")
    _staff(django_user_model, client, "change_dataset")
    assert client.get(IMPORT_URL).status_code == 200
    r = client.post(IMPORT_URL, {"kind": "import_images", "dataset": "brand-new", "server_path": str(tmp_path)})
    assert r.status_code == 200 and "you may not add datasets" in r.content.decode()
    assert not Dataset.objects.filter(name="brand-new").exists() and queued == []
    r = client.post(IMPORT_URL, {"kind": "import_images", "dataset": "existing", "server_path": str(tmp_path)})
    assert r.status_code == 302 and [job.dataset.name for job in queued] == ["existing"]


def test_a_server_folder_over_the_cap_is_refused_before_it_is_queued(admin_client, tmp_path, settings, queued):
    settings.HEADPOSE_MAX_IMPORT_UPLOAD_BYTES = 10_000
    (tmp_path / "a.jpg").write_bytes(b"x" * 6_000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jpg").write_bytes(b"x" * 6_000)
    r = admin_client.post(IMPORT_URL, {"kind": "import_images", "dataset": "big", "server_path": str(tmp_path)})
    assert r.status_code == 200 and "HEADPOSE_MAX_IMPORT_UPLOAD_BYTES" in r.content.decode()
    assert not Job.objects.exists() and queued == []
    (tmp_path / "sub" / "b.jpg").unlink()
    r = admin_client.post(IMPORT_URL, {"kind": "import_images", "dataset": "big", "server_path": str(tmp_path)})
    assert r.status_code == 302 and len(queued) == 1


def test_an_upload_over_the_cap_is_a_413_and_nothing_is_spooled(admin_client, settings, tmp_path):
    from tests.api.test_request_limits import CountingStream, _multipart

    settings.HEADPOSE_MAX_IMPORT_UPLOAD_BYTES = 10_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    body, content_type = _multipart(200_000)
    stream = CountingStream(body)
    r = admin_client.generic(
        "POST", IMPORT_URL, content_type=content_type, **{"CONTENT_LENGTH": str(len(body)), "wsgi.input": stream}
    )
    assert r.status_code == 413 and b"HEADPOSE_MAX_IMPORT_UPLOAD_BYTES" in r.content
    assert stream.bytes_read == 0 and list(tmp_path.iterdir()) == [] and not Job.objects.exists()
