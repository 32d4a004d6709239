"""The permission table of annotator/access.py, end to end over HTTP with real
tokens: every role against every kind of object in a public, an assigned and an
unassigned dataset. 404 (not 403) where the caller may not even see the object,
so ids cannot be probed. Pages and stored files: test_page_permissions.py."""

import json

import pytest

from annotator.models import Annotation
from tests.sequence_data import sequence_of
from workers.core import geometry

pytestmark = pytest.mark.django_db

# None: anonymous; the last two have one role in each of two datasets (conftest.MIXED):
# rev_pub_ann_priv (mia) reviews pub and annotates priv, rev_priv_ann_pub (max) the reverse.
ROLES = ["admin", "annotator", "reviewer", "researcher", "rev_pub_ann_priv", "rev_priv_ann_pub", None]
MIXED_ROLES = ("rev_pub_ann_priv", "rev_priv_ann_pub")


def both(mia, max_):
    """The two mixed-role users' expected answers: mia (reviewer of pub, annotator of
    priv), max (reviewer of priv, annotator of pub). Each is, in each dataset, exactly
    what their role there makes them: a reviewer like dave in priv, an annotator like
    bob (who reads only his own labels)."""
    return dict(rev_pub_ann_priv=mia, rev_priv_ann_pub=max_)


# (what, dataset, {role: expected status}); admin, annotator(bob: priv), reviewer(dave: priv), researcher(carol)
READS = [
    ("dataset", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 200))),
    ("dataset", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(200, 200))),
    ("dataset", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("image", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 200))),
    ("image", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(200, 200))),
    ("image", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("face", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(200, 200))),
    ("face", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 200))),
    ("face", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("proposal", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 200))),
    ("proposal", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(200, 200))),
    # an annotator reads only their own labels, not the ground truth nor other people's
    ("annotation", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(404, 200))),
    ("annotation", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 404))),
    ("ground_truth", "priv", dict(admin=200, annotator=404, reviewer=200, researcher=404, **both(404, 200))),
    ("ground_truth", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 404))),
    ("ground_truth", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("export", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 403))),
    ("export", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(403, 200))),
    ("export", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("revisions", "priv", dict(admin=200, annotator=200, reviewer=200, researcher=404, **both(404, 200))),
    ("revisions", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 404))),
    # the sequence editor's state: for those who label the dataset
    ("sequence", "priv", dict(admin=200, annotator=200, reviewer=403, researcher=404, **both(200, 403))),
    ("sequence", "pub", dict(admin=200, annotator=404, reviewer=403, researcher=403, **both(403, 200))),
    ("sequence", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    # quality figures and honeypots: reviewers of the dataset and admins; annotators never
    ("quality", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(403, 200))),
    ("quality", "pub", dict(admin=200, annotator=404, reviewer=403, researcher=403, **both(200, 403))),
    ("quality", "hidden", dict(admin=200, annotator=404, reviewer=404, researcher=404, **both(404, 404))),
    ("honeypots", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(403, 200))),
    ("honeypots", "pub", dict(admin=200, annotator=404, reviewer=403, researcher=403, **both(200, 403))),
    ("consensus_export", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(403, 200))),
    ("consensus_export", "pub", dict(admin=200, annotator=404, reviewer=200, researcher=200, **both(200, 403))),
]

URLS = {
    "dataset": lambda o: f"/api/v1/datasets/{o['dataset'].pk}/",
    "image": lambda o: f"/api/v1/images/{o['image'].pk}/",
    "face": lambda o: f"/api/v1/faces/{o['face'].pk}/",
    "proposal": lambda o: f"/api/v1/proposals/{o['proposal'].pk}/",
    "annotation": lambda o: f"/api/v1/annotations/{o['annotation'].pk}/",
    "ground_truth": lambda o: f"/api/v1/annotations/{o['ground_truth'].pk}/",
    "export": lambda o: f"/api/v1/datasets/{o['dataset'].pk}/export/?format=csv&labels=best",
    "revisions": lambda o: f"/api/v1/annotations/{o['annotation'].pk}/revisions/",
    "sequence": lambda o: f"/api/label/sequences/{sequence_of(o).pk}/",
    "quality": lambda o: f"/api/v1/datasets/{o['dataset'].pk}/quality/",
    "honeypots": lambda o: f"/api/v1/datasets/{o['dataset'].pk}/honeypots/",
    "consensus_export": lambda o: f"/api/v1/datasets/{o['dataset'].pk}/export/?format=csv&labels=consensus",
}


