"""Every page, admin action and API call that starts work answers 503 with the
reason when the broker is unreachable, and leaves the job or entry failed with
that reason (never 'queued' forever). The broker here is a real Redis URL on a
port nobody listens on; the Redis-down-and-back run with real server processes
is tests/web/test_redis_outage.py."""

import pytest
from django.urls import reverse

from annotator.common.job_queue import QUEUE_UNREACHABLE
from annotator.models import Job
from evaluation.models import Entry
from tests.browser.data import make_dataset
from tests.web.test_evaluation_validation import make_benchmark
from tools.redis_server import free_port
from workers.celery import app

pytestmark = pytest.mark.django_db(transaction=True)  # tasks are sent on commit


@pytest.fixture
def broker_down(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # Celery reads it first
    app._pool, app.amqp._producer_pool = None, None  # the next send connects to the new URL
    yield
    monkeypatch.undo()
    app._pool, app.amqp._producer_pool = None, None


def _refused_page(response):
    assert response.status_code == 503
    assert QUEUE_UNREACHABLE in response.content.decode()
    assert response["Retry-After"]


def _failed_job(kind):
    job = Job.objects.get(kind=kind)
    assert job.state == Job.State.FAILED and job.errors[-1]["message"] == QUEUE_UNREACHABLE
    assert job.finished_at is not None


def test_admin_import(broker_down, admin_client, tmp_path):
    (tmp_path / "empty").mkdir()
    response = admin_client.post(
        reverse("admin:annotator_dataset_import"),
        {"kind": Job.Kind.IMPORT_IMAGES, "dataset": "new-one", "server_path": str(tmp_path / "empty")},
    )
    _refused_page(response)
    _failed_job(Job.Kind.IMPORT_IMAGES)


def test_admin_propose_and_mesh_actions(broker_down, admin_client):
    dataset = make_dataset("lab", n_faces=2)
    url = reverse("admin:annotator_dataset_changelist")
    _refused_page(admin_client.post(url, {"action": "propose_poses", "_selected_action": [dataset.pk]}))
    _failed_job(Job.Kind.PROPOSE)
    _refused_page(admin_client.post(url, {"action": "build_meshes", "_selected_action": [dataset.pk]}))


def test_export_page_and_api(broker_down, admin_client, settings):
    settings.HEADPOSE_EXPORT_STREAM_MAX_FACES = 0  # every export is a job
    dataset = make_dataset("lab", n_faces=2)
    _refused_page(
        admin_client.post(reverse("dataset_export", args=[dataset.name]), {"format": "csv", "labels": "proposals"})
    )
    api = admin_client.post(
        "/api/v1/exports/",
        {"dataset": dataset.pk, "format": "csv", "labels": "proposals"},
        content_type="application/json",
    )
    assert api.status_code == 503 and api.json() == {"detail": QUEUE_UNREACHABLE, "code": "broker_unavailable"}
    assert api["Retry-After"]
    assert list(Job.objects.values_list("state", flat=True)) == [Job.State.FAILED] * 2


def test_leaderboard_run_a_proposer(broker_down, admin_client):
    benchmark, _ = make_benchmark(n=3)
    _refused_page(admin_client.post(reverse("leaderboard_run", args=[benchmark.pk]), {"proposer": "landmarks-fit"}))
    entry = Entry.objects.get()
    assert entry.state == Entry.State.FAILED and entry.message == QUEUE_UNREACHABLE
