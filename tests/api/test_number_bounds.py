"""Every number bounded where it enters the API (issue 24 item 1): landmark pins,
poses and prediction files with integers too large for a float (or too long for
Python to read) are a 400 naming the field and the reason, and store nothing;
R is accepted as 9 numbers or as 3 rows of 3 wherever a pose is written.
World: tests/api/conftest.py (bob labels priv, dave reviews it)."""

import json

import numpy as np
import pytest

from annotator.datasets.splits import save_split
from annotator.models import Annotation, AnnotationRevision, Image
from evaluation import benchmarks
from evaluation.models import Entry
from workers.core import geometry

pytestmark = pytest.mark.django_db

R3 = geometry.euler_to_matrix([14.0, -6.0, 3.0])  # 3 rows of 3


def _rows() -> tuple:
    return Annotation.objects.count(), AnnotationRevision.objects.count(), Entry.objects.count()


def _label(face_id=None, **change) -> bytes:
    body = {"R": R3.reshape(-1).tolist(), "t": [2.0, -1.0, 650.0], "status": "corrected", "expected_version": 0}
    if face_id is not None:
        body["face"] = face_id
    return json.dumps({**body, **change}).encode()


def _send(client, method, url, body: bytes):
    return getattr(client, method)(url, body, content_type="application/json")


def _endpoints(world):
    face = world["objects"]["priv"]["unlabeled_face"]
    return [
        ("put", f"/api/label/faces/{face.pk}/annotation/", None),
        ("post", "/api/v1/annotations/", face.pk),
    ]


@pytest.mark.parametrize(
    "change, field, reason",
    [
        ({"landmark_pins": [{"index": 8, "x": 6 * 10**340, "y": 40.0}]}, "landmark_pins", "too large for a number"),
        ({"landmark_pins": [{"index": 30, "x": 12.0, "y": -(10**500)}]}, "landmark_pins", "an integer of 501 digits"),
        ({"t": [0, 0, 3 * 10**333]}, "t", "too large"),
        ({"R": [[10**320, 0, 0], [0, 1, 0], [0, 0, 1]]}, "R", "too large"),
        ({"R": [[1, 0, 0], [0, 1, 0], [0, 0]]}, "R", "R must be 9 numbers, or 3 rows of 3 numbers."),
        ({"R": [[1, 0, 0], [0, 1, 0], [0, 0, "1"]]}, "R", "item 8: A number is required, not str."),
        ({"time_spent_s": 10**360}, "time_spent_s", "too large"),
        ({"expected_version": 10**380}, "expected_version", ""),
        ({"proposal_id": 2**63}, "proposal_id", ""),
    ],
)
def test_numbers_too_large_are_a_400_naming_the_field(world, api_as, change, field, reason):
    client = api_as("annotator")
    for method, url, face_id in _endpoints(world):
        before = _rows()
        r = _send(client, method, url, _label(face_id, **change))
        assert r.status_code == 400, (url, r.status_code, r.content[:300])
        body = r.json()
        assert body["code"] == "invalid" and field in body and reason in json.dumps(body), body
        assert len(r.content) < 2000  # the digits are not echoed back
        assert _rows() == before


def test_an_integer_too_long_to_read_is_a_400_with_the_reason(world, api_as):
    client = api_as("annotator")
    for method, url, face_id in _endpoints(world):
        text = _label(face_id).replace(b'"t": [2.0, -1.0, 650.0]', b'"t": [2.0, -1.0, ' + b"7" * 5400 + b"]")
        before = _rows()
        r = _send(client, method, url, text)
        assert r.status_code == 400, r.content[:300]
        assert r.json()["code"] == "parse_error"
        assert "a number of 5,400 digits (the most a JSON integer may have is 4,300)" in r.json()["detail"]
        assert _rows() == before


def test_r_as_three_rows_of_three_is_accepted_by_every_pose_write(world, api_as):
    face = world["objects"]["priv"]["unlabeled_face"]
    rows = R3.tolist()
    bob = api_as("annotator")
    r = bob.put(f"/api/label/faces/{face.pk}/annotation/", _label(R=rows), content_type="application/json")
    assert r.status_code == 200, r.content
    assert np.allclose(r.json()["R"], R3.reshape(-1))
    r = bob.post("/api/v1/annotations/", _label(face.pk, R=rows, expected_version=1), content_type="application/json")
    assert r.status_code == 200, r.content
    a = Annotation.objects.get(face=face, author=world["users"]["annotator"])
    assert a.version == 2 and np.allclose(a.R, R3.reshape(-1))
    # a reviewer's correction of bob's older label
    old = world["objects"]["priv"]["annotation"]
    corrected = geometry.euler_to_matrix([-20.0, 4.0, 1.0])
    r = api_as("reviewer").put(
        f"/api/label/review/annotations/{old.pk}/correction/",
        {"R": corrected.tolist(), "t": [0.0, 0.0, 700.0], "expected_version": old.version},
        format="json",
    )
    assert r.status_code == 200, r.content
    old.refresh_from_db()
    assert np.allclose(old.R, corrected.reshape(-1))


