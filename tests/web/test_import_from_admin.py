"""The admin's import page queues a Celery task that a real worker runs."""
import time
import zipfile

import pytest

from annotator.models import Image, Job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait(job, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job.state} after {seconds}s")


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


def test_an_uploaded_video_becomes_a_sequence_on_the_worker(celery_worker_process, admin_client, tmp_path):
    from annotator.models import Sequence
    from tests.web.test_import_video import aflw_frames, write_mp4

    video = write_mp4(tmp_path / "street.mp4", aflw_frames(12))
    with video.open("rb") as fh:
        response = admin_client.post("/admin/annotator/dataset/import/",
                                     {"kind": "import_video", "dataset": "clips", "upload": fh, "every": 2,
                                      "max_frames": 5})
    assert response.status_code == 302, response.content[:2000]
    job = _wait(Job.objects.get(kind="import_video"))
    assert job.state == "done" and job.input_name == "street.mp4"
    sequence = Sequence.objects.get(dataset__name="clips")
    assert (sequence.name, sequence.frame_count, sequence.fps) == ("street", 5, 12.5)
