"""Bad input is a 4xx with a reason in the one error shape, never a 500:
tampered cursors on every list, JSON bodies too deep or too large on every
JSON endpoint (refused from Content-Length before the body is read), and the
domain errors mapped by the one exception handler."""

import base64
import io
import json

import pytest

from annotator.models import Annotation, ApiToken, Job

LISTS = [
    "/api/v1/datasets/",
    "/api/v1/images/",
    "/api/v1/faces/",
    "/api/v1/proposals/",
    "/api/v1/annotations/",
    "/api/v1/exports/",
    "/api/v1/tokens/",
    "REVISIONS",
]
CURSORS = {
    "position not a number": base64.b64encode(b"p=abc").decode(),
    "position too large": base64.b64encode(b"p=" + b"9" * 30).decode(),
    "position negative and huge": base64.b64encode(b"p=-" + b"9" * 25).decode(),
    "random bytes": base64.b64encode(bytes(range(256))).decode(),
    "not base64": "not-base64!!",
    "reverse not a number": base64.b64encode(b"r=x&p=1").decode(),
}


def _url(world, path):
    return (
        f"/api/v1/annotations/{world['objects']['priv']['annotation'].pk}/revisions/" if path == "REVISIONS" else path
    )


def assert_error(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.content[:300])
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"] and isinstance(body["code"], str), body
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", sorted(CURSORS))
def test_a_tampered_cursor_is_a_404_naming_the_cursor(world, api_as, path, cursor):
    r = api_as("admin").get(_url(world, path), {"cursor": CURSORS[cursor]})
    body = assert_error(r, 404, "not_found")
    assert "cursor" in body["detail"].lower()


