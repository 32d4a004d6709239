import pytest

from workers import tasks

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_round_trips_through_a_real_worker(celery_worker_process):
    result = tasks.ping.apply_async(["hello"], ignore_result=False)  # results are off by default
    reply = result.get(timeout=30)
    assert reply["payload"] == "hello"
    assert reply["device"] in ("cpu", "cuda")
    assert celery_worker_process.poll() is None  # the worker did it, and is still alive
