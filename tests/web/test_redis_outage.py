"""Redis down: pages and the API keep answering (sessions come from the
database), endpoints that start jobs answer 503 at once and leave no job
'queued'; Redis back (restarted empty): jobs run again.

Real processes: a private redis-server on its own port (never the machine's),
gunicorn and a Celery worker pointed at it, on the test database."""

import time

import pytest
import requests

from annotator.accounts.tokens import create_token
from annotator.common.job_queue import QUEUE_UNREACHABLE
from annotator.models import Face, Job
from tests.browser.data import add_proposal, make_dataset
from tests.servers import Browser, celery_worker, server_env, web_server
from tools.redis_server import start_private_redis, with_db

# Generous for a loaded CI machine; measured here: a few ms with Redis refusing connections.
JOB_REFUSAL_MAX_S = 3.0
EXPORT = {"format": "csv", "labels": "proposals"}


def _env(redis_url: str) -> dict:
    return server_env(
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=with_db(redis_url, 0),
        CELERY_RESULT_BACKEND=with_db(redis_url, 0),
        CACHE_URL=with_db(redis_url, 1),
        HEADPOSE_EXPORT_STREAM_MAX_FACES=0,
    )  # every export is a job


@pytest.mark.django_db(transaction=True)
def test_pages_and_api_survive_redis_down_and_jobs_resume(django_user_model, real_password_hasher, tmp_path):
    django_user_model.objects.create_superuser("alice", "a@example.com", "pw-alice-long")
    user = django_user_model.objects.get(username="alice")
    dataset = make_dataset("outage", n_faces=3)
    for face in Face.objects.filter(image__dataset=dataset):
        add_proposal(face, "landmarks-fit")
    _, key = create_token(user=user, name="outage")
    redis, redis_url = start_private_redis()
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    env = _env(redis_url)
    try:
        with celery_worker(tmp_path / "worker.log", env), web_server("gunicorn", tmp_path / "web.log", env) as base:

            def api(method, path, **kwargs):
                return requests.request(
                    method, base + path, headers={"Authorization": f"Token {key}"}, timeout=30, **kwargs
                )

            browser = Browser(base)
            assert browser.log_in("alice", "pw-alice-long").status_code == 302
            assert browser.get("/").status_code == 200

            redis.kill()
            redis.wait()

            # pages: an existing session, a new login, a dataset page
            assert browser.get("/").status_code == 200
            assert browser.get(f"/datasets/{dataset.name}/").status_code == 200
            fresh = Browser(base)
            assert fresh.get("/accounts/login/").status_code == 200
            assert fresh.log_in("alice", "pw-alice-long").status_code == 302
            assert fresh.get("/").status_code == 200
            # the API's lists
            for path in (
                "/api/v1/me/",
                "/api/v1/datasets/",
                "/api/v1/faces/",
                "/api/v1/annotations/",
                "/api/v1/proposals/",
                "/api/v1/exports/",
            ):
                assert api("GET", path).status_code == 200, path
            assert browser.get("/api/v1/datasets/").status_code == 200  # session auth too

            # starting a job: 503 with the reason, quickly, and the job row says why
            started = time.monotonic()
            refused = api("POST", "/api/v1/exports/", json={"dataset": dataset.pk, **EXPORT})
            elapsed = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.json() == {"detail": QUEUE_UNREACHABLE, "code": "broker_unavailable"}
            assert refused.headers["Retry-After"]
            assert elapsed < JOB_REFUSAL_MAX_S
            page = browser.post(f"/datasets/{dataset.name}/export/", data=EXPORT)
            assert page.status_code == 503 and QUEUE_UNREACHABLE in page.text
            jobs = list(Job.objects.filter(kind=Job.Kind.EXPORT))
            assert len(jobs) == 2
            assert all(j.state == Job.State.FAILED and j.errors[-1]["message"] == QUEUE_UNREACHABLE for j in jobs)
            assert not Job.objects.filter(state=Job.State.QUEUED).exists()

            # Redis back, empty: a new export runs to the end on the worker
            redis, _ = start_private_redis(port)
            deadline = time.monotonic() + 90
            accepted = api("POST", "/api/v1/exports/", json={"dataset": dataset.pk, **EXPORT})
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["id"]
            while (state := api("GET", f"/api/v1/exports/{job_id}/").json()["state"]) != "done":
                assert state in ("queued", "running") and time.monotonic() < deadline, state
                time.sleep(0.5)
            download = api("GET", f"/api/v1/exports/{job_id}/download/")
            assert download.status_code == 200 and download.content.count(b"\n") == 1 + 3  # header + a row per face
    finally:
        redis.kill()
        redis.wait()
