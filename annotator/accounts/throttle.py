"""Abuse limits on authentication: failed logins per account and per address,
failed API token authentications per address.

Each limit is a fixed window in Django's cache (Redis in production): the first
failure opens a window of HEADPOSE_LOGIN_WINDOW_S seconds, each failure adds
one (an atomic INCR), and once the count reaches the limit the account or
address is refused with 429 until the window ends, a correct password
included. A successful login clears that account's counter only (never another
account's, never the address's: one valid account must not buy an attacker
more guesses at the others). Keys hold a sha256 of the account or address,
never the name itself.

When the cache is unreachable the counters read as empty (config/cache.py
fails soft, and logs it): logins keep working rather than locking everyone
out. Every refusal and every limit reached is a warning on the
"headpose.security" logger."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

security_log = logging.getLogger("headpose.security")

KEY_PREFIX = "throttle"


@dataclass(frozen=True)
class Limit:
    """`allowed` failures (a setting's name) per `window` seconds (a setting's name)."""

    scope: str
    allowed_setting: str
    window_setting: str = "HEADPOSE_LOGIN_WINDOW_S"

    @property
    def allowed(self) -> int:
        return int(getattr(settings, self.allowed_setting))

    @property
    def window(self) -> int:
        return int(getattr(settings, self.window_setting))


LOGIN_ACCOUNT = Limit("login-account", "HEADPOSE_LOGIN_FAILURES_PER_ACCOUNT")
LOGIN_ADDRESS = Limit("login-address", "HEADPOSE_LOGIN_FAILURES_PER_ADDRESS")
TOKEN_ADDRESS = Limit("token-address", "HEADPOSE_TOKEN_FAILURES_PER_ADDRESS")


def _now() -> float:
    return time.time()


def _keys(limit: Limit, ident: str) -> tuple[str, str]:
    digest = hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
    base = f"{KEY_PREFIX}:{limit.scope}:{digest}"
    return base + ":n", base + ":until"


def retry_after(limit: Limit, ident: str) -> int:
    """Seconds until `ident` may try again (0: it may now)."""
    count_key, until_key = _keys(limit, ident)
    values = cache.get_many([count_key, until_key])
    until, count = values.get(until_key), values.get(count_key) or 0
    now = _now()
    if until is None or until <= now or count < limit.allowed:
        return 0
    return max(1, math.ceil(until - now))


def failed(limit: Limit, ident: str) -> int:
    """Count one failure of `ident`; returns the count in the current window (0: the cache is down)."""
    count_key, until_key = _keys(limit, ident)
    now, window = _now(), limit.window
    until = cache.get(until_key)
    if until is None or until <= now:  # a new window
        cache.set_many({until_key: now + window, count_key: 0}, timeout=window + 60)
    try:
        count = cache.incr(count_key)
    except ValueError:  # the cache is down, or the key expired a moment ago
        return 0
    if count == limit.allowed:
        security_log.warning(
            "%s: limit of %d failures in %d s reached (key %s)",
            limit.scope,
            limit.allowed,
            window,
            count_key.split(":")[-2],
        )
    return count


def clear(limit: Limit, ident: str) -> None:
    cache.delete_many(list(_keys(limit, ident)))


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the last address in
    HEADPOSE_CLIENT_IP_HEADER (e.g. X-Real-IP or X-Forwarded-For) when the
    front proxy sets it: behind a proxy every REMOTE_ADDR is the proxy's."""
    header = settings.HEADPOSE_CLIENT_IP_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        candidates = [part.strip() for part in value.split(",") if part.strip()]
        if candidates:
            return candidates[-1][:100]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def account_of(username) -> str:
    return str(username or "").strip().lower()[:150]


# --- logins --------------------------------------------------------------------------


def login_retry_after(request, username) -> int:
    """Seconds before this account may try to log in from this address (0: now)."""
    return max(retry_after(LOGIN_ACCOUNT, account_of(username)), retry_after(LOGIN_ADDRESS, client_address(request)))


def login_failed(request, username) -> None:
    failed(LOGIN_ACCOUNT, account_of(username))
    failed(LOGIN_ADDRESS, client_address(request))


def login_succeeded(username) -> None:
    clear(LOGIN_ACCOUNT, account_of(username))


def login_refused(request, username, wait: int) -> None:
    security_log.warning(
        "login refused (too many failures): account=%r address=%s retry_after=%ds",
        account_of(username),
        client_address(request),
        wait,
    )


# --- API tokens ------------------------------------------------------------------------


def token_retry_after(request) -> int:
    return retry_after(TOKEN_ADDRESS, client_address(request))


def token_failed(request) -> None:
    failed(TOKEN_ADDRESS, client_address(request))


def token_refused(request, wait: int) -> None:
    security_log.warning(
        "API authentication refused (too many bad tokens): address=%s path=%s retry_after=%ds",
        client_address(request),
        request.path,
        wait,
    )


def forget_all() -> int:
    """Delete every counter (tests; an operator after a false alarm). Returns how many keys went."""
    try:
        client = cache._cache.get_client(write=True)
        pattern = cache.make_key(f"{KEY_PREFIX}:*")
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    except Exception:  # no Redis, or another backend: nothing to forget
        return 0