def test_a_correction_with_a_number_too_large_is_a_400(world, api_as):
    old = world["objects"]["priv"]["annotation"]
    before = _rows()
    r = api_as("reviewer").put(
        f"/api/label/review/annotations/{old.pk}/correction/",
        {"R": [[1, 0, 0], [0, 1, 0], [0, 0, 10**400]], "t": None, "expected_version": old.version},
        format="json",
    )
    assert r.status_code == 400 and "R" in r.json() and "too large" in r.json()["R"][0], r.content
    assert _rows() == before


@pytest.fixture
def benchmark(world):
    ds = world["datasets"]["pub"]
    names = list(Image.objects.filter(dataset=ds).values_list("file_name", flat=True))
    split = save_split(ds, "all", names, {"rule": "all"})
    return benchmarks.save_benchmark(name="bounds", dataset=ds, split=split, title="bounds")


def _json_predictions(ids, old: str, new: str) -> bytes:
    """Good predictions of every id, the first record's `old` text replaced by `new`."""
    return json.dumps([{"id": i, "yaw": 1, "pitch": 2, "roll": 3} for i in ids]).replace(old, new, 1).encode()


@pytest.mark.parametrize(
    "name, make, reason",
    [
        (
            "p.json",
            lambda ids: _json_predictions(ids, '"yaw": 1', '"yaw": ' + "8" * 333),
            "item 1 (id '{0}'): yaw = an integer of 333 digits is too large for a number",
        ),
        (
            "p.json",
            lambda ids: _json_predictions(ids, '"roll": 3', '"roll": ' + "9" * 6100),
            "invalid JSON: a number of 6,100 digits",
        ),
        (
            "p.csv",
            lambda ids: ("id,yaw,pitch,roll\n" + "".join(f"{i},1,{'5' * 420},3\n" for i in ids)).encode(),
            "line 2 (id '{0}'): pitch = 55555555555555555555... is too large for a number",
        ),
    ],
)
def test_prediction_files_with_numbers_too_large_are_a_400_naming_the_row(world, api_as, benchmark, name, make, reason):
    ids = list(benchmark.sample_names)
    before = _rows()
    r = api_as("admin").post(
        f"/api/v1/benchmarks/{benchmark.pk}/entries/",
        {"file": _upload(name, make(ids)), "name": "bounds"},
        format="multipart",
    )
    assert r.status_code == 400, r.content[:300]
    body = r.json()
    assert body["code"] == "invalid" and any(reason.format(ids[0]) in p for p in body["problems"]), body
    assert len(r.content) < 3000
    assert _rows() == before


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


@pytest.mark.parametrize(
    "query",
    [
        f"dataset={2**63}",
        f"face={10**30}",
        "image=" + "6" * 400,
        "page_size=" + "7" * 400,
        "split=" + "9" * 5000,
        f"proposal={-(2**63)}",
    ],
)
def test_query_parameters_of_any_size_are_never_a_database_error(world, api_as, query):
    for path in ("/api/v1/annotations/", "/api/v1/faces/", "/api/v1/proposals/"):
        r = api_as("admin").get(f"{path}?{query}")
        assert r.status_code in (200, 400), (path, query, r.status_code, r.content[:200])
        if r.status_code == 400:
            assert "out of range" not in r.content.decode() and len(r.content) < 2000


@pytest.mark.parametrize("value", [2**31, 2**63, 10**380])
def test_ids_and_versions_in_bodies_are_bounded_like_the_database(world, api_as, value):
    """Ids and versions are 32-bit in the database: a larger one is a 400 naming
    the field, never the database's 'integer out of range' nor a 409 echoing it."""
    priv = world["objects"]["priv"]
    a = priv["annotation"]
    cases = [
        ("annotator", "post", f"/api/label/datasets/{priv['dataset'].pk}/next/", {"skip_face_id": value}),
        ("reviewer", "post", f"/api/label/review/datasets/{priv['dataset'].pk}/next/", {"skip_annotation_id": value}),
        (
            "reviewer",
            "post",
            f"/api/label/review/annotations/{a.pk}/decision/",
            {"decision": "approved", "expected_version": value},
        ),
        (
            "reviewer",
            "put",
            f"/api/label/review/annotations/{a.pk}/correction/",
            {"R": R3.tolist(), "t": None, "expected_version": value},
        ),
        (
            "annotator",
            "put",
            f"/api/label/faces/{priv['face'].pk}/annotation/",
            json.loads(_label(expected_version=value)),
        ),
    ]
    for role, method, url, body in cases:
        field = next(k for k, v in body.items() if v == value)
        before = _rows()
        r = getattr(api_as(role), method)(url, body, format="json")
        assert r.status_code == 400, (url, r.status_code, r.content[:300])
        assert field in r.json() and "out of range" not in r.content.decode(), r.json()
        assert len(r.content) < 2000
        assert _rows() == before
