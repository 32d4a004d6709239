"""annotator/jobs.py: one lifecycle (start, advance, finish, fail, requeue)
and one progress shape for import/export/proposal Jobs and benchmark entries."""

import pytest
from django.urls import reverse

from annotator.common import jobs
from annotator.management import progress
from annotator.models import Dataset, Job
from evaluation.models import Entry
from tests.web.test_evaluation_validation import make_benchmark

pytestmark = pytest.mark.django_db


@pytest.fixture
def job():
    ds = Dataset.objects.create(name="d")
    return Job.objects.create(
        kind=Job.Kind.IMPORT_IMAGES,
        dataset=ds,
        total=3,
        processed=2,
        succeeded=2,
        unchanged=1,
        errors=[{"name": "old", "message": "from the last run"}],
    )


@pytest.fixture
def entry():
    benchmark, _ = make_benchmark(n=4)
    return Entry.objects.create(
        benchmark=benchmark,
        benchmark_version=1,
        split_version=1,
        kind=Entry.Kind.PROPOSER,
        name="run",
        total=4,
        processed=2,
        message="stopped",
    )


def test_a_fresh_start_zeroes_the_counters_and_problems(job):
    jobs.start(job, total=5)
    job.refresh_from_db()
    assert (job.state, job.total, job.processed, job.succeeded, job.unchanged, job.errors) == (
        "running",
        5,
        0,
        0,
        0,
        [],
    )
    assert job.started_at is not None and job.finished_at is None


def test_a_resumed_start_keeps_what_is_done(entry):
    jobs.start(entry)  # the first start stamps started_at
    first = Entry.objects.get(pk=entry.pk).started_at
    entry.processed = 2
    jobs.advance(entry)
    jobs.fail(entry, "worker lost")
    again = Entry.objects.get(pk=entry.pk)
    jobs.start(again, resume=True)
    again.refresh_from_db()
    assert (again.state, again.processed, again.started_at, again.finished_at) == ("running", 2, first, None)


def test_advance_writes_only_the_named_counters(job):
    Job.objects.filter(pk=job.pk).update(result={"kept": True})  # written elsewhere meanwhile
    job.processed, job.succeeded = 3, 3
    jobs.advance(job, ["processed"])
    job.refresh_from_db()
    assert (job.processed, job.succeeded, job.result) == (3, 2, {"kept": True})


def test_finish_with_errors_and_without(job, entry):
    jobs.finish(job, ["processed"])
    assert Job.objects.get(pk=job.pk).state == Job.State.DONE_WITH_ERRORS  # the old error is still listed
    job.errors = []
    jobs.finish(job)
    assert Job.objects.get(pk=job.pk).state == Job.State.DONE
    jobs.finish(entry)
    entry.refresh_from_db()
    assert (entry.state, entry.message) == (Entry.State.DONE, "") and entry.finished_at is not None


def test_fail_puts_the_reason_where_each_kind_keeps_problems(job, entry):
    jobs.fail(job, "import stopped: not a zip", name="x.zip")
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.errors[-1] == {"name": "x.zip", "message": "import stopped: not a zip"}
    jobs.fail(entry, "E" * 5000)
    entry.refresh_from_db()
    assert entry.state == Entry.State.FAILED and entry.message == "E" * jobs.MAX_MESSAGE_CHARS
    assert entry.finished_at is not None


def test_requeue_clears_the_last_message(entry, job):
    jobs.requeue(entry)
    jobs.requeue(job)
    entry.refresh_from_db()
    job.refresh_from_db()
    assert (entry.state, entry.message, job.state) == ("queued", "", "queued")


def test_stored_errors_are_capped_with_one_line_saying_so(job):
    job.errors = []
    for k in range(jobs.MAX_STORED_ERRORS + 5):
        jobs.add_error(job, f"f{k}", "bad")
    assert len(job.errors) == jobs.MAX_STORED_ERRORS + 1
    assert job.errors[-1] == {"name": "", "message": "more errors were not stored"}


def test_shared_work_finishes_with_its_last_batch(job):
    Job.objects.filter(pk=job.pk).update(total=4, processed=0, succeeded=0, errors=[], state="queued")
    first = jobs.advance_shared(Job, job.pk, processed=2, succeeded=2)
    assert (first.state, first.processed) == ("running", 2) and first.started_at is not None
    last = jobs.advance_shared(Job, job.pk, processed=2, succeeded=1, errors=[{"name": "a.jpg", "message": "bad"}])
    assert (last.state, last.processed, last.succeeded, len(last.errors)) == ("done_with_errors", 4, 3, 1)
    assert last.finished_at is not None
    assert jobs.advance_shared(Job, 10**9, processed=1) is None


def test_progress_has_one_shape_for_jobs_and_entries(job, entry):
    waiting = {"is_finished": False, "activity": "queued, waiting for a worker", "heartbeat_age_s": None}
    assert jobs.progress(job) == {"state": "queued", "processed": 2, "total": 3, "percent": 66, **waiting}
    assert jobs.progress(entry) == {"state": "queued", "processed": 2, "total": 4, "percent": 50, **waiting}
    job.total, job.state = 0, "done"
    assert jobs.progress(job)["percent"] == 100 and job.percent == 100 and job.is_finished
    assert entry.percent == 50 and not entry.is_finished


def test_the_polled_pages_get_their_progress_from_the_one_function(admin_client, alice, job, entry):
    export = Job.objects.create(
        kind=Job.Kind.EXPORT,
        dataset=job.dataset,
        created_by=alice,
        total=10,
        processed=4,
        options={"format": "json", "labels": "best"},
        state="running",
    )
    polled_job = admin_client.get(reverse("api-export", args=[export.pk])).json()
    polled_entry = admin_client.get(reverse("api_entry", args=[entry.pk])).json()
    for polled, obj in ((polled_job, export), (polled_entry, entry)):
        expected = jobs.progress(obj)
        assert {k: polled[k] for k in expected} == expected


def test_follow_shows_the_bar_until_the_work_is_finished(job, capsys):
    Job.objects.filter(pk=job.pk).update(state="done", processed=3)  # finished by a worker meanwhile
    followed = progress.follow(job, progress.ProgressBar("import d", unit="file"), poll_s=0.01)
    assert followed.state == "done" and followed.processed == 3
    shown = capsys.readouterr().err
    assert "import d" in shown and "3/3" in shown and "errors=1" in shown
