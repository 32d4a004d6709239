"""No stranded job: leases (annotator.jobs.claim / stranded, annotator.leases),
the reaper (annotator.reaper), idempotent re-runs, the admin's Resume and the
pages that tell "queued, waiting for a worker" from "running".

What is sent is recorded at pipeline.enqueue (the broker is the fault tests'
business: tests/web/test_faults.py runs all this against real processes)."""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.common import jobs, leases, pipeline, reaper
from annotator.common.job_queue import BrokerUnavailable
from annotator.datasets import importing
from annotator.models import Dataset, Face, FaceMesh, Image, Job
from evaluation.models import Entry
from tests.browser.data import make_image, png_bytes
from tests.web.test_evaluation_validation import make_benchmark

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=1)


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "enqueue", lambda task, *args, job=None: calls.append((task, *args)))
    return calls


@pytest.fixture
def dataset():
    return Dataset.objects.create(name="d", kind=Dataset.Kind.IMAGES)


def _job(dataset, state="queued", age=LONG_AGO, heartbeat_age=None, **fields):
    job = Job.objects.create(kind=fields.pop("kind", Job.Kind.IMPORT_IMAGES), dataset=dataset, state=state, **fields)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        created_at=now - age, heartbeat_at=None if heartbeat_age is None else now - heartbeat_age
    )
    job.refresh_from_db()
    return job


def test_stranded_is_queued_or_running_without_a_fresh_lease(dataset):
    fresh_queued = _job(dataset, age=timedelta(0))
    old_queued = _job(dataset)
    resent_lately = _job(dataset, heartbeat_age=timedelta(seconds=1))
    dead = _job(dataset, "running", heartbeat_age=LONG_AGO)
    live = _job(dataset, "running", heartbeat_age=timedelta(seconds=1))
    _job(dataset, "done", heartbeat_age=LONG_AGO)
    _job(dataset, "failed")
    assert set(jobs.stranded(Job)) == {old_queued, dead}
    assert {j.pk: j.activity for j in (fresh_queued, dead, live)} == {
        fresh_queued.pk: "queued, waiting for a worker",
        dead.pk: "stalled (no live worker)",
        live.pk: live.activity,
    }
    assert re.fullmatch(r"running \(heartbeat [12] s ago\)", live.activity)
    assert resent_lately.activity == "queued, waiting for a worker"


def test_a_claim_is_taken_once_per_live_run(dataset):
    job = _job(dataset)
    assert jobs.claim(Job, job.pk)
    assert not jobs.claim(Job, job.pk)  # a duplicate delivery while the lease is fresh does nothing
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    assert jobs.claim(Job, job.pk)  # its worker died: the re-sent task takes it over
    Job.objects.filter(pk=job.pk).update(state="done", heartbeat_at=timezone.now() - LONG_AGO)
    assert not jobs.claim(Job, job.pk)


def test_the_reaper_resends_stranded_work_and_nothing_else(dataset, sent):
    old_import = _job(dataset)
    dead_import = _job(dataset, "running", heartbeat_age=LONG_AGO, processed=3)
    dead_export = _job(dataset, "running", kind=Job.Kind.EXPORT, heartbeat_age=LONG_AGO)
    _job(dataset, "running", heartbeat_age=timedelta(seconds=1))  # live
    _job(dataset, age=timedelta(0))  # just sent
    proposals = _job(
        dataset,
        "running",
        kind=Job.Kind.PROPOSE,
        heartbeat_age=LONG_AGO,
        total=5,
        options={"proposer": "p", "image_ids": [1, 2, 3, 4, 5], "batch_size": 2},
        result={"done_batches": ["3"]},
    )
    unresumable = _job(dataset, "running", kind=Job.Kind.PROPOSE, heartbeat_age=LONG_AGO, options={"proposer": "p"})

    counts = reaper.reap()

    assert counts["Job"] == 5 and counts["FaceMesh"] == 0
    assert sorted(sent, key=str) == sorted(
        [
            ("run_import_job", old_import.pk),
            ("run_import_job", dead_import.pk),
            ("run_export_job", dead_export.pk),
            ("propose_images", [1, 2], "p", proposals.pk),
            ("propose_images", [5], "p", proposals.pk),
        ],
        key=str,
    )
    for job in (old_import, dead_import, dead_export, proposals):
        job.refresh_from_db()
        assert job.state == "queued" and job.activity == "queued, waiting for a worker"
    assert dead_import.processed == 3  # the re-run recounts; nothing is reset by the reaper itself
    unresumable.refresh_from_db()
    assert unresumable.state == "failed" and unresumable.errors[-1]["message"] == reaper.NOT_RESUMABLE

    sent.clear()
    assert reaper.reap()["Job"] == 0 and sent == []  # re-sent rows hold a fresh lease