def test_a_genuine_cursor_still_pages_and_a_huge_offset_is_capped(world, api_as):
    client = api_as("admin")
    huge_offset = base64.b64encode(b"o=99999999999999999999&p=1").decode()
    assert client.get("/api/v1/faces/", {"cursor": huge_offset}).status_code == 200
    first = client.get("/api/v1/faces/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    assert second["results"] and {f["id"] for f in first["results"]}.isdisjoint(f["id"] for f in second["results"])


def _json_endpoints(world):
    face = world["objects"]["priv"]["face"]
    return [
        ("post", "/api/v1/annotations/"),
        ("post", f"/api/v1/annotations/{world['objects']['priv']['annotation'].pk}/review/"),
        ("post", "/api/v1/exports/"),
        ("post", "/api/v1/tokens/"),
        ("put", f"/api/label/faces/{face.pk}/annotation/"),
        ("post", f"/api/label/datasets/{face.image.dataset_id}/next/"),
    ]


def test_deeply_nested_json_is_a_400_on_every_json_endpoint(world, api_as):
    client = api_as("admin")
    before = (Annotation.objects.count(), ApiToken.objects.count(), Job.objects.count())
    for nested in ("[" * 50_000 + "]" * 50_000, '{"a":' * 65 + "1" + "}" * 65):
        for method, url in _json_endpoints(world):
            r = getattr(client, method)(url, nested, content_type="application/json")
            body = assert_error(r, 400, "parse_error")
            assert "deeper than 64" in body["detail"], (url, body)
    assert (Annotation.objects.count(), ApiToken.objects.count(), Job.objects.count()) == before


def test_an_oversized_json_body_is_a_413_on_every_json_endpoint(world, api_as, settings):
    settings.HEADPOSE_MAX_JSON_BYTES = 1000
    client = api_as("admin")
    body = json.dumps({"name": "x" * 2000})
    for method, url in _json_endpoints(world):
        r = getattr(client, method)(url, body, content_type="application/json")
        assert "HEADPOSE_MAX_JSON_BYTES" in assert_error(r, 413, "too_large")["detail"]
    assert client.post("/api/v1/tokens/", {"name": "small"}, format="json").status_code == 201


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


def test_a_body_announced_too_large_is_refused_before_it_is_read(world, api_as):
    """A 100 MB body is refused from its Content-Length: not a byte of it is read."""
    stream = CountingStream(b'{"name": "' + b"x" * 1000 + b'"}')
    r = api_as("admin").generic(
        "POST",
        "/api/v1/tokens/",
        content_type="application/json",
        **{"CONTENT_LENGTH": str(100 * 1024 * 1024), "wsgi.input": stream},
    )
    assert_error(r, 413, "too_large")
    assert stream.bytes_read == 0


def test_a_body_longer_than_announced_is_read_only_up_to_the_limit(world, api_as, settings):
    from annotator.common.parsers import BoundedJSONParser

    settings.HEADPOSE_MAX_JSON_BYTES = 100
    stream = CountingStream(b"[" + b"1," * 10_000 + b"1]")
    with pytest.raises(Exception) as caught:
        BoundedJSONParser().parse(stream, "application/json", {})
    assert caught.value.status_code == 413 and stream.bytes_read == 101


# --- the one error shape of the domain errors ------------------------------------------------


def _label(R=None, **extra):
    body = {"R": R or [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "status": "draft", "expected_version": 0}
    return {**body, **extra}


def test_domain_errors_have_the_one_shape(world, api_as):
    priv = world["objects"]["priv"]
    annotator, admin = api_as("annotator"), api_as("admin")
    url = f"/api/label/faces/{priv['face'].pk}/annotation/"
    # 409: a stale version, with the versions
    body = assert_error(annotator.put(url, _label(expected_version=0), format="json"), 409, "version_conflict")
    assert body["current_version"] == priv["annotation"].version and body["expected_version"] == 0
    body = assert_error(
        annotator.post("/api/v1/annotations/", {"face": priv["face"].pk, **_label()}, format="json"),
        409,
        "version_conflict",
    )
    assert body["current_version"] == priv["annotation"].version
    # 400: a pose that is not a rotation (a domain check), and field errors flattened per field
    body = assert_error(admin.put(url, _label(R=[2, 0, 0, 0, 1, 0, 0, 0, 1]), format="json"), 400, "invalid")
    assert "rotation" in " ".join(body["R"]) and "R: " in body["detail"]
    body = assert_error(admin.put(url, _label(R=[1, 0, "x", 0, 1, 0, 0, 0, 1]), format="json"), 400, "invalid")
    assert body["R"] == ["item 2: A number is required, not str."] and "R: item 2" in body["detail"]
    # 403: sees the dataset, is not its annotator (the reviewer) / may not export it (the annotator)
    assert_error(api_as("reviewer").put(url, _label(), format="json"), 403, "permission_denied")
    assert_error(annotator.get(f"/api/v1/datasets/{priv['dataset'].pk}/export/"), 403, "permission_denied")
    # 404: cannot see it; the same answer as for an id that names nothing
    hidden = world["objects"]["hidden"]["face"]
    a = assert_error(annotator.get(f"/api/label/faces/{hidden.pk}/"), 404, "not_found")
    b = assert_error(annotator.get("/api/label/faces/999999/"), 404, "not_found")
    assert a == b
    assert_error(api_as("annotator").get(f"/api/v1/annotations/{world['objects']['pub']['annotation'].pk}/"), 404)
    # 401, 405
    assert_error(api_as(None).get("/api/v1/me/"), 401, "not_authenticated")
    assert_error(admin.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_the_saved_label_fast_path_equals_the_generic_serializer(world):
    from rest_framework import serializers

    from annotator.labeling.api import SavedLabelSerializer

    annotation = world["objects"]["priv"]["annotation"]
    fast = SavedLabelSerializer(annotation).data
    generic = serializers.Serializer.to_representation(SavedLabelSerializer(), annotation)
    assert json.loads(json.dumps(fast)) == json.loads(json.dumps(generic))


# --- every body is capped per endpoint before it is read (annotator/common/body_limits.py) ------


def _multipart(size: int) -> tuple[bytes, str]:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    upload = io.BytesIO(b"x" * size)
    upload.name = "big.csv"
    return encode_multipart(BOUNDARY, {"name": "n", "file": upload}), MULTIPART_CONTENT


@pytest.fixture
def spooled(settings, tmp_path, monkeypatch):
    """Every file Django spools to disk while parsing (files above 100 bytes go to tmp_path)."""
    from django.core.files import uploadhandler

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    created = []
    original = uploadhandler.TemporaryFileUploadHandler.new_file

    def new_file(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self.file.temporary_file_path())

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "new_file", new_file)
    return created


def _post(client, url, body: bytes, content_type: str, length=None, **meta):
    stream = CountingStream(body)
    r = client.generic(
        "POST",
        url,
        content_type=content_type,
        **{"CONTENT_LENGTH": str(len(body) if length is None else length), "wsgi.input": stream, **meta},
    )
    return r, stream


def test_a_multipart_body_over_the_cap_is_a_413_and_nothing_is_spooled(world, api_as, settings, spooled, tmp_path):
    settings.HEADPOSE_MAX_BODY_BYTES = 10_000
    body, content_type = _multipart(50_000)
    for url in ("/api/v1/tokens/", f"/api/v1/annotations/{world['objects']['priv']['annotation'].pk}/review/"):
        r, stream = _post(api_as("admin"), url, body, content_type)
        detail = assert_error(r, 413, "too_large")["detail"]
        assert "HEADPOSE_MAX_BODY_BYTES" in detail and stream.bytes_read == 0
    assert spooled == [] and list(tmp_path.iterdir()) == []
    assert ApiToken.objects.filter(name="n").count() == 0
    # the same body under a larger cap is read, and its file spooled: the cap is what kept it off the disk
    settings.HEADPOSE_MAX_BODY_BYTES = 100_000
    r, stream = _post(api_as("admin"), "/api/v1/tokens/", body, content_type)
    assert r.status_code == 201 and stream.bytes_read == len(body) and len(spooled) == 1


def test_prediction_uploads_have_their_own_cap(world, api_as, settings, spooled):
    from annotator.common.body_limits import MULTIPART_OVERHEAD

    settings.HEADPOSE_MAX_BODY_BYTES = 10_000
    settings.HEADPOSE_MAX_PREDICTION_BYTES = 50_000
    client = api_as("admin")
    small, content_type = _multipart(40_000)  # over the default cap, under the predictions' one: read
    r, stream = _post(client, "/api/v1/benchmarks/999999/entries/", small, content_type)
    assert r.status_code == 404 and stream.bytes_read == 0  # no such benchmark: refused before parsing, not a 413
    big, _ = _multipart(50_000 + MULTIPART_OVERHEAD + 1000)
    for url in ("/api/v1/benchmarks/999999/entries/", "/benchmarks/999999/upload/"):
        r, stream = _post(client, url, big, content_type)
        assert r.status_code == 413 and stream.bytes_read == 0, (url, r.status_code)
        assert b"HEADPOSE_MAX_PREDICTION_BYTES" in r.content
    assert spooled == []


def test_a_page_refuses_a_body_over_the_cap_unread(world, client, settings, spooled):
    settings.HEADPOSE_MAX_BODY_BYTES = 10_000
    client.force_login(world["users"]["annotator"])
    body, content_type = _multipart(50_000)
    r, stream = _post(client, "/account/tokens/", body, content_type)
    assert r.status_code == 413 and stream.bytes_read == 0 and b"HEADPOSE_MAX_BODY_BYTES" in r.content
    assert spooled == []


def test_a_chunked_body_without_a_length_is_refused_with_411(world, api_as):
    stream = CountingStream(b'{"name": "chunked"}')
    r = api_as("admin").generic(
        "POST",
        "/api/v1/tokens/",
        content_type="application/json",
        **{"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": stream},
    )
    assert_error(r, 411, "length_required")
    assert stream.bytes_read == 0 and not ApiToken.objects.filter(name="chunked").exists()
