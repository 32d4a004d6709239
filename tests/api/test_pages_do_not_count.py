"""Pages that do not count the world (issue 27, item 2): the dataset, home and
quality pages read the dataset's summary (datasets/services.current_summaries)
and page the faces by keyset, so they issue the same queries at two sizes; the
dataset page walks every face through next / previous; a large dataset's stale
quality report is shown with its age while a worker recomputes it."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotator.common import pipeline
from annotator.datasets.models import DatasetSummary
from annotator.datasets.services import refresh_summary
from annotator.models import Annotation, Assignment, Dataset, Face, QualitySnapshot, Role
from annotator.quality.services import refresh
from tests.api.bulk_rows import bulk_faces, bulk_labels

pytestmark = pytest.mark.django_db


def grow(dataset: Dataset, n: int, authors) -> None:
    """n more faces in name order after the ones there, every other one labeled by
    each of `authors`, one label in five rejected."""
    faces = bulk_faces(dataset, n)[::2]
    for k, author in enumerate(authors):
        bulk_labels(faces, author, review_state=lambda j, k=k: "rejected" if (j + k) % 5 == 0 else "")


@pytest.fixture
def scaled(world, settings, monkeypatch):
    """A dataset counted by a worker (no inline counting), its annotator and reviewer,
    and the tasks the pages send (recorded, not sent)."""
    settings.HEADPOSE_SUMMARY_INLINE_FACES = 0
    sent = []
    monkeypatch.setattr(pipeline, "enqueue", lambda name, *args, job=None: sent.append((name, *args)))
    users = world["users"]
    dataset = Dataset.objects.create(name="scaled")
    for role, user in ((Role.ANNOTATOR, users["annotator"]), (Role.REVIEWER, users["reviewer"])):
        Assignment.objects.create(dataset=dataset, user=user, role=role)
    cache.clear()
    return dataset, users, sent


def get(client, url: str):
    """GET, running what the request left for its commit (in a test's transaction nothing commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.get(url)


def clients(users):
    out = {}
    for role in ("admin", "annotator", "reviewer"):
        out[role] = Client()
        out[role].force_login(users[role])
    return out


def query_counts(dataset, web) -> dict[str, int]:
    """Queries of each page as its user sees it (the summary and the report counted before)."""
    refresh_summary(dataset)
    refresh(dataset)
    QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)  # a save since
    cache.clear()
    middle = Face.objects.filter(image__dataset=dataset).order_by("image__file_name")[20].pk
    urls = {
        "dataset": ("admin", f"/datasets/{dataset.name}/"),
        "dataset_deep": ("admin", f"/datasets/{dataset.name}/?after={middle}"),
        "dataset_back": ("admin", f"/datasets/{dataset.name}/?before={middle}"),
        "dataset_rejected": ("admin", f"/datasets/{dataset.name}/?state=rejected"),
        "dataset_annotator": ("annotator", f"/datasets/{dataset.name}/?state=labeled"),
        "home": ("annotator", "/"),
        "quality": ("reviewer", f"/datasets/{dataset.name}/quality/"),
    }
    counts = {}
    for name, (role, url) in urls.items():
        get(web[role], url)  # warm: sessions, content types
        with CaptureQueriesContext(connection) as ctx:
            r = get(web[role], url)
        assert r.status_code == 200, (name, r.status_code)
        counts[name] = len(ctx.captured_queries)
    return counts


def test_the_pages_issue_the_same_queries_at_two_sizes(scaled):
    dataset, users, sent = scaled
    web = clients(users)
    grow(dataset, 60, [users["annotator"], users["other_annotator"]])
    small = query_counts(dataset, web)
    assert ("refresh_quality", dataset.pk) in sent  # the stale report went to a worker, not recomputed here
    grow(dataset, 240, [users["annotator"], users["other_annotator"]])
    assert query_counts(dataset, web) == small


def test_the_figures_come_from_the_summary_and_a_worker_counts_them_again(scaled):
    dataset, users, sent = scaled
    web = clients(users)
    grow(dataset, 10, [users["annotator"]])
    refresh_summary(dataset)
    grow(dataset, 10, [users["annotator"]])  # not counted yet
    html = get(web["admin"], f"/datasets/{dataset.name}/").content.decode()
    assert re.search(r"all <b>10</b>", html) and "counted" in html
    assert not any(name == "refresh_dataset_summary" for name, *_ in sent)  # fresh: nothing sent
    DatasetSummary.objects.filter(pk=dataset.pk).update(computed_at=timezone.now() - timedelta(hours=1))
    for _ in range(2):  # old: sent to a worker once, the page still shows the stored figures
        assert re.search(r"all <b>10</b>", get(web["admin"], f"/datasets/{dataset.name}/").content.decode())
    assert [s for s in sent if s[0] == "refresh_dataset_summary"] == [("refresh_dataset_summary", dataset.pk)]
    from workers.tasks import refresh_dataset_summary

    assert refresh_dataset_summary.run(dataset.pk)["faces"] == 20  # what the worker does
    assert re.search(r"all <b>20</b>", get(web["admin"], f"/datasets/{dataset.name}/").content.decode())


def test_next_and_previous_walk_every_face_once(scaled):
    dataset, users, _ = scaled
    web = clients(users)
    grow(dataset, 110, [users["annotator"]])
    refresh_summary(dataset)
    names = list(
        Face.objects.filter(image__dataset=dataset).order_by("image__file_name", "index").values_list("pk", flat=True)
    )

    def walk(url, rel):
        seen, pages = [], []
        while url:
            html = get(web["admin"], url).content.decode()
            page = [int(f) for f in re.findall(r'data-face="(\d+)"', html)]
            pages.append(page)
            seen += page
            link = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
            url = f"/datasets/{dataset.name}/" + link.group(1).replace("&amp;", "&") if link else None
        return seen, pages

    forward, pages = walk(f"/datasets/{dataset.name}/", "next")
    assert forward == names and [len(p) for p in pages] == [48, 48, 14]
    _backward, pages = walk(f"/datasets/{dataset.name}/?before={names[-1]}", "prev")
    assert [f for p in reversed(pages) for f in p] == names[:-1]
    rejected, _ = walk(f"/datasets/{dataset.name}/?state=rejected", "next")
    assert (
        rejected == [f for f in names if Annotation.objects.filter(face_id=f, review_state="rejected").exists()]
        and rejected
    )
    # a cursor from elsewhere (another dataset's face, junk) is the first page
    assert get(web["admin"], f"/datasets/{dataset.name}/?after=999999999&before=x").status_code == 200


def test_a_large_datasets_quality_page_shows_its_stale_report_with_its_age(scaled):
    dataset, users, sent = scaled
    web = clients(users)
    grow(dataset, 6, [users["annotator"], users["other_annotator"]])
    refresh_summary(dataset)
    html = get(web["reviewer"], f"/datasets/{dataset.name}/quality/").content.decode()
    assert 'id="quality-stale"' in html and "not been computed yet" in html  # never computed: sent, not run here
    assert ("refresh_quality", dataset.pk) in sent
    from workers.tasks import refresh_quality

    refresh_quality.run(dataset.pk)  # the worker
    html = get(web["reviewer"], f"/datasets/{dataset.name}/quality/").content.decode()
    assert 'id="quality-stale"' not in html and 'id="scores"' in html
    QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)
    html = get(web["reviewer"], f"/datasets/{dataset.name}/quality/").content.decode()
    assert 'id="quality-stale"' in html and "ago" in html and 'id="scores"' in html
