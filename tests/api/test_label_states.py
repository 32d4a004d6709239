"""The dataset page's per-face label state (unlabeled, labeled, in review,
flagged, approved, rejected): shown on each face, counted, filterable; an
annotator's view comes from their own labels only."""

import re

import pytest
from django.test import Client

from annotator.labeling.services import save_annotation
from annotator.models import Face
from annotator.review import queue as reviewing
from annotator.review.services import review_annotation
from tests.api.conftest import label
from tests.browser.data import make_dataset

pytestmark = pytest.mark.django_db


def faces_by_state(html: str) -> dict[int, str]:
    return {int(f): s for f, s in re.findall(r'data-face="(\d+)" data-state="(\w+)"', html)}


@pytest.fixture
def six(world):
    """One face in each state, in a dataset bob labels and dave reviews."""
    from annotator.models import Assignment, Role

    users = world["users"]
    ds = make_dataset("six", n_faces=6, with_files=True)
    Assignment.objects.create(dataset=ds, user=users["annotator"], role=Role.ANNOTATOR)
    Assignment.objects.create(dataset=ds, user=users["reviewer"], role=Role.REVIEWER)
    f = list(Face.objects.filter(image__dataset=ds).order_by("image__file_name"))
    bob, dave = users["annotator"], users["reviewer"]
    labeled = label(f[1], bob, [1.0, 0.0, 0.0])
    held = label(f[2], bob, [2.0, 0.0, 0.0])
    reviewing.renew_claim(dave, held)
    save_annotation(
        face=f[3], author=bob, R=labeled.R, t=labeled.t, status="flagged", flag_reason="occluded", expected_version=0
    )
    review_annotation(
        annotation=label(f[4], bob, [4.0, 0.0, 0.0]), reviewer=dave, decision="approved", expected_version=1
    )
    review_annotation(
        annotation=label(f[5], bob, [5.0, 0.0, 0.0]),
        reviewer=dave,
        decision="rejected",
        reason="position",
        expected_version=1,
    )
    label(f[0], users["admin"], [0.0, 0.0, 0.0], status="draft")  # a draft is not a label
    expected = dict(zip((x.pk for x in f), ["unlabeled", "labeled", "in_review", "flagged", "approved", "rejected"]))
    return ds, expected


def page(world, role, ds, query=""):
    client = Client()
    client.force_login(world["users"][role])
    r = client.get(f"/datasets/{ds.name}/{query}")
    assert r.status_code == 200
    return r.content.decode()


def test_each_face_shows_its_state_and_the_filter_keeps_only_that_state(world, six):
    ds, expected = six
    assert faces_by_state(page(world, "reviewer", ds)) == expected
    html = page(world, "reviewer", ds)
    for state in set(expected.values()):
        assert re.search(rf'data-state="{state}"[^>]*>[^<]*<b>1</b>', html), state
        assert faces_by_state(page(world, "reviewer", ds, f"?state={state}")) == {
            f: s for f, s in expected.items() if s == state
        }
    assert faces_by_state(page(world, "reviewer", ds, "?state=nonsense")) == expected  # unknown: all faces


def test_an_annotator_sees_states_from_their_own_labels_only(world, six):
    ds, expected = six
    # alice's draft and an approved label of someone else on face 0 never show to bob
    first = min(expected)
    review_annotation(
        annotation=label(Face.objects.get(pk=first), world["users"]["other_annotator"], [9.0, 0.0, 0.0]),
        reviewer=world["users"]["reviewer"],
        decision="approved",
        expected_version=1,
    )
    assert faces_by_state(page(world, "reviewer", ds))[first] == "approved"
    assert faces_by_state(page(world, "annotator", ds))[first] == "unlabeled"


def test_start_reviewing_links_only_for_reviewers_of_the_dataset(world, six):
    ds, _ = six
    link = f'href="/review/datasets/{ds.name}/"'
    for role, shown in (("reviewer", True), ("admin", True), ("annotator", False)):
        client = Client()
        client.force_login(world["users"][role])
        assert (link in client.get("/").content.decode()) is shown, role
        assert (link in page(world, role, ds)) is shown, role
