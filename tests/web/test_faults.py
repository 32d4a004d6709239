"""Faults with real processes: Redis restarted empty mid-job, a whole worker
killed with SIGKILL mid-import (its copy of an upload removed by the re-run),
mid-propose and mid-mesh, a database connection dropped mid-request (answered
503 in the API's error shape). Each job ends complete exactly once with its
progress right.

Every process here is private to the test and killed by its PID (or process
group): a redis-server on its own port, solo Celery workers on it (a short lease
and reap interval so a lost task is re-sent within seconds), gunicorn. Jobs are
created as rows only: the workers' reaper sends them, as it does for a job whose
message Redis lost."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.core.files import File
from django.utils import timezone

from annotator.common import job_tmp
from annotator.datasets import importing
from annotator.models import Face, FaceMesh, Image, Job, Proposal
from tests.browser.data import png_bytes
from tests.conftest import _database_url
from tests.servers import Browser, celery_worker, kill_worker, server_env, web_server
from tools.redis_server import start_private_redis
from workers.core.formats.archive import pack_folder

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE_S = 3  # the live worker renews every 0.75 s; a dead one's work is re-sent 3-4 s after it died
WAIT_S = 90


def _worker_env(redis_url: str, **extra) -> dict:
    return server_env(
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
        CACHE_URL=redis_url,
        HEADPOSE_JOB_LEASE_S=LEASE_S,
        HEADPOSE_REAP_EVERY_S=0.5,
        HEADPOSE_AUTO_MESH="False",
        HEADPOSE_AUTO_PROPOSE="False",
        **extra,
    )


@pytest.fixture
def redis():
    proc, url = start_private_redis()
    yield proc, url
    proc.kill()
    proc.wait()


def _poll(predicate, why: str, seconds: float = WAIT_S, every_s: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {seconds} s: {why}")


def _image_folder(path, n: int):
    path.mkdir()
    for i in range(n):  # distinct content: every file is a new image
        (path / f"img{i:04d}.png").write_bytes(png_bytes(24, 24, seed=i))
    return path


def _import_job(tmp_path, name: str, n: int) -> Job:
    return importing.create_import_job(
        kind=Job.Kind.IMPORT_IMAGES, dataset_name=name, server_path=str(_image_folder(tmp_path / name, n))
    )


def _job(pk: int) -> Job:
    return Job.objects.get(pk=pk)


def _assert_import_done_once(job: Job, n: int) -> None:
    job.refresh_from_db()
    assert (job.state, job.total, job.processed, job.succeeded, job.unchanged, job.errors) == (
        "done",
        n,
        n,
        n,
        0,
        [],
    ), job.errors
    assert Image.objects.filter(dataset=job.dataset).count() == n
    assert Image.objects.filter(dataset=job.dataset).values("checksum").distinct().count() == n


def _running_mid_way(pk: int, n: int) -> bool:
    job = _job(pk)
    assert job.state not in ("done", "done_with_errors", "failed"), "finished before the fault was injected"
    return job.state == "running" and 0 < job.processed < n


def test_redis_restarted_empty_mid_job_the_lost_jobs_are_sent_again(redis, tmp_path):
    proc, url = redis
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    n = 300
    running, waiting = _import_job(tmp_path, "first", n), _import_job(tmp_path, "second", n)
    log = tmp_path / "worker.log"
    with celery_worker(log, _worker_env(url), name="faults-redis"):
        # the solo worker runs one import; the other waits in Redis
        first = _poll(
            lambda: next((pk for pk in (running.pk, waiting.pk) if _running_mid_way(pk, n)), None), "an import mid-way"
        )
        proc.kill()
        proc.wait()
        restarted, _ = start_private_redis(port=port)  # empty: the waiting job's message is gone
        try:
            _poll(lambda: all(_job(pk).is_finished for pk in (running.pk, waiting.pk)), "both imports finished")
        finally:
            restarted.kill()
            restarted.wait()
    for job in (running, waiting):
        _assert_import_done_once(job, n)
    lost = waiting.pk if first == running.pk else running.pk
    text = log.read_text()
    # Sent by the reaper once (created, never sent). Its message is then either gone
    # with the old Redis, and the reaper sends it again, or it was already in the
    # worker's hands (kombu puts back what it holds on reconnection): then it is
    # received after the reconnection without a second send. Either way once.
    resent_after_restart = text.count(f"re-sending stranded Job {lost} (queued") >= 2
    held_by_the_worker = f"'job': {lost}, 'state': 'done'" in text.split("Connection to broker lost", 1)[-1]
    assert text.count(f"re-sending stranded Job {lost} (queued") >= 1
    assert resent_after_restart or held_by_the_worker, text[-3000:]


def test_worker_killed_mid_import_a_new_worker_completes_it_once(redis, tmp_path):
    _, url = redis
    n = 300
    job = _import_job(tmp_path, "killed", n)
    env = _worker_env(url)
    with celery_worker(tmp_path / "worker.log", env, name="faults-a") as worker:
        _poll(lambda: _running_mid_way(job.pk, n), "the import mid-way")
        kill_worker(worker)
    stopped_at = _job(job.pk).processed
    with celery_worker(tmp_path / "worker.log", env, name="faults-b"):
        _poll(lambda: _job(job.pk).is_finished, "the import finished by the second worker")
    assert stopped_at < n
    _assert_import_done_once(job, n)


def test_worker_killed_mid_import_of_an_upload_its_local_copy_goes_with_the_rerun(redis, tmp_path):
    """The killed run's copy of the upload stays behind (no `finally` runs on
    SIGKILL); the next worker's run of the job removes it, and removes its own."""
    _, url = redis
    n = 300
    packed = tmp_path / "upload.zip"
    with packed.open("wb") as out:
        pack_folder(_image_folder(tmp_path / "upload", n), out)
    with packed.open("rb") as fh:
        job = importing.create_import_job(
            kind=Job.Kind.IMPORT_IMAGES, dataset_name="killed-upload", upload=File(fh, name="upload.zip")
        )
    env = _worker_env(url)
    with celery_worker(tmp_path / "worker.log", env, name="faults-a") as worker:
        _poll(lambda: _running_mid_way(job.pk, n), "the import mid-way")
        kill_worker(worker)
    assert [p.name for p in job_tmp.folder(job.pk).iterdir()] == ["upload.zip"]  # left by the killed run
    with celery_worker(tmp_path / "worker.log", env, name="faults-b"):
        _poll(lambda: _job(job.pk).is_finished, "the import finished by the second worker")
    _assert_import_done_once(job, n)
    assert not job_tmp.folder(job.pk).exists()


