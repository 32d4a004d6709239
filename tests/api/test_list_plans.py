"""Every list filter and page query uses an index (issue 27, item 4): EXPLAIN on a
populated PostgreSQL database finds no sequential scan of faces or annotations.

The database holds the dataset the queries ask for (SIZE faces) beside a larger
one (10 x SIZE), and the plans are read with enable_seqscan off: on a few
thousand rows a sequential scan may honestly be the cheapest plan, so the
question asked is whether an index *can* serve the query; PostgreSQL still scans
sequentially (at a prohibitive cost) where none can. One query is one line of
QUERIES."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from annotator.datasets.selectors import face_list, image_list
from annotator.labeling import queue, queue_entries
from annotator.labeling.selectors import annotation_list, face_page_query
from annotator.models import Annotation, Dataset, Face
from annotator.review.selectors import QUEUE_SIZE_CAP, awaiting_review
from tests.api.bulk_rows import bulk_faces, bulk_labels

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plans"),
]

SIZE = 300
TABLES = ("annotator_face", "annotator_annotation", "annotator_queueentry")


def _page(qs, size=101):
    return qs.order_by("id")[:size]


# name -> the query, from the populated rows (`p`: admin, dataset, a face in the middle, the annotator)
QUERIES = {
    "api annotations": lambda p: _page(annotation_list(p["admin"], {"dataset": p["dataset"].pk})),
    "api annotations deep": lambda p: _page(
        annotation_list(p["admin"], {"dataset": p["dataset"].pk}).filter(id__gt=p["middle_label"])
    ),
    "api annotations review_state": lambda p: _page(
        annotation_list(p["admin"], {"dataset": p["dataset"].pk, "review_state": "rejected"})
    ),
    "api annotations status": lambda p: _page(
        annotation_list(p["admin"], {"dataset": p["dataset"].pk, "status": {"flagged"}})
    ),
    "api annotations face": lambda p: _page(annotation_list(p["admin"], {"face": p["middle"].pk})),
    "api annotations updated_since": lambda p: _page(
        annotation_list(p["admin"], {"updated_since": p["middle_label_at"]})
    ),
    "api faces": lambda p: _page(face_list(p["admin"], {"dataset": p["dataset"].pk})),
    "api faces deep": lambda p: _page(
        face_list(p["admin"], {"dataset": p["dataset"].pk}).filter(id__gt=p["middle"].pk)
    ),
    "api faces image": lambda p: _page(face_list(p["admin"], {"image": p["middle"].image_id})),
    "api images": lambda p: _page(image_list(p["admin"], {"dataset": p["dataset"].pk})),
    "dataset page": lambda p: face_page_query(p["dataset"])[0],
    "dataset page deep": lambda p: face_page_query(p["dataset"], after=p["middle"].pk)[0],
    "dataset page back": lambda p: face_page_query(p["dataset"], before=p["middle"].pk)[0],
    "dataset page rejected": lambda p: face_page_query(p["dataset"], state="rejected")[0],
    "dataset page flagged": lambda p: face_page_query(p["dataset"], state="flagged")[0],
    "dataset page approved, walked": lambda p: face_page_query(p["dataset"], state="approved", sparse=False)[0],
    "dataset page annotator rejected": lambda p: face_page_query(p["dataset"], state="rejected", author=p["bob"])[0],
    # the labeling queue (labeling/queue.py): each of next_face's reads, as the annotator erin
    "queue walk": lambda p: queue._walk_query(p["erin"], p["dataset"], set(), tier=3).filter(key__gte=2**40),
    "queue walk honeypots": lambda p: queue._walk_query(p["erin"], p["dataset"], set(), honeypot_badge=0),
    "queue rejected": lambda p: queue._rejected_of(p["erin"], p["dataset"], set()),
    "queue held": lambda p: queue._held_by(p["erin"], p["dataset"], timezone.now(), set()),
    "queue own labels": lambda p: queue._labels_of(p["erin"], p["dataset"]),
    "queue expired claims": lambda p: queue._expired_claims(p["dataset"], timezone.now()),
    # a refresh's recount of a face's labels for their authors' counters (labeling/queue_entries.py)
    "queue recount": lambda p: Annotation.objects.filter(face_id__in=[p["middle"].pk], origin="annotator"),
    # the review queue (review/queue.py): the oldest pending label, a disputed face's first, its capped count
    "review queue": lambda p: awaiting_review(p["dataset"], p["admin"]).order_by("updated_at", "pk")[:1],
    "review queue disputed": lambda p: (
        awaiting_review(p["dataset"], p["admin"])
        .order_by("updated_at", "pk")
        .filter(face__consensus__dataset=p["dataset"], face__consensus__needs_review=True)[:1]
    ),
    "review queue count": lambda p: awaiting_review(p["dataset"], p["admin"]).order_by()[:QUEUE_SIZE_CAP],
}


def fill(name: str, n: int, users) -> list[Face]:
    """A dataset of n faces, each labeled by bob, a third also by erin; some
    flagged, rejected, approved."""
    faces = bulk_faces(Dataset.objects.create(name=name), n)
    bulk_labels(
        faces,
        users["annotator"],
        status=lambda i: "flagged" if i % 17 == 0 else "accepted",
        flag_reason=lambda i: "occluded" if i % 17 == 0 else "",
        review_state=lambda i: ["", "approved", "rejected", ""][i % 4] if i % 17 else "",
    )
    bulk_labels(faces[::3], users["other_annotator"])
    return faces


@pytest.fixture
def populated(world):
    users = world["users"]
    fill("elsewhere", 10 * SIZE, users)
    faces = fill("plans", SIZE, users)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    dataset = faces[0].image.dataset
    queue_entries.rebuild(dataset)
    queue_entries.rebuild(Dataset.objects.get(name="elsewhere"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    middle_label = Annotation.objects.filter(dataset=dataset).order_by("id")[SIZE // 2]
    return {
        "admin": users["admin"],
        "bob": users["annotator"],
        "erin": users["other_annotator"],
        "dataset": dataset,
        "middle": faces[SIZE // 2],
        "middle_label": middle_label.pk,
        "middle_label_at": middle_label.updated_at,
    }


def scans(plan: dict) -> list[str]:
    """The plan's sequential scans of faces or annotations."""
    out = []
    if plan["Node Type"] == "Seq Scan" and plan.get("Relation Name") in TABLES:
        out.append(f"Seq Scan on {plan['Relation Name']}")
    for child in plan.get("Plans", []):
        out += scans(child)
    return out


def plan_of(queryset) -> dict:
    return json.loads(queryset.explain(format="json"))[0]["Plan"]


def test_no_list_or_page_query_scans_faces_or_annotations(populated):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        found = {name: scans(plan_of(query(populated))) for name, query in QUERIES.items()}
        # the check has teeth: a filter no index serves (and no order one gives) is a sequential scan even so
        unserved = scans(plan_of(Annotation.objects.filter(note="x").order_by()))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = on")
    assert {name: s for name, s in found.items() if s} == {}
    assert unserved == ["Seq Scan on annotator_annotation"]