def test_the_reaper_resends_lost_meshes_and_entries(dataset, sent):
    image = make_image(dataset, "a.png")
    faces = [Face.objects.create(image=image, index=i, box=[0, 0, 1, 1]) for i in range(3)]
    FaceMesh.objects.bulk_create([FaceMesh(face=f) for f in faces[:2]] + [FaceMesh(face=faces[2], state="done")])
    FaceMesh.objects.filter(face=faces[0]).update(updated_at=timezone.now() - LONG_AGO)
    FaceMesh.objects.filter(face=faces[2]).update(updated_at=timezone.now() - LONG_AGO)
    benchmark, _ = make_benchmark(n=4)
    entry = Entry.objects.create(
        benchmark=benchmark,
        benchmark_version=1,
        split_version=1,
        kind=Entry.Kind.PROPOSER,
        name="run",
        total=4,
        state="running",
    )
    Entry.objects.filter(pk=entry.pk).update(heartbeat_at=timezone.now() - LONG_AGO)

    counts = reaper.reap()

    assert (counts["FaceMesh"], counts["Entry"]) == (1, 1)
    assert sorted(sent, key=str) == sorted([("mesh_faces", [faces[0].pk]), ("evaluate_entry", entry.pk)], key=str)
    entry.refresh_from_db()
    assert entry.state == "queued" and entry.activity == "queued, waiting for a worker"


def test_with_the_broker_down_the_reaper_fails_nothing(dataset, monkeypatch):
    def unreachable(*args, **kwargs):
        raise BrokerUnavailable()

    monkeypatch.setattr(pipeline, "enqueue", unreachable)
    job = _job(dataset, "running", heartbeat_age=LONG_AGO)
    assert reaper.reap().get("Job", 0) == 0
    job.refresh_from_db()
    assert job.state == "running" and jobs.stranded(Job).filter(pk=job.pk).exists()  # the next round tries again


def test_a_proposal_batch_is_counted_once(dataset):
    job = _job(dataset, "running", kind=Job.Kind.PROPOSE, total=4)
    jobs.advance_shared(Job, job.pk, processed=2, succeeded=2, batch="1")
    again = jobs.advance_shared(Job, job.pk, processed=2, succeeded=2, batch="1")  # a re-sent batch
    assert (again.processed, again.succeeded, again.state) == (2, 2, "running")
    last = jobs.advance_shared(Job, job.pk, processed=2, succeeded=2, batch="3")
    assert (last.processed, last.succeeded, last.state, last.result["done_batches"]) == (4, 4, "done", ["1", "3"])


def test_an_import_run_again_after_its_worker_died_counts_each_image_once(tmp_path, settings):
    settings.HEADPOSE_AUTO_MESH = settings.HEADPOSE_AUTO_PROPOSE = False
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(png_bytes(16, 16, seed=i))
    job = importing.create_import_job(kind=Job.Kind.IMPORT_IMAGES, dataset_name="again", server_path=str(tmp_path))
    assert jobs.claim(Job, job.pk)
    importing.run_import_job(job.pk)
    # as a worker killed after storing every image but before finishing leaves it
    Job.objects.filter(pk=job.pk).update(
        state="running", processed=2, succeeded=2, heartbeat_at=timezone.now() - LONG_AGO
    )
    assert jobs.claim(Job, job.pk)
    job = importing.run_import_job(job.pk)
    assert (job.state, job.total, job.processed, job.succeeded, job.unchanged) == ("done", 5, 5, 5, 0)
    assert Image.objects.filter(dataset=job.dataset).count() == 5
    # another job over the same files: already there
    other = importing.run_import_job(
        importing.create_import_job(kind=Job.Kind.IMPORT_IMAGES, dataset_name="again", server_path=str(tmp_path)).pk
    )
    assert (other.succeeded, other.unchanged) == (0, 5)


@pytest.mark.django_db(transaction=True)
def test_a_lease_is_renewed_while_the_block_runs_and_stops_after(dataset):
    job = _job(dataset, "running", heartbeat_age=LONG_AGO)
    with leases.held(Job.objects.filter(pk=job.pk), every_s=0.05):
        deadline = timezone.now() + timedelta(seconds=10)
        while jobs.stranded(Job).filter(pk=job.pk).exists():
            assert timezone.now() < deadline, "the lease was never renewed"
    beat = Job.objects.get(pk=job.pk).heartbeat_at
    assert not jobs.stranded(Job).filter(pk=job.pk).exists()
    time.sleep(0.2)  # several beat periods: a stopped lease writes nothing more
    assert Job.objects.get(pk=job.pk).heartbeat_at == beat


