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
    for url in ["/admin/", "/admin/annotator/dataset/", "/admin/annotator/job/", "/admin/annotator/dataset/import/",
                "/admin/annotator/image/", "/admin/annotator/annotation/", "/admin/auth/user/"]:
        assert admin_client.get(url).status_code == 200, url


def test_non_staff_cannot_enter_the_admin(client, bob):
    client.force_login(bob)
    assert client.get("/admin/").status_code == 302
