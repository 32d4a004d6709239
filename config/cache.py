"""The Redis cache, made optional: when Redis does not answer, reads miss and
writes are dropped (logged once per outage), so sessions fall back to the
database (SESSION_ENGINE cached_db) and pages keep answering.

After a failure Redis is left alone for RETRY_AFTER_S, so a dead Redis costs
one connection attempt per process every few seconds, not one per cache call."""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0
# Short, because a session read waits on them; Redis answers in well under 1 ms.
SOCKET_TIMEOUT_S = 0.5

_lock = threading.Lock()
_down_until = 0.0


def _available() -> bool:
    return time.monotonic() >= _down_until


def _failed(exc: Exception) -> None:
    global _down_until
    with _lock:
        if _available():
            logger.warning("Redis cache unreachable, continuing without it for %.0f s: %s", RETRY_AFTER_S, exc)
        _down_until = time.monotonic() + RETRY_AFTER_S


def _fail_soft(name: str, fallback):
    method = getattr(RedisCacheClient, name)

    def wrapper(self, *args, **kwargs):
        if _available():
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _failed(exc)
        return fallback(*args, **kwargs)

    wrapper.__name__ = name
    return wrapper


def _not_found(key, delta):
    raise ValueError(f"Key {key!r} not found.")  # what a miss does for incr


class FailSoftRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_S)
        options.setdefault("socket_timeout", SOCKET_TIMEOUT_S)
        # redis-py retries a failed command with backoff by default; a miss is cheaper.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(servers, **options)

    add = _fail_soft("add", lambda key, value, timeout: False)
    get = _fail_soft("get", lambda key, default: default)
    set = _fail_soft("set", lambda key, value, timeout: None)
    touch = _fail_soft("touch", lambda key, timeout: False)
    delete = _fail_soft("delete", lambda key: False)
    get_many = _fail_soft("get_many", lambda keys: {})
    has_key = _fail_soft("has_key", lambda key: False)
    incr = _fail_soft("incr", _not_found)
    set_many = _fail_soft("set_many", lambda data, timeout: None)
    delete_many = _fail_soft("delete_many", lambda keys: None)
    clear = _fail_soft("clear", lambda: False)


class FailSoftRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache that misses instead of raising when Redis is down."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailSoftRedisCacheClient
