"""A user's own keyboard map (issue 26 item 5): /api/label/keymap/ (GET, PUT), checked
by the rules of static/js/keymap.js (annotator/accounts/keymap.py: the same table,
compared here with the module itself run in node), and carried into the editor pages."""

import json
import re
import shutil
import subprocess

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotator.accounts.keymap import ACTIONS, check_keymap
from annotator.accounts.models import UserSettings
from annotator.accounts.tokens import create_token
from tests.conftest import REPO_ROOT

URL = "/api/label/keymap/"


@pytest.fixture
def carl(django_user_model):
    return django_user_model.objects.create_user("carl", "carl@example.com", "pw")


@pytest.fixture
def client_of(carl):
    client = APIClient()
    client.force_authenticate(carl)
    return client


@pytest.mark.django_db
def test_get_put_get_stores_the_users_own_keys(carl, client_of):
    assert client_of.get(URL).json() == {"keymap": {}}
    r = client_of.put(URL, {"keymap": {"accept": "b", "reset": "g", "ghosts": "r"}}, format="json")
    assert r.status_code == 200, r.content
    assert r.json() == {"keymap": {"accept": "b", "reset": "g", "ghosts": "r"}}
    assert UserSettings.objects.get(user=carl).keymap == {"accept": "b", "reset": "g", "ghosts": "r"}
    assert client_of.get(URL).json()["keymap"]["accept"] == "b"
    assert client_of.put(URL, {"keymap": {}}, format="json").json() == {"keymap": {}}  # back to the defaults


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keymap", "reason"),
    [
        ({"launch": "b"}, "unknown action 'launch'"),
        ({"accept": "B"}, "letters are written lower case"),
        ({"accept": "Hyper+a"}, "is not a key"),
        ({"accept": "w"}, "'w' would be both accept and wireframe"),
        ({"moveDown": "Shift+q"}, "'Shift+q' would be both rollLeft and moveDown"),
        ({"accept": "Escape"}, "kept for closing dialogs"),
        ({"help": "h"}, "'help' keeps its key"),
    ],
)
def test_a_map_that_cannot_be_used_is_a_400_that_says_why(carl, client_of, keymap, reason):
    r = client_of.put(URL, {"keymap": keymap}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid" and reason in " ".join(body["keymap"]), body
    assert not UserSettings.objects.filter(user=carl).exists()


@pytest.mark.django_db
def test_not_an_object_and_not_strings_are_400s(client_of):
    for body in ({"keymap": ["a"]}, {"keymap": {"accept": None}}, {"keymap": {"accept": True}}, {}):
        assert client_of.put(URL, body, format="json").status_code == 400, body


@pytest.mark.django_db
def test_anonymous_callers_and_read_only_tokens_may_not(carl):
    assert APIClient().get(URL).status_code in (401, 403)
    assert APIClient().put(URL, {"keymap": {}}, format="json").status_code in (401, 403)
    _, key = create_token(user=carl, name="ro", read_only=True)
    ro = APIClient()
    ro.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ro.get(URL).status_code == 200
    assert ro.put(URL, {"keymap": {"accept": "b"}}, format="json").status_code == 403


def test_the_servers_table_is_static_js_keymap_js():
    if shutil.which("node") is None:
        pytest.fail("node is needed: the keymap is JavaScript")
    script = (
        "import('./static/js/keymap.js').then((m) => console.log(JSON.stringify("
        "m.ACTIONS.map((a) => [a.id, a.keys, Boolean(a.coarse), Boolean(a.fixed)]))))"
    )
    out = subprocess.run(["node", "-e", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    js = [(i, tuple(keys), coarse, fixed) for i, keys, coarse, fixed in json.loads(out)]
    assert js == [(i, keys, coarse, fixed) for i, (keys, coarse, fixed) in ACTIONS.items()]
    check_keymap({})  # the defaults pass the server's rules too


@pytest.mark.django_db
def test_the_labeling_page_carries_the_users_map(world):
    bob = world["users"]["annotator"]
    UserSettings.objects.create(user=bob, keymap={"accept": "b"})
    client = Client()
    client.force_login(bob)
    html = client.get(f"/label/faces/{world['objects']['priv']['unlabeled_face'].pk}/").content.decode()
    config = json.loads(re.search(r'id="editor-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["keymap"] == {"page": "label", "user": {"accept": "b"}}
    assert config["urls"]["keymap"] == URL
