import pytest

from annotator.models import Dataset

pytestmark = pytest.mark.django_db


def test_it_redirects_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_login_page_is_public(client):
    assert client.get("/accounts/login/").status_code == 200


def test_login_with_a_password_reaches_home(client, bob):
    response = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob"}, follow=True)
    assert response.status_code == 200
    assert b"Datasets" in response.content


def test_home_lists_only_the_datasets_an_annotator_is_assigned(client, bob, assigned):
    mine = assigned(Dataset.objects.create(name="mine"))
    Dataset.objects.create(name="theirs")
    client.force_login(bob)
    body = client.get("/").content.decode()
    assert mine.name in body and "theirs" not in body


def test_researchers_see_public_datasets(client, carol):
    Dataset.objects.create(name="open-data", is_public=True)
    Dataset.objects.create(name="closed-data")
    client.force_login(carol)
    body = client.get("/").content.decode()
    assert "open-data" in body and "closed-data" not in body


def test_the_django_admin_works_for_admins(admin_client):
    for url in [
        "/admin/",
        "/admin/annotator/dataset/",
        "/admin/annotator/job/",
        "/admin/annotator/dataset/import/",
        "/admin/annotator/image/",
        "/admin/annotator/annotation/",
        "/admin/auth/user/",
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_non_staff_cannot_enter_the_admin(client, bob):
    client.force_login(bob)
    assert client.get("/admin/").status_code == 302


# --- the login throttle (annotator/accounts/throttle.py) ---------------------------------


def _login(client, username, password, address="198.51.100.7", next=None, **meta):
    data = {"username": username, "password": password, **({"next": next} if next else {})}
    return client.post("/accounts/login/", data, REMOTE_ADDR=address, **meta)


def test_an_account_is_refused_after_five_failures_even_with_its_password(client, bob, caplog):
    for _ in range(5):
        assert _login(client, "bob", "wrong").status_code == 200
    with caplog.at_level("WARNING", logger="headpose.security"):
        refused = _login(client, "bob", "pw-bob")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 15 * 60
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert any(r.name == "headpose.security" and "bob" in r.getMessage() for r in caplog.records)
    # the account is refused from another address too; another account is not
    assert _login(client, "BOB", "pw-bob", address="203.0.113.9").status_code == 429
    assert _login(client, "carol-nobody", "x", address="203.0.113.9").status_code == 200


def test_a_success_clears_only_its_own_account(client, bob, carol):
    for _ in range(4):
        _login(client, "bob", "wrong")
        _login(client, "carol", "wrong")
    assert _login(client, "bob", "pw-bob").status_code == 302  # bob's counter starts again ...
    client.logout()
    for _ in range(4):
        assert _login(client, "bob", "wrong").status_code == 200
    assert _login(client, "carol", "wrong").status_code == 200  # ... carol's did not: her fifth failure
    assert _login(client, "carol", "pw-carol").status_code == 429


def test_an_address_is_refused_after_twenty_failures_on_any_accounts(client, bob, settings):
    for i in range(20):
        assert _login(client, f"guess{i}", "wrong").status_code == 200
    assert _login(client, "bob", "pw-bob").status_code == 429
    assert _login(client, "bob", "pw-bob", address="192.0.2.44").status_code == 302  # another address


def test_the_address_is_read_from_the_configured_proxy_header(client, bob, settings):
    settings.HEADPOSE_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.HEADPOSE_LOGIN_FAILURES_PER_ADDRESS = 2
    for _ in range(2):
        _login(client, "x", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    assert _login(client, "bob", "pw-bob", address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert _login(client, "bob", "pw-bob", address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302


def test_logins_work_again_after_the_window(client, bob, monkeypatch):
    from annotator.accounts import throttle

    for _ in range(5):
        _login(client, "bob", "wrong")
    assert _login(client, "bob", "pw-bob").status_code == 429
    later = throttle._now() + 15 * 60 + 1
    monkeypatch.setattr(throttle, "_now", lambda: later)
    assert _login(client, "bob", "pw-bob").status_code == 302


def test_the_admin_login_page_is_throttled_too(client, alice):
    for _ in range(5):
        r = client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.8")
        assert r.status_code == 200
    r = client.post("/admin/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="198.51.100.8")
    assert r.status_code == 429 and r["Retry-After"]


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "http://evil.example"])
def test_login_does_not_follow_an_external_next(client, bob, next_url):
    r = _login(client, "bob", "pw-bob", next=next_url)
    assert r.status_code == 302 and "evil" not in r["Location"] and r["Location"] == "/"