def test_the_admin_resumes_a_stuck_job_and_leaves_a_live_one(admin_client, dataset, sent):
    stuck = _job(dataset, "running", heartbeat_age=LONG_AGO)
    live = _job(dataset, "running", heartbeat_age=timedelta(seconds=1))
    page = admin_client.get(reverse("admin:annotator_job_change", args=[stuck.pk])).content.decode()
    assert 'id="resume-job"' in page and "stalled (no live worker)" in page
    live_page = admin_client.get(reverse("admin:annotator_job_change", args=[live.pk])).content.decode()
    assert 'id="resume-job"' not in live_page, live_page[live_page.find("resume-job") - 500 :][:1000]
    assert re.search(r"running \(heartbeat \d+ s ago\)", live_page)

    r = admin_client.post(reverse("admin:annotator_job_resume", args=[stuck.pk]))
    assert r.status_code == 302 and sent == [("run_import_job", stuck.pk)]
    stuck.refresh_from_db()
    assert stuck.state == "queued"

    sent.clear()
    r = admin_client.post(
        reverse("admin:annotator_job_changelist"), {"action": "resume", "_selected_action": [live.pk]}
    )
    assert r.status_code == 302 and sent == []
    live.refresh_from_db()
    assert live.state == "running"


def test_the_export_page_tells_waiting_from_running(admin_client, dataset, alice):
    job = _job(
        dataset, kind=Job.Kind.EXPORT, age=timedelta(0), created_by=alice, options={"format": "json", "labels": "best"}
    )
    assert "queued, waiting for a worker" in admin_client.get(reverse("export_job", args=[job.pk])).content.decode()
    Job.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now())
    polled = admin_client.get(reverse("api-export", args=[job.pk])).json()
    assert polled["activity"].startswith("running (heartbeat") and polled["heartbeat_age_s"] < 60


def test_the_entry_page_tells_waiting_from_running(admin_client):
    benchmark, _ = make_benchmark(n=4)
    entry = Entry.objects.create(
        benchmark=benchmark, benchmark_version=1, split_version=1, kind=Entry.Kind.PROPOSER, name="run", total=4
    )
    page = admin_client.get(reverse("entry_detail", args=[entry.pk])).content.decode()
    assert "Waiting for a worker" in page and "(queued, waiting for a worker)" in page
    Entry.objects.filter(pk=entry.pk).update(state="running", heartbeat_at=timezone.now())
    page = admin_client.get(reverse("entry_detail", args=[entry.pk])).content.decode()
    assert "Running on the workers" in page and re.search(r"\(running \(heartbeat \d+ s ago\)\)", page)


def test_the_visibility_timeout_outlasts_any_task_and_the_reaper_comes_first():
    from django.conf import settings

    from workers.celery import app

    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout == settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == 3 * 3600
    # a dead worker's job is re-sent by the reaper long before Redis would re-deliver it
    assert timeout / 10 > settings.HEADPOSE_JOB_LEASE_S + settings.HEADPOSE_REAP_EVERY_S
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost


def test_each_round_brings_lagging_consensus_rows_up_to_date(sent, django_user_model):
    """A save only marks its face's consensus due (quality/services.annotation_changed);
    a reaper round, as every worker runs, writes the row, and the next round finds nothing."""
    from annotator.labeling.services import save_annotation
    from annotator.models import Assignment, ConsensusDue, FaceConsensus, Role
    from tests.browser.data import make_dataset
    from workers.core import geometry

    ds = make_dataset("due", n_faces=1, overlap=2)
    face = Face.objects.get(image__dataset=ds)
    for name, yaw in (("ann", 10.0), ("bea", 14.0)):
        user = django_user_model.objects.create_user(name, password="x")
        Assignment.objects.create(dataset=ds, user=user, role=Role.ANNOTATOR)
        save_annotation(
            face=face, author=user, R=geometry.euler_to_matrix([yaw, 0, 0]), t=[0, 0, 650], status="corrected",
            expected_version=0,
        )  # fmt: skip
    assert ConsensusDue.objects.filter(face=face).exists() and not FaceConsensus.objects.filter(face=face).exists()
    reaper.reap()
    consensus = FaceConsensus.objects.get(face=face)
    assert consensus.member_count == 2 and not ConsensusDue.objects.exists()
    assert consensus.dispersion_deg == pytest.approx(2.0, abs=1e-6)