def _cases(table):
    for what, ds, expected in table:
        for role in ROLES:
            yield pytest.param(what, ds, role, expected.get(role, 401), id=f"{what}-{ds}-{role or 'anonymous'}")


@pytest.mark.parametrize("what, ds, role, status", list(_cases(READS)))
def test_reads(mixed_roles, api_as, what, ds, role, status):
    r = api_as(role).get(URLS[what](mixed_roles["objects"][ds]))
    assert r.status_code == status, (r.status_code, getattr(r, "content", b"")[:300])
    if status == 401:
        assert r["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(
    "role, expected",
    [
        ("admin", {"pub", "priv", "hidden"}),
        ("annotator", {"priv"}),
        ("reviewer", {"pub", "priv"}),
        ("researcher", {"pub"}),
        ("other_annotator", {"pub"}),
        ("rev_pub_ann_priv", {"pub", "priv"}),
        ("rev_priv_ann_pub", {"pub", "priv"}),
    ],
)
def test_lists_hold_only_what_the_role_may_see(mixed_roles, api_as, role, expected):
    world = mixed_roles
    names = {d["name"] for d in api_as(role).get("/api/v1/datasets/").json()["results"]}
    assert names == expected
    allowed = {world["datasets"][n].pk for n in expected}
    for what in ("images", "faces", "proposals"):
        rows = api_as(role).get(f"/api/v1/{what}/?page_size=1000").json()["results"]
        ds_of = {
            "images": lambda r: r["dataset"],
            "faces": lambda r: r["dataset"],
            "proposals": lambda r: world_face_dataset(world, r["face"]),
        }[what]
        assert rows and {ds_of(r) for r in rows} == allowed, what
    annotations = api_as(role).get("/api/v1/annotations/?page_size=1000").json()["results"]
    if role in ("annotator", "other_annotator"):
        # their own labels only: no ground truth, nobody else's
        assert annotations and {a["author"] for a in annotations} == {world["users"][role].username}
    elif role in MIXED_ROLES:
        # every label of the dataset they review; in the one they annotate, their own only
        reviewed = world["datasets"]["pub" if role == "rev_pub_ann_priv" else "priv"].pk
        own = world["own_labels"][role]
        theirs = {a["id"] for a in annotations if world_face_dataset(world, a["face"]) != reviewed}
        assert theirs == {own.pk}, annotations
        assert {a["id"] for a in annotations} - theirs == set(
            Annotation.objects.filter(dataset_id=reviewed).values_list("pk", flat=True)
        )
    else:
        assert {world_face_dataset(world, a["face"]) for a in annotations} == allowed


def world_face_dataset(world, face_id):
    from annotator.models import Face

    return Face.objects.get(pk=face_id).image.dataset_id


def _label_body(face):
    return {
        "face": face.pk,
        "R": geometry.euler_to_matrix([3.0, 4.0, 5.0]).reshape(-1).tolist(),
        "t": [0, 0, 700],
        "status": "corrected",
        "expected_version": 0,
    }


