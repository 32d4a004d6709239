"""Personal API tokens: create (the key is returned once), revoke, authenticate.

Keys are 'hps_' + 43 url-safe characters (256 random bits); the database keeps
only their sha256, so a leaked database does not leak keys. A fast hash is
enough for keys of that entropy (no password stretching needed)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from annotator.accounts.models import ApiToken

KEY_PREFIX = "hps_"
SHOWN_PREFIX_LENGTH = 8
MAX_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token: one UPDATE per request
# would double the cost of a cheap GET.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token request that cannot be honoured; the message is for the user."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(
    *, user, name: str, read_only: bool = False, expires_in_days: int | None = None, parent: ApiToken | None = None
) -> tuple[ApiToken, str]:
    """Returns (token, key). The key is not stored and cannot be shown again.

    `parent`: the token the request that asks for this one authenticated with.
    The new token then expires no later than its parent (its expiry is capped
    at the parent's; with no expiry asked, it gets the parent's) and is revoked
    with it (revoke_token)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("A token needs a name (what it is for).")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise TokenError("expires_in_days must be between 1 and 3650.")
    with transaction.atomic():
        if parent is not None:
            # locked, so a revocation of the parent cannot miss a child made at the same moment
            parent = ApiToken.objects.select_for_update().get(pk=parent.pk)
            if not parent.is_active:
                raise TokenError("The token of this request is no longer active.")
        if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
            raise TokenError(f"At most {MAX_TOKENS_PER_USER} live tokens per user; revoke one first.")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        if parent is not None and parent.expires_at is not None:
            expires_at = parent.expires_at if expires_at is None else min(expires_at, parent.expires_at)
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=key[: len(KEY_PREFIX) + SHOWN_PREFIX_LENGTH],
            key_hash=_hash(key),
            read_only=read_only,
            expires_at=expires_at,
            parent=parent,
        )
    return token, key


def _live_descendants(token: ApiToken) -> list[int]:
    ids, frontier = [], [token.pk]
    while frontier:
        frontier = list(ApiToken.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids += frontier
    return ids


def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke `token` and every token made from it (its children, theirs, ...)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        now = timezone.now()
        if token.revoked_at is None:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
        ApiToken.objects.filter(pk__in=_live_descendants(token), revoked_at__isnull=True).update(revoked_at=now)
    return token


def revoke_all_tokens(user) -> int:
    """Revoke every live token of `user` (a password change or reset); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def tokens_of(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at")


class InvalidToken(Exception):
    pass


def authenticate_key(key: str) -> ApiToken:
    """The live token for `key`, or InvalidToken with the reason."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        raise InvalidToken("Invalid token.")
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
    if token is None:
        raise InvalidToken("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise InvalidToken("This token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken("This token has expired.")
    if not token.user.is_active:
        raise InvalidToken("The token's user is inactive.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
