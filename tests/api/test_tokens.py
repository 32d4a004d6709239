"""Personal API tokens: creation (key shown once, only a hash stored), read-only
tokens, revocation, expiry, and the 401s that tell a client why."""
from datetime import timedelta

import pytest
from django.utils import timezone

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
    body = {"face": face.pk, "R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "status": "accepted",
            "expected_version": 0}
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


@pytest.mark.parametrize("body, field", [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                                         ({"name": "ok", "expires_in_days": 0}, "expires_in_days"),
                                         ({"name": "ok", "read_only": "perhaps"}, "read_only")])
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
