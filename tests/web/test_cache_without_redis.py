"""config.cache.FailSoftRedisCache: a Redis that does not answer is a cache miss."""

import time

import pytest
from django.core.cache import cache

from config import cache as failsoft
from tools.redis_server import free_port


@pytest.fixture
def dead_cache(settings, monkeypatch):
    monkeypatch.setattr(failsoft, "_down_until", 0.0)
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.FailSoftRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    yield cache


def test_reads_miss_and_writes_are_dropped(dead_cache):
    assert dead_cache.get("k", "fallback") == "fallback"
    dead_cache.set("k", 1)
    assert dead_cache.get("k") is None
    assert dead_cache.add("k", 1) is False
    assert dead_cache.get_many(["a", "b"]) == {}
    dead_cache.set_many({"a": 1})
    assert dead_cache.get("a") is None
    assert dead_cache.delete("k") is False
    with pytest.raises(ValueError):
        dead_cache.incr("k")


def test_after_a_failure_redis_is_left_alone_for_a_while(dead_cache):
    dead_cache.get("k")
    assert failsoft._down_until > time.monotonic()
    started = time.monotonic()
    for _ in range(1000):
        dead_cache.get("k")
    assert time.monotonic() - started < 0.5  # no connection attempt per call


@pytest.mark.django_db
def test_login_and_a_session_page_without_redis(dead_cache, client, django_user_model):
    django_user_model.objects.create_user("alice", "a@example.com", "pw-alice-long")
    assert client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-long"}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