@pytest.fixture
def aflw_faces(aflw_samples_dir, settings):
    settings.HEADPOSE_AUTO_MESH = settings.HEADPOSE_AUTO_PROPOSE = False
    job = importing.run_import_job(
        importing.create_import_job(
            kind=Job.Kind.IMPORT_AFLW2000, dataset_name="aflw", server_path=str(aflw_samples_dir)
        ).pk
    )
    assert job.state == "done"
    return job.dataset


def test_worker_killed_mid_propose_a_new_worker_completes_it_once(redis, tmp_path, aflw_faces):
    _, url = redis
    ids = list(Image.objects.filter(dataset=aflw_faces).order_by("pk").values_list("pk", flat=True))
    faces_before = Face.objects.count()
    # what start_proposals records, in batches of 2 so the kill lands between batches
    job = Job.objects.create(
        kind=Job.Kind.PROPOSE,
        dataset=aflw_faces,
        total=len(ids),
        options={"proposer": "landmarks-fit", "image_ids": ids, "batch_size": 2},
    )
    env = _worker_env(url)
    with celery_worker(tmp_path / "worker.log", env, name="faults-a") as worker:
        _poll(lambda: _running_mid_way(job.pk, len(ids)), "the proposals mid-way", every_s=0.02)
        kill_worker(worker)
    with celery_worker(tmp_path / "worker.log", env, name="faults-b"):
        _poll(lambda: _job(job.pk).is_finished, "the proposals finished by the second worker")
    job.refresh_from_db()
    assert (job.state, job.total, job.processed, job.succeeded) == ("done", 10, 10, 10)
    assert sorted(job.result["done_batches"]) == sorted(str(ids[i]) for i in range(0, 10, 2))
    assert Proposal.objects.filter(proposer="landmarks-fit").count() == 10  # one per face, none twice
    assert Proposal.objects.values("face").distinct().count() == 10
    assert Face.objects.count() == faces_before  # every proposal landed on its known face


