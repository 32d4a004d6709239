"""Personal API tokens: creation (key shown once, only a hash stored), read-only
tokens, revocation, expiry, and the 401s that tell a client why."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from rest_framework.test import APIClient

from annotator.accounts.tokens import create_token
from annotator.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_created_key_works_once_shown_and_is_stored_only_as_a_hash(world, api_as):
    r = api_as("researcher").post("/api/v1/tokens/", {"name": "notebook", "read_only": True}, format="json")
    assert r.status_code == 201, r.content
    key = r.json()["key"]
    assert key.startswith("hps_") and len(key) > 40
    token = ApiToken.objects.get(pk=r.json()["id"])
    assert key not in (token.key_hash, token.prefix) and token.prefix == key[:12]
    assert api_as(None, key=key).get("/api/v1/me/").json()["username"] == "carol"
    listed = api_as("researcher").get(f"/api/v1/tokens/{token.pk}/").json()
    assert "key" not in listed and listed["read_only"] is True


def test_revoking_a_token_locks_it_out_at_once(world, api_as):
    carol = world["users"]["researcher"]
    token, key = create_token(user=carol, name="ci job")
    client = api_as(None, key=key)
    assert client.get("/api/v1/datasets/").status_code == 200
    r = api_as("researcher").delete(f"/api/v1/tokens/{token.pk}/")
    assert r.status_code == 200 and r.json()["revoked_at"] and r.json()["is_active"] is False
    denied = client.get("/api/v1/datasets/")
    assert denied.status_code == 401 and "revoked" in denied.json()["detail"]
    # the other tokens of the same user keep working
    assert api_as("researcher").get("/api/v1/datasets/").status_code == 200


def test_a_read_only_token_reads_but_cannot_write(world, api_as):
    _, key = create_token(user=world["users"]["annotator"], name="dashboards", read_only=True)
    client = api_as(None, key=key)
    assert client.get("/api/v1/annotations/").status_code == 200
    face = world["objects"]["priv"]["unlabeled_face"]
    body = {
        "face": face.pk,
        "R": [1, 0, 0, 0, 1, 0, 0, 0, 1],
        "t": [0, 0, 600],
        "status": "accepted",
        "expected_version": 0,
    }
    r = client.post("/api/v1/annotations/", body, format="json")
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    assert not face.annotations.filter(origin="annotator").exists()
    # nor mint itself a writable token
    assert client.post("/api/v1/tokens/", {"name": "escalate"}, format="json").status_code == 403
    # the same user's session / writable token can
    assert api_as("annotator").post("/api/v1/annotations/", body, format="json").status_code == 201


def test_expired_unknown_and_malformed_tokens_are_401_with_a_reason(world, api_as):
    token, key = create_token(user=world["users"]["researcher"], name="old", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for k, reason in ((key, "expired"), ("hps_" + "x" * 43, "Invalid"), ("nonsense", "Invalid")):
        r = api_as(None, key=k).get("/api/v1/me/")
        assert r.status_code == 401 and reason in r.json()["detail"], r.content
    r = api_as(None).get("/api/v1/me/", HTTP_AUTHORIZATION="Token a b")
    assert r.status_code == 401


def test_an_inactive_users_tokens_stop_working(world, api_as):
    carol = world["users"]["researcher"]
    carol.is_active = False
    carol.save()
    assert api_as("researcher").get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "ok", "read_only": "perhaps"}, "read_only"),
    ],
)
def test_bad_token_requests_get_field_errors(world, api_as, body, field):
    r = api_as("researcher").post("/api/v1/tokens/", body, format="json")
    assert r.status_code == 400 and field in r.json(), r.content


def test_last_used_is_recorded(world, api_as):
    token = ApiToken.objects.filter(user=world["users"]["reviewer"]).get()
    assert token.last_used_at is None
    api_as("reviewer").get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at is not None


# --- bad tokens are throttled per address (annotator/accounts/throttle.py) -------------------


def test_bad_tokens_from_one_address_are_throttled_with_429_and_retry_after(world, api_as, settings, caplog):
    settings.HEADPOSE_TOKEN_FAILURES_PER_ADDRESS = 3
    stranger = api_as(None, key="hps_" + "y" * 43)
    for _ in range(3):
        assert stranger.get("/api/v1/me/", REMOTE_ADDR="198.51.100.20").status_code == 401
    with caplog.at_level("WARNING", logger="headpose.security"):
        r = stranger.get("/api/v1/me/", REMOTE_ADDR="198.51.100.20")
    assert r.status_code == 429, r.content
    body = r.json()
    assert body["code"] == "throttled" and "Too many failed authentications" in body["detail"]
    assert set(body) == {"detail", "code"} and 1 <= int(r["Retry-After"]) <= settings.HEADPOSE_LOGIN_WINDOW_S
    assert any(rec.name == "headpose.security" and "198.51.100.20" in rec.getMessage() for rec in caplog.records)
    # a valid key from that address is refused too (the answer never tells keys apart) ...
    assert api_as("researcher").get("/api/v1/me/", REMOTE_ADDR="198.51.100.20").status_code == 429
    # ... and works from another address; sessions (no token) are not affected
    assert api_as("researcher").get("/api/v1/me/", REMOTE_ADDR="198.51.100.21").status_code == 200
    assert ApiToken.objects.filter(last_used_at__isnull=False, user=world["users"]["researcher"]).exists()


def test_token_authentication_works_again_after_the_window(world, api_as, settings, monkeypatch):
    from annotator.accounts import throttle

    settings.HEADPOSE_TOKEN_FAILURES_PER_ADDRESS = 2
    for _ in range(2):
        api_as(None, key="nonsense").get("/api/v1/me/")
    assert api_as("researcher").get("/api/v1/me/").status_code == 429
    later = throttle._now() + settings.HEADPOSE_LOGIN_WINDOW_S + 1
    monkeypatch.setattr(throttle, "_now", lambda: later)
    assert api_as("researcher").get("/api/v1/me/").status_code == 200


# --- a token's children: expiry capped, revoked with it ------------------------------------


def _child(api_as, key, **body):
    r = api_as(None, key=key).post("/api/v1/tokens/", {"name": "child", **body}, format="json")
    assert r.status_code == 201, r.content
    return ApiToken.objects.get(pk=r.json()["id"]), r.json()


def test_a_token_made_with_a_token_expires_no_later_than_its_parent(world, api_as):
    parent, key = create_token(user=world["users"]["researcher"], name="one day", expires_in_days=1)
    forever, body = _child(api_as, key)  # no expiry asked: the parent's
    assert forever.parent == parent and forever.expires_at == parent.expires_at and body["parent"] == parent.pk
    longer, _ = _child(api_as, key, expires_in_days=30)  # capped
    assert longer.expires_at == parent.expires_at
    grandchild_key = api_as(None, key=key).post("/api/v1/tokens/", {"name": "g"}, format="json").json()["key"]
    grandchild, _ = _child(api_as, grandchild_key, expires_in_days=3650)
    assert grandchild.expires_at == parent.expires_at
    # a shorter expiry is kept; a parent without expiry leaves the child's as asked
    ten_days, ten_key = create_token(user=world["users"]["researcher"], name="ten days", expires_in_days=10)
    assert _child(api_as, ten_key, expires_in_days=2)[0].expires_at < ten_days.expires_at - timedelta(days=7)
    _, free_key = create_token(user=world["users"]["researcher"], name="no expiry")
    assert _child(api_as, free_key)[0].expires_at is None
    assert _child(api_as, free_key, expires_in_days=2)[0].expires_at is not None
    # tokens made on the page (a session) have no parent
    client = APIClient()
    client.force_login(world["users"]["researcher"])
    made = client.post("/api/v1/tokens/", {"name": "from a session"}, format="json").json()
    assert made["parent"] is None


def test_revoking_a_token_revokes_the_tokens_made_with_it(world, api_as):
    parent, key = create_token(user=world["users"]["researcher"], name="ci")
    child_key = api_as(None, key=key).post("/api/v1/tokens/", {"name": "c"}, format="json").json()["key"]
    grandchild_key = api_as(None, key=child_key).post("/api/v1/tokens/", {"name": "g"}, format="json").json()["key"]
    _, sibling_key = create_token(user=world["users"]["researcher"], name="unrelated")
    assert api_as(None, key=grandchild_key).get("/api/v1/me/").status_code == 200
    assert api_as("researcher").delete(f"/api/v1/tokens/{parent.pk}/").status_code == 200
    for k in (key, child_key, grandchild_key):
        r = api_as(None, key=k).get("/api/v1/me/")
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert api_as(None, key=sibling_key).get("/api/v1/me/").status_code == 200
    # a revoked or expired token cannot make children either
    assert api_as(None, key=key).post("/api/v1/tokens/", {"name": "late"}, format="json").status_code == 401
    assert not ApiToken.objects.filter(name="late").exists()


# --- a new password revokes every token ---------------------------------------------------


class OneRoundPBKDF2(PBKDF2PasswordHasher):
    iterations = 1


def test_a_password_change_revokes_the_users_tokens(world, api_as, caplog):
    carol = world["users"]["researcher"]
    _, key = create_token(user=carol, name="laptop")
    assert api_as(None, key=key).get("/api/v1/me/").status_code == 200
    carol.set_password("a-new-password")
    carol.save()
    for k in (key, world["keys"]["researcher"]):
        r = api_as(None, key=k).get("/api/v1/me/")
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # other users' tokens live on; a token made after the change works
    assert api_as("annotator").get("/api/v1/me/").status_code == 200
    _, fresh = create_token(user=carol, name="after")
    assert api_as(None, key=fresh).get("/api/v1/me/").status_code == 200


def test_a_login_that_only_rehashes_the_password_keeps_the_tokens(world, api_as, settings):
    settings.PASSWORD_HASHERS = [
        "tests.api.test_tokens.OneRoundPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    carol = world["users"]["researcher"]
    assert carol.password.startswith("md5$") and carol.check_password("pw-carol")
    carol.refresh_from_db()
    assert carol.password.startswith("pbkdf2_sha256$")  # upgraded and saved
    assert api_as("researcher").get("/api/v1/me/").status_code == 200


def test_the_admin_password_pages_revoke_the_tokens_and_say_so(world, api_as):
    admin = APIClient()
    admin.force_login(world["users"]["admin"])
    carol = world["users"]["researcher"]
    r = admin.post(
        f"/admin/auth/user/{carol.pk}/password/",
        {"password1": "Another-pass-42", "password2": "Another-pass-42", "usable_password": "true"},
        follow=True,
    )
    assert r.status_code == 200 and "API tokens were revoked" in r.content.decode()
    assert api_as("researcher").get("/api/v1/me/").status_code == 401
    # an admin's own password
    r = admin.post(
        "/admin/password_change/",
        {"old_password": "pw-alice", "new_password1": "Alice-new-pass-42", "new_password2": "Alice-new-pass-42"},
        follow=True,
    )
    assert r.status_code == 200 and "API tokens were revoked" in r.content.decode()
    assert api_as("admin").get("/api/v1/me/").status_code == 401
