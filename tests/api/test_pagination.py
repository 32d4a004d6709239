"""Cursor pagination: walking a list larger than one page while rows are being
added returns every row that existed at the start exactly once, and the
filters narrow the list (with 400s for bad values)."""

import pytest

from annotator.labeling.services import save_annotation
from annotator.models import Annotation, Face
from tests.api.conftest import user
from tests.browser.data import make_dataset
from workers.core import geometry

pytestmark = pytest.mark.django_db


def _label(face, author, status="accepted"):
    return save_annotation(
        face=face,
        author=author,
        R=geometry.euler_to_matrix([1.0, 2.0, 3.0]),
        t=[0, 0, 600],
        status=status,
        expected_version=0,
    )


@pytest.fixture
def big(world, django_user_model):
    ds = make_dataset("big", n_faces=130)
    annotators = [user(django_user_model, f"ann{i}") for i in range(2)]
    faces = list(Face.objects.filter(image__dataset=ds).order_by("pk"))
    for i, face in enumerate(faces[:120]):
        _label(face, annotators[i % 2], status="accepted" if i % 3 else "skipped")
    return ds, faces, annotators


def test_pages_while_rows_are_added_return_every_row_once(world, api_as, big):
    ds, faces, annotators = big
    client = api_as("admin")
    before = set(Annotation.objects.filter(face__image__dataset=ds).values_list("pk", flat=True))
    assert len(before) == 120
    url, seen, pages, added = f"/api/v1/annotations/?dataset={ds.pk}&page_size=25", [], 0, []
    while url:
        body = client.get(url).json()
        seen += [a["id"] for a in body["results"]]
        pages += 1
        # rows arrive between page requests (another annotator keeps labeling)
        if len(added) < 10:
            added.append(_label(faces[120 + len(added)], annotators[0]).pk)
        url = body["next"]
    assert pages >= 5
    assert len(seen) == len(set(seen)), "a row was served twice"
    assert before <= set(seen), "a row that existed at the start was skipped"
    assert set(seen) - before <= set(added)
    assert seen == sorted(seen)


def test_filters(world, api_as, big):
    ds, _faces, annotators = big
    client = api_as("admin")

    def ids(query):
        r = client.get(f"/api/v1/annotations/?dataset={ds.pk}&page_size=1000&{query}")
        assert r.status_code == 200, r.content
        return {a["id"] for a in r.json()["results"]}

    qs = Annotation.objects.filter(face__image__dataset=ds)
    assert ids("") == set(qs.values_list("pk", flat=True))
    assert ids("status=skipped") == set(qs.filter(status="skipped").values_list("pk", flat=True))
    assert ids("status=skipped&status=accepted") == set(qs.values_list("pk", flat=True))
    assert ids(f"author={annotators[1].username}") == set(qs.filter(author=annotators[1]).values_list("pk", flat=True))
    mid = qs.order_by("updated_at")[60].updated_at
    assert ids("updated_since=" + mid.isoformat().replace("+00:00", "Z")) == set(
        qs.filter(updated_at__gte=mid).values_list("pk", flat=True)
    )
    assert ids("origin=ground_truth") == ids("source=dataset") == set()
    assert ids("origin=annotator") == ids("source=annotator") == ids("")


@pytest.mark.parametrize(
    "query, field",
    [
        ("dataset=abc", "dataset"),
        ("dataset=99999999999999", "dataset"),
        ("status=nope", "status"),
        ("updated_since=yesterday", "updated_since"),
        ("source=robot", "source"),
        ("origin=robot", "origin"),
        ("origin=dataset", "origin"),
        ("origin=annotator&source=dataset", "source"),
        ("page_size=x", None),
    ],
)
def test_bad_filter_values_are_400_with_the_parameter_named(world, api_as, query, field):
    r = api_as("admin").get(f"/api/v1/annotations/?{query}")
    if field is None:  # DRF ignores a bad page_size and uses the default
        assert r.status_code == 200
        return
    assert r.status_code == 400 and field in r.json(), r.content


def test_a_tampered_cursor_is_a_404_not_a_500(world, api_as):
    r = api_as("admin").get("/api/v1/annotations/?cursor=not-base64!!")
    assert r.status_code == 404 and "cursor" in r.json()["detail"].lower()


def test_split_filter(world, api_as):
    from annotator.models import Split

    ds = world["datasets"]["pub"]
    image = world["objects"]["pub"]["image"]
    split = Split.objects.create(dataset=ds, name="one", sample_names=[image.file_name])
    split.images.add(image)
    r = api_as("researcher").get(f"/api/v1/faces/?split={split.pk}")
    assert {f["image"] for f in r.json()["results"]} == {image.pk}
    hidden_split = Split.objects.create(dataset=world["datasets"]["hidden"], name="h")
    assert api_as("researcher").get(f"/api/v1/faces/?split={hidden_split.pk}").status_code == 404