def test_worker_killed_mid_mesh_a_new_worker_meshes_every_face_once(redis, tmp_path, aflw_faces):
    _, url = redis
    faces = list(Face.objects.filter(image__dataset=aflw_faces).values_list("pk", flat=True))
    # what queue_meshes leaves when its message is lost: queued rows, sent long ago
    FaceMesh.objects.bulk_create([FaceMesh(face_id=pk) for pk in faces])
    FaceMesh.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    env = _worker_env(url)

    def done() -> int:
        return FaceMesh.objects.filter(state=FaceMesh.State.DONE).count()

    with celery_worker(tmp_path / "worker.log", env, name="faults-a") as worker:
        _poll(
            lambda: 0 < done() < len(faces) or (done() == len(faces) and pytest.fail("meshed before the kill")),
            "meshing mid-way",
            every_s=0.02,
        )
        kill_worker(worker)
    meshed_before = done()
    with celery_worker(tmp_path / "worker.log", env, name="faults-b"):
        _poll(lambda: not FaceMesh.objects.filter(state=FaceMesh.State.QUEUED).exists(), "every face meshed")
    assert 0 < meshed_before < len(faces)
    assert FaceMesh.objects.count() == len(faces)
    assert dict(FaceMesh.objects.values_list("face_id", "state")) == dict.fromkeys(faces, "done")
    assert all(m.glb and m.n_triangles > 0 for m in FaceMesh.objects.all())


# gunicorn keeps a connection per worker; runserver lends pooled ones (each checked when lent)
@pytest.mark.parametrize("kind", ["gunicorn", "runserver"])
def test_a_database_connection_dropped_mid_request_the_next_request_works(
    kind, django_user_model, real_password_hasher, tmp_path
):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("drops a PostgreSQL backend (pg_terminate_backend)")
    django_user_model.objects.create_superuser("alice", "a@example.com", "pw-alice-long")
    url = _database_url(connection.settings_dict)
    # persistent connections: the health check must catch a dead one; DEBUG off: the error page a user gets
    env = server_env(DATABASE_CONN_MAX_AGE=60, DEBUG="False")
    with web_server(kind, tmp_path / "web.log", env, workers=1) as base:
        browser = Browser(base)
        assert browser.log_in("alice", "pw-alice-long").status_code == 302
        assert browser.get("/api/v1/annotations/").status_code == 200

        def web_backends(lock_waiting: bool) -> list[int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND (NOT %s OR wait_event_type = 'Lock')",
                    [lock_waiting],
                )
                return [pid for (pid,) in cursor.fetchall()]

        def terminate(pids) -> None:
            with connection.cursor() as cursor:
                for pid in pids:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

        # dropped between requests: the kept connection is dead, the next request reconnects
        terminate(web_backends(lock_waiting=False))
        assert browser.get("/api/v1/annotations/").status_code == 200

        # dropped mid-request: the request waits on a lock this test holds, then its connection is killed
        with psycopg.connect(url, autocommit=False) as holder:
            holder.execute("LOCK TABLE annotator_annotation IN ACCESS EXCLUSIVE MODE")
            answers = {}
            request = threading.Thread(target=lambda: answers.update(r=browser.get("/api/v1/annotations/")))
            request.start()
            stuck = _poll(lambda: web_backends(lock_waiting=True), "the request waiting on the lock", seconds=30)
            terminate(stuck)
            request.join(timeout=30)
            holder.rollback()
        failed = answers["r"]  # the API's error shape, not an error page (annotator/common/middleware.py)
        assert failed.status_code == 503 and failed.json()["code"] == "database_unavailable", failed.text[:500]
        assert failed.headers["Retry-After"]
        for _ in range(3):
            assert browser.get("/api/v1/annotations/").status_code == 200