# Writes. A face the caller cannot see is a field error (400 "No such face"), one they
# see but may not label a 403.
WRITES = [
    ("label", "priv", dict(admin=201, annotator=201, reviewer=403, researcher=400, **both(201, 403))),
    ("label", "pub", dict(admin=201, annotator=400, reviewer=403, researcher=403, **both(403, 201))),
    ("label", "hidden", dict(admin=201, annotator=400, reviewer=400, researcher=400, **both(400, 400))),
    ("review", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(404, 200))),
    ("review", "pub", dict(admin=200, annotator=404, reviewer=403, researcher=403, **both(200, 404))),
    ("export_job", "priv", dict(admin=202, annotator=403, reviewer=202, researcher=400, **both(403, 202))),
    ("export_job", "pub", dict(admin=202, annotator=400, reviewer=202, researcher=202, **both(202, 403))),
    ("honeypot", "priv", dict(admin=200, annotator=403, reviewer=200, researcher=404, **both(403, 200))),
    ("honeypot", "pub", dict(admin=200, annotator=404, reviewer=403, researcher=403, **both(200, 403))),
]


@pytest.mark.parametrize("what, ds, role, status", list(_cases(WRITES)))
def test_writes(mixed_roles, api_as, what, ds, role, status, django_capture_on_commit_callbacks):
    o = mixed_roles["objects"][ds]
    client = api_as(role)
    if what == "label":
        r = client.post("/api/v1/annotations/", _label_body(o["unlabeled_face"]), format="json")
    elif what == "review":
        r = client.post(
            f"/api/v1/annotations/{o['annotation'].pk}/review/",
            {"decision": "approved", "expected_version": o["annotation"].version},
            format="json",
        )
    elif what == "honeypot":  # the face has ground truth: a trusted label
        r = client.post(f"/api/v1/datasets/{o['dataset'].pk}/honeypots/", {"faces": [o["face"].pk]}, format="json")
    else:
        # the job itself is not run here (tests/api/test_exports_api.py runs one through a worker)
        r = client.post("/api/v1/exports/", {"dataset": o["dataset"].pk, "format": "csv"}, format="json")
    assert r.status_code == status, (r.status_code, r.content[:300])


# The review page's endpoints (/api/label/review/): reviewers of the dataset and
# admins. An annotator who sees the dataset gets a 403 (and none of the labels);
# a dataset the caller cannot see is a 404. erin's label is on pub, bob's on priv.
# The mixed-role users: in the dataset they annotate they cannot read the label (404)
# and are no reviewer of its queue (403).
REVIEWS = [
    (what, ds, expected | both(*(mixed if what != "review_next" else [403 if m == 404 else m for m in mixed])))
    for what in ("review_state", "review_decision", "review_correction", "review_next")
    for ds, expected, mixed in (
        ("priv", dict(admin=200, annotator=403, reviewer=200, researcher=404), (404, 200)),
        ("pub", dict(admin=200, annotator=404, reviewer=403, researcher=403), (200, 404)),
    )
]


def _review_request(client, what, o):
    a = o["annotation"]
    if what == "review_state":
        return client.get(f"/api/label/review/annotations/{a.pk}/")
    if what == "review_decision":
        return client.post(
            f"/api/label/review/annotations/{a.pk}/decision/",
            {"decision": "approved", "expected_version": a.version},
            format="json",
        )
    if what == "review_correction":
        return client.put(
            f"/api/label/review/annotations/{a.pk}/correction/",
            {**_label_body(o["face"]), "expected_version": a.version},
            format="json",
        )
    return client.post(f"/api/label/review/datasets/{o['dataset'].pk}/next/", {}, format="json")


@pytest.mark.parametrize("what, ds, role, status", list(_cases(REVIEWS)))
def test_review_endpoints(mixed_roles, api_as, what, ds, role, status):
    r = _review_request(api_as(role), what, mixed_roles["objects"][ds])
    assert r.status_code == status, (r.status_code, r.content[:300])
    if status != 200:
        # nothing of any label in a refusal: not a pose, not a username
        body = r.json()
        assert set(body) == {"detail", "code"}, body
        assert not any(name in body["detail"] for name in ("erin", "bob", "mia", "max"))


