"""Where media (images, meshes, exports, uploads, predictions) are stored.

Every read and write goes through Django's storage API, so a worker on another
host needs no shared folder: HEADPOSE_STORAGE=filesystem keeps them under
MEDIA_ROOT (one host, or a folder every host mounts), s3 in a bucket of any
S3-compatible service (annotator/stored_files.py then answers a download with a
short-lived presigned URL)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured


def media_storage(env: Callable) -> dict:
    """STORAGES["default"] from settings read with `env(name, default)`."""
    kind = str(env("HEADPOSE_STORAGE", "filesystem")).strip().lower()
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"HEADPOSE_STORAGE must be filesystem or s3, not {kind!r}.")
    if not env("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("HEADPOSE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env("AWS_S3_REGION_NAME") or None,
            # None: boto3's own chain (instance role, ~/.aws, AWS_* variables)
            "access_key": env("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env("AWS_SECRET_ACCESS_KEY") or None,
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE") or None,
            "location": env("AWS_LOCATION", ""),
            # stored files are private: only a view that checked access hands out a URL
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(env("AWS_QUERYSTRING_EXPIRE", 300)),
            "file_overwrite": False,
            # a big upload read by a worker spills to disk instead of staying in memory
            "max_memory_size": 64 * 1024 * 1024,
        },
    }
