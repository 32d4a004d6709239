"""A job's temporary files live in its own folder (annotator/common/job_tmp.py):
an import's local copy of its upload is there while it runs and gone after;
what a killed run left is removed by the job's next run or by a reaper round,
and a live run's folder is left alone. A worker SIGKILLed mid-import of an
upload: tests/web/test_faults.py."""

import io
import tempfile
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from annotator.common import job_tmp, jobs, pipeline, reaper
from annotator.datasets import importing
from annotator.models import Dataset, Job
from tests.browser.data import png_bytes

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=1)


@pytest.fixture(autouse=True)
def tmp_dir(tmp_path, settings):
    settings.HEADPOSE_JOB_TMP_DIR = tmp_path / "jobs-tmp"
    settings.HEADPOSE_AUTO_MESH = settings.HEADPOSE_AUTO_PROPOSE = False
    return settings.HEADPOSE_JOB_TMP_DIR


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "enqueue", lambda task, *args, job=None: calls.append((task, *args)))
    return calls


def _zip_of_images(n: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(n):
            archive.writestr(f"img{i}.png", png_bytes(16, 16, seed=i))
    return buffer.getvalue()


def _upload_job(n: int = 3) -> Job:
    upload = SimpleUploadedFile("faces.zip", _zip_of_images(n), content_type="application/zip")
    return importing.create_import_job(kind=Job.Kind.IMPORT_IMAGES, dataset_name="tmpjob", upload=upload)


def _run_watching_its_folder(job: Job) -> tuple[Job, list]:
    """Runs the import; returns it and what its folder held at each progress report."""
    seen: list = []

    def look(j: Job) -> None:
        path = job_tmp.folder(j.pk)
        seen.append(sorted(path.iterdir()) if path.exists() else None)

    return importing.run_import_job(job.pk, on_progress=look), seen


def test_an_import_copies_its_upload_into_its_own_folder_and_removes_it(tmp_dir, tmp_path, monkeypatch):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # this process's "system temporary folder"
    job = _upload_job()
    job, seen = _run_watching_its_folder(job)
    assert (job.state, job.succeeded) == ("done", 3)
    assert seen[0] == [job_tmp.folder(job.pk) / "upload.zip"] and seen[-1] is None  # while it ran; after
    assert not job_tmp.folder(job.pk).exists() and list(tmp_dir.iterdir()) == []
    assert list(system_tmp.iterdir()) == []  # nothing named in the system's temporary folder


def test_a_killed_import_rerun_removes_what_the_killed_run_left(tmp_dir):
    job = _upload_job()
    # what a worker SIGKILLed after copying the upload leaves: its copy, a running row with a dead lease
    importing._local_copy(job)
    (job_tmp.folder(job.pk) / "partial.bin").write_bytes(b"x" * 1024)
    Job.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now() - LONG_AGO)
    assert jobs.claim(Job, job.pk)
    job, seen = _run_watching_its_folder(job)
    assert (job.state, job.succeeded) == ("done", 3)
    assert seen[0] == [job_tmp.folder(job.pk) / "upload.zip"]  # the killed run's other file went at the start
    assert list(tmp_dir.iterdir()) == []


def test_the_reaper_removes_the_folders_of_jobs_no_live_worker_runs(tmp_dir, sent):
    dataset = Dataset.objects.create(name="d", kind=Dataset.Kind.IMAGES)
    now = timezone.now()

    def job(state, heartbeat_age):
        row = Job.objects.create(kind=Job.Kind.IMPORT_IMAGES, dataset=dataset, state=state)
        Job.objects.filter(pk=row.pk).update(created_at=now - LONG_AGO, heartbeat_at=now - heartbeat_age)
        (job_tmp.fresh_folder(row.pk) / "upload.zip").write_bytes(b"x" * 4096)
        return row.pk

    killed = job("running", LONG_AGO)  # its worker died: re-sent, and its copy removed
    live = job("running", timedelta(seconds=1))  # a live worker runs it: left alone
    failed = job("failed", LONG_AGO)
    done = job("done", timedelta(seconds=1))
    gone = 10**9
    job_tmp.fresh_folder(gone)
    (tmp_dir / "not-a-job").mkdir()

    reaper.reap()

    assert sent == [("run_import_job", killed)]
    assert sorted(p.name for p in tmp_dir.iterdir()) == [f"job-{live}", "not-a-job"]
    assert (job_tmp.folder(live) / "upload.zip").exists()
    assert {killed, failed, done, gone}.isdisjoint({int(p.name[4:]) for p in tmp_dir.glob("job-*")})


def test_a_reaper_round_without_a_temporary_folder_is_fine(tmp_dir, sent):
    assert not tmp_dir.exists()
    assert job_tmp.sweep() == []
    reaper.reap()
