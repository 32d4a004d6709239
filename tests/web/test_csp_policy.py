"""The Content-Security-Policy header (config/csp.py) without a browser: on every
response, a fresh nonce per request that the pages' inline scripts carry, and on
S3 storage the bucket's origins, the ones django-storages' presigned URLs have."""

import re
from urllib.parse import urlsplit

import pytest
from storages.backends.s3 import S3Storage

from config.csp import policy, storage_origins

pytestmark = pytest.mark.django_db


def _nonce(response) -> str:
    return re.search(r"script-src 'self' 'nonce-([^']+)';", response["Content-Security-Policy"]).group(1)


def test_every_response_has_the_policy_with_a_fresh_nonce(client, bob):
    anonymous = [client.get(path) for path in ("/accounts/login/", "/no-such-page/", "/api/v1/datasets/")]
    assert [r.status_code for r in anonymous] == [200, 404, 401]
    nonces = {_nonce(r) for r in anonymous}
    assert len(nonces) == 3 and all(len(n) >= 16 for n in nonces)
    header = anonymous[0]["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self' blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in header.split("; "), directive
    assert "unsafe-eval" not in header and "'unsafe-inline'" not in header.split("script-src")[1].split(";")[0]


def test_the_import_map_carries_the_nonce_of_its_response(client, bob, assigned):
    from annotator.models import Face
    from tests.browser.data import make_dataset

    face = Face.objects.get(image__dataset=assigned(make_dataset("nonce", n_faces=1)))
    client.force_login(bob)
    response = client.get(f"/label/faces/{face.pk}/")
    assert response.status_code == 200
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.content.decode())
    assert inline and all(f'nonce="{_nonce(response)}"' in attrs or "application/json" in attrs for attrs in inline)


@pytest.mark.parametrize(
    "options",
    [
        {"bucket_name": "media", "endpoint_url": "http://127.0.0.1:9000"},
        {"bucket_name": "media", "endpoint_url": "https://s3.internal:9000", "addressing_style": "virtual"},
        {"bucket_name": "media", "endpoint_url": "https://s3.internal:9000", "addressing_style": "path"},
        {"bucket_name": "headpose-media", "region_name": "eu-west-3"},
        {"bucket_name": "headpose.media", "region_name": "eu-west-3"},
        {"bucket_name": "headpose-media"},
    ],
)
def test_s3_origins_are_those_of_the_presigned_urls(options):
    storage = S3Storage(**options, querystring_auth=True, access_key="AKIAEXAMPLE", secret_key="not-a-secret")
    url = urlsplit(storage.url("images/a.png"))  # signed locally, nothing is sent
    origins = storage_origins({"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options})
    assert f"{url.scheme}://{url.netloc}" in origins
    header = policy("n", origins)
    for directive in ("img-src", "connect-src"):
        assert f"{url.scheme}://{url.netloc}" in header.split(directive)[1].split(";")[0]
    assert storage_origins({"BACKEND": "django.core.files.storage.FileSystemStorage"}) == []