def test_hidden_datasets_review_endpoints_answer_404_to_all_but_admins(mixed_roles, api_as):
    from tests.api.conftest import label as make_label

    world = mixed_roles
    o = dict(world["objects"]["hidden"])
    o["annotation"] = make_label(o["face"], world["users"]["other_annotator"], [1.0, 2.0, 3.0])
    for what in ("review_state", "review_decision", "review_correction", "review_next"):
        for role in ("annotator", "reviewer", "researcher", *MIXED_ROLES):
            assert _review_request(api_as(role), what, o).status_code == 404, (what, role)
        o["annotation"].refresh_from_db()  # each verdict makes a new version: judge the current one
        assert _review_request(api_as("admin"), what, o).status_code == 200, what


def test_mixed_roles_read_their_own_labels_and_me_names_each_datasets_role(mixed_roles, api_as):
    """In the dataset they annotate, a mixed-role user reads their own label (and its
    history) and nothing else of it; /api/v1/me says what they do where."""
    ids = {key: ds.pk for key, ds in mixed_roles["datasets"].items()}
    for role, reviewed, annotated in (("rev_pub_ann_priv", "pub", "priv"), ("rev_priv_ann_pub", "priv", "pub")):
        own = mixed_roles["own_labels"][role]
        client = api_as(role)
        assert client.get(f"/api/v1/annotations/{own.pk}/").status_code == 200
        assert client.get(f"/api/v1/annotations/{own.pk}/revisions/").status_code == 200
        me = client.get("/api/v1/me/").json()["datasets"]
        assert me == {
            "visible": sorted([ids["pub"], ids["priv"]]),
            "labels_readable": [ids[reviewed]],
            "labeling": [ids[annotated]],
            "reviewing": [ids[reviewed]],
        }, role


@pytest.mark.parametrize(
    "role, status",
    [
        ("admin", 200),
        ("researcher", 200),
        ("annotator", 403),
        ("reviewer", 403),
        ("rev_pub_ann_priv", 403),
        ("rev_priv_ann_pub", 403),
        (None, 401),
    ],
)
def test_leaderboards_are_for_researchers_and_admins(mixed_roles, api_as, role, status):
    assert api_as(role).get("/api/v1/benchmarks/").status_code == status


def test_tokens_of_other_users_are_invisible(world, api_as):
    theirs = api_as("researcher").get("/api/v1/tokens/").json()["results"][0]["id"]
    assert api_as("annotator").get(f"/api/v1/tokens/{theirs}/").status_code == 404
    assert api_as("annotator").delete(f"/api/v1/tokens/{theirs}/").status_code == 404
    assert api_as("researcher").get(f"/api/v1/tokens/{theirs}/").status_code == 200


def test_guessing_ids_reveals_nothing(world, api_as):
    """An id of an invisible object and an id that does not exist answer alike."""
    hidden = world["objects"]["hidden"]
    for url in (f"/api/v1/faces/{hidden['face'].pk}/", f"/api/v1/annotations/{hidden['ground_truth'].pk}/"):
        seen = api_as("researcher").get(url)
        missing = api_as("researcher").get(url.replace(str(url.split("/")[-2]), "987654"))
        assert seen.status_code == missing.status_code == 404
        assert json.loads(seen.content) == json.loads(missing.content)


# The labeling page's own endpoints added with it: giving back claims on faces fetched
# ahead asks the same gate as the next face (labeling/selectors.dataset_for_labeling), so
# it answers what `next` answers, role by role; a user's keymap is their own (anonymous: no).
@pytest.mark.parametrize("ds", ["pub", "priv", "hidden"])
@pytest.mark.parametrize("role", ROLES)
def test_release_and_keymap_follow_the_labeling_gate(mixed_roles, api_as, ds, role):
    o = mixed_roles["objects"][ds]
    client = api_as(role)
    next_status = client.post(f"/api/label/datasets/{o['dataset'].pk}/next/", {}, format="json").status_code
    r = client.post(f"/api/label/datasets/{o['dataset'].pk}/release/", {"face_ids": [o["face"].pk]}, format="json")
    assert r.status_code == next_status, (r.status_code, next_status, r.content[:300])
    if role == "admin":
        assert r.status_code == 200
    if role is None:
        assert r.status_code == 401
    assert client.get("/api/label/keymap/").status_code == (401 if role is None else 200)
