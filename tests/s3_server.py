"""An S3-compatible server for tests: moto's (`moto[server]`, requirements/dev.txt),
started as a process on an address the test chooses, with one empty bucket.

moto keeps objects in memory and verifies no signature (nor its expiry);
it speaks the S3 calls django-storages makes (put, get, head, delete, list,
presigned GET URLs), which is what these tests need from it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

BUCKET = "headpose-media"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_S3_REGION_NAME": "us-east-1"}


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def s3_server(log: Path, host: str = "127.0.0.1"):
    """Yields the environment a process needs to store its media there
    (HEADPOSE_STORAGE=s3, the bucket, the endpoint, credentials)."""
    port = _free_port(host)
    endpoint = f"http://{host}:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint, timeout=2)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        env = {
            "HEADPOSE_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_ADDRESSING_STYLE": "path",
            **CREDENTIALS,
        }
        client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def client(env: dict):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_S3_ENDPOINT_URL"],
        region_name=env["AWS_S3_REGION_NAME"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def stored_keys(env: dict) -> list[str]:
    listing = client(env).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def storages_setting(env: dict) -> dict:
    """settings.STORAGES for the test process, built from `env` as config/settings.py does."""
    from django.conf import settings

    from config.storage import media_storage

    return {**settings.STORAGES, "default": media_storage(lambda name, default=None: env.get(name, default))}
