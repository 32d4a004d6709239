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


def create_token(*, user, name: str, read_only: bool = False, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns (token, key). The key is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError("A token needs a name (what it is for).")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise TokenError("expires_in_days must be between 1 and 3650.")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise TokenError(f"At most {MAX_TOKENS_PER_USER} live tokens per user; revoke one first.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[: len(KEY_PREFIX) + SHOWN_PREFIX_LENGTH], key_hash=_hash(key),
        read_only=read_only, expires_at=expires_at,
    )
    return token, key


def revoke_token(token: ApiToken) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


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
