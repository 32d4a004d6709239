"""A Content-Security-Policy on every response (Django 5.2 has none built in).

Scripts run only from our own origin, or inline with this request's nonce
(`request.csp_nonce`, `{{ csp_nonce }}` in templates: the three.js import map,
Swagger UI's start-up script); never `unsafe-inline` or `unsafe-eval`. Styles
may be inline: the pages set sizes in `style` attributes and the vendored
Swagger UI and Redoc inject style elements. Nothing may frame a page, and no
form posts elsewhere. With HEADPOSE_STORAGE=s3 a stored file is answered with a
redirect to a presigned URL of the bucket, so the bucket's origins join img-src
and connect-src (three.js fetches textures and meshes; blob: for the textures a
GLB embeds)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"


def storage_origins(storage: dict) -> list[str]:
    """The origins a presigned URL of STORAGES["default"] may have: none on the
    filesystem; on S3 the bucket's host in path and virtual addressing (boto3
    picks one by the bucket's name unless AWS_S3_ADDRESSING_STYLE says)."""
    if not storage.get("BACKEND", "").startswith("storages.backends.s3"):
        return []
    options = storage.get("OPTIONS", {})
    bucket, style = options["bucket_name"], options.get("addressing_style")
    if options.get("endpoint_url"):
        parts = urlsplit(options["endpoint_url"])
        scheme, hosts = parts.scheme or "https", [parts.netloc]
    else:
        scheme, region = "https", options.get("region_name")
        hosts = ["s3.amazonaws.com"] + ([f"s3.{region}.amazonaws.com"] if region else [])
    path_style = [f"{scheme}://{host}" for host in hosts]
    virtual = [f"{scheme}://{bucket}.{host}" for host in hosts]
    return {"path": path_style, "virtual": virtual}.get(style, path_style + virtual)


def policy(nonce: str, media_origins: list[str] | tuple[str, ...] = ()) -> str:
    media = "".join(f" {origin}" for origin in media_origins)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{media}",
            "font-src 'self' data:",
            # blob: three.js's GLTFLoader fetches a mesh's embedded texture from a blob URL
            f"connect-src 'self' blob:{media}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """First in MIDDLEWARE: every response gets the header, static files and
    error pages included; a view that set its own policy keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.media_origins = tuple(storage_origins(settings.STORAGES["default"]))

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy(request.csp_nonce, self.media_origins)
        return response


def nonce(request) -> dict:
    """Context processor: `{{ csp_nonce }}` for the `nonce` attribute of an inline script."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
