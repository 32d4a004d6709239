"""The README's roles table on every HTML page and every stored file kind.

The URL conf is walked: a page added without a row in PAGES fails
`test_every_page_is_in_the_table`, listing it. Expected answers are derived
from the table (transcribed below for the world of tests/api/conftest.py),
never from the code under test:

  pub     public;  erin annotates it
  priv    private; bob (annotator) annotates it, dave (reviewer) reviews it
  hidden  private; nobody assigned
  carol is a researcher, alice an admin.
  mia reviews pub and annotates priv, max reviews priv and annotates pub (both in
  the groups annotator and reviewer; conftest.MIXED): in each dataset they are
  what their role there makes them, nothing borrowed from the other.

404 where the caller may not see the object, 403 where they see it but may not
do this, 302 to the login page for anonymous callers of a page (401 from the
API)."""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotator.datasets.splits import save_split
from annotator.models import ApiToken, Face, FaceMesh, Job
from evaluation import benchmarks, uploads
from tests.api.conftest import label
from tests.api.test_permission_table import ROLES
from tests.sequence_data import sequence_of

pytestmark = pytest.mark.django_db

ALL = {"pub", "priv", "hidden"}
# The README's roles table, for this world.
MIA, MAX = "rev_pub_ann_priv", "rev_priv_ann_pub"
SEES = {
    "admin": ALL,
    "reviewer": {"pub", "priv"},
    "researcher": {"pub"},
    "annotator": {"priv"},
    MIA: {"pub", "priv"},
    MAX: {"pub", "priv"},
    None: set(),
}
READS_LABELS = {
    "admin": ALL,
    "reviewer": {"pub", "priv"},
    "researcher": {"pub"},
    "annotator": set(),
    MIA: {"pub"},
    MAX: {"priv"},
    None: set(),
}
LABELS = {"admin": ALL, "annotator": {"priv"}, MIA: {"priv"}, MAX: {"pub"}}
REVIEWS = {"admin": ALL, "reviewer": {"priv"}, MIA: {"pub"}, MAX: {"priv"}}
LEADERBOARDS = {"admin", "researcher"}
# whose is the label under review in each dataset (the world's o["annotation"]): bob's in priv
OWNS_THE_LABEL = {"annotator": {"priv"}}


def everyone(ok=200):
    return lambda role, ds: ok


def sees(ok=200):
    return lambda role, ds: ok if ds in SEES[role] else 404


def reads_labels(ok=200, seen_but_denied=403):
    return lambda role, ds: ok if ds in READS_LABELS[role] else seen_but_denied if ds in SEES[role] else 404


def labels(ok=200):
    return lambda role, ds: ok if ds in LABELS.get(role, ()) else 403 if ds in SEES[role] else 404


def reviews(ok=200):
    """Reviewers of the dataset and admins (review pages, quality figures, honeypots); an annotator never."""
    return lambda role, ds: ok if ds in REVIEWS.get(role, ()) else 403 if ds in SEES[role] else 404


def reviews_label(ok=200):
    """A label's review page: reviewers of the dataset and admins; 403 to one who reads
    the label (every label, or it is their own) but may not review it; 404 to one who
    may not read it at all, as if it did not exist."""

    def rule(role, ds):
        if ds in REVIEWS.get(role, ()):
            return ok
        reads = ds in READS_LABELS[role] or ds in OWNS_THE_LABEL.get(role, ())
        return 403 if reads and ds in SEES[role] else 404

    return rule


def leaderboards(ok=200, not_owner=None):
    """Researchers and admins, for benchmarks of datasets whose labels they read;
    `not_owner`: the answer when they see the entry but it is not theirs."""

    def rule(role, ds):
        if role not in LEADERBOARDS:
            return 403
        if ds not in READS_LABELS[role]:
            return 404
        return not_owner if not_owner and role != "admin" else ok

    return rule


def admins_only(ok=200, others=403):
    return lambda role, ds: ok if role == "admin" else others


def own_export(role, ds):
    return 200 if ds in READS_LABELS[role] else 404


@dataclass
class Page:
    url: Callable  # (objects of the dataset, world) -> path
    expect: Callable  # (role, dataset) -> status
    method: str = "get"
    data: Callable | None = None  # (objects, world) -> POST body
    per_dataset: bool = True
    public: bool = False  # reachable without a login
    api: bool = False  # answers anonymous callers 401, not a login redirect
    file: str | None = None  # the stored file a 200 must carry: a key of objects


def _csv(o, w):
    names = o["benchmark"].sample_names
    return {
        "file": ContentFile(("id,yaw,pitch,roll\n" + "".join(f"{n},1,2,3\n" for n in names)).encode(), name="p.csv"),
        "name": "mine",
        "crop_used": "detector",
    }


def _tok(role):
    return lambda o, w: reverse("token_revoke", args=[ApiToken.objects.filter(user=w["users"][role]).first().pk])


PAGES = {
    "login": Page(lambda o, w: reverse("login"), everyone(), per_dataset=False, public=True),
    "logout": Page(lambda o, w: reverse("logout"), everyone(302), method="post", per_dataset=False),
    "home": Page(lambda o, w: reverse("home"), everyone(), per_dataset=False),
    "dataset_detail": Page(lambda o, w: reverse("dataset_detail", args=[o["dataset"].name]), sees()),
    # an annotator sees the dataset page, and a message (not the file) after asking for an export
    "dataset_export": Page(
        lambda o, w: reverse("dataset_export", args=[o["dataset"].name]),
        reads_labels(200, seen_but_denied=302),
        method="post",
        data=lambda o, w: {"format": "csv"},
    ),
    "export_job": Page(lambda o, w: reverse("export_job", args=[o["own_export"].pk]), own_export),
    "dataset_quality": Page(lambda o, w: reverse("dataset_quality", args=[o["dataset"].name]), reviews()),
    "face_detail": Page(lambda o, w: reverse("face_detail", args=[o["face"].pk]), sees()),
    "face_mesh_glb": Page(lambda o, w: reverse("face_mesh_glb", args=[o["face"].pk]), reads_labels(), file="mesh"),
    "tokens": Page(lambda o, w: reverse("tokens"), everyone(), per_dataset=False),
    "token_revoke": Page(None, everyone(302), method="post", per_dataset=False),  # the caller's own token
    "label-dataset": Page(lambda o, w: reverse("label-dataset", args=[o["dataset"].name]), labels()),
    "label-next": Page(lambda o, w: reverse("label-next", args=[o["dataset"].name]), labels(302), method="post"),
    "label-face": Page(lambda o, w: reverse("label-face", args=[o["unlabeled_face"].pk]), labels()),
    "label-image": Page(lambda o, w: reverse("label-image", args=[o["image"].pk]), sees(), file="image_file"),
    "label-sequence": Page(lambda o, w: reverse("label-sequence", args=[sequence_of(o).pk]), labels()),
    # a sequence's labels (labels=track) are every annotator's: for those who read every label
    "sequence-csv": Page(lambda o, w: reverse("sequence-csv", args=[sequence_of(o).pk]), reads_labels()),
    "review-dataset": Page(lambda o, w: reverse("review-dataset", args=[o["dataset"].name]), reviews()),
    "review-next": Page(lambda o, w: reverse("review-next", args=[o["dataset"].name]), reviews(302), method="post"),
    # someone else's label (the annotator of priv, bob, wrote it: his own is still not his to review)
    "review-annotation": Page(lambda o, w: reverse("review-annotation", args=[o["annotation"].pk]), reviews_label()),
    "leaderboard_index": Page(
        lambda o, w: reverse("leaderboard_index"),
        lambda role, ds: 200 if role in LEADERBOARDS else 403,
        per_dataset=False,
    ),
    "leaderboard": Page(lambda o, w: reverse("leaderboard", args=[o["benchmark"].pk]), leaderboards()),
    "leaderboard_upload": Page(
        lambda o, w: reverse("leaderboard_upload", args=[o["benchmark"].pk]),
        leaderboards(302),
        method="post",
        data=_csv,
    ),
    # a proposer that does not exist: a form error (400) for those who may run one
    "leaderboard_run": Page(
        lambda o, w: reverse("leaderboard_run", args=[o["benchmark"].pk]),
        leaderboards(400),
        method="post",
        data=lambda o, w: {"proposer": "no-such-proposer"},
    ),
    "entry_detail": Page(lambda o, w: reverse("entry_detail", args=[o["entry"].pk]), leaderboards()),
    "entry_worst": Page(lambda o, w: reverse("entry_worst", args=[o["entry"].pk]), leaderboards()),
    "entry_sample_overlay": Page(lambda o, w: reverse("entry_sample_overlay", args=[o["entry"].pk, 0]), leaderboards()),
    "entry_predictions": Page(
        lambda o, w: reverse("entry_predictions", args=[o["entry"].pk]), leaderboards(), file="predictions"
    ),
    "entry_hide": Page(
        lambda o, w: reverse("entry_hide", args=[o["entry"].pk]),
        admins_only(302),
        method="post",
        data=lambda o, w: {"hidden": "0"},
    ),
    "entry_publish": Page(
        lambda o, w: reverse("entry_publish", args=[o["admin_entry"].pk]),
        leaderboards(302, not_owner=403),
        method="post",
        data=lambda o, w: {"public": "1"},
    ),
    "entry_resume": Page(
        lambda o, w: reverse("entry_resume", args=[o["admin_entry"].pk]),
        leaderboards(302, not_owner=403),
        method="post",
    ),
    # the API's docs pages (the API's resources are in test_permission_table.py)
    "api-docs": Page(lambda o, w: reverse("api-docs"), everyone(), per_dataset=False, api=True),
    "api-redoc": Page(lambda o, w: reverse("api-redoc"), everyone(), per_dataset=False, api=True),
    "api-schema": Page(lambda o, w: reverse("api-schema"), everyone(), per_dataset=False, api=True),
}

# Stored files served by the API (the pages' files are in PAGES with file=...).
FILES = {
    "export file (own job)": Page(
        lambda o, w: reverse("api-export-download", args=[o["own_export"].pk]),
        own_export,
        api=True,
        file="own_export_file",
    ),
    "export file (an admin's job)": Page(
        lambda o, w: reverse("api-export-download", args=[o["admin_export"].pk]),
        admins_only(200, others=404),
        api=True,
        file="admin_export_file",
    ),
    "prediction file (another's entry)": Page(
        lambda o, w: reverse("entry_predictions", args=[o["admin_entry"].pk]),
        leaderboards(200, not_owner=403),
        file="admin_predictions",
    ),
}


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name, namespace


def site_pages() -> set[str]:
    """Every route name outside the REST API and the Django admin (checked on their own)."""
    names = set()
    for route, name, namespace in _walk(get_resolver().url_patterns):
        if namespace == "admin":
            continue
        if route.startswith("api/") and name not in ("api-docs", "api-redoc", "api-schema"):
            continue
        names.add(name or route)
    return names


def test_every_page_is_in_the_table():
    missing = site_pages() - set(PAGES)
    assert not missing, f"pages without a row in the permission table: {sorted(missing)}"
    assert not set(PAGES) - site_pages(), "rows of pages that no longer exist"


@pytest.fixture
def files_world(mixed_roles, django_user_model):
    """The world with its mixed-role users, plus what the pages and files need: a
    mesh, a benchmark with entries (carol's, alice's), export jobs (each role's own, alice's)."""
    world = mixed_roles
    users = world["users"]
    for key, o in world["objects"].items():
        ds = o["dataset"]
        if "annotation" not in o:  # hidden: a label nobody but admins may review
            o["annotation"] = label(o["face"], users["other_annotator"], [1.0, 2.0, 3.0])
        mesh = FaceMesh(face=o["face"], state=FaceMesh.State.DONE, n_vertices=3, n_triangles=1)
        mesh.glb.save("face.glb", ContentFile(b"glTF-" + key.encode()), save=False)
        mesh.save()
        o["mesh"] = mesh.glb
        o["image"].refresh_from_db()
        names = sorted(o["dataset"].images.values_list("file_name", flat=True))
        split = save_split(ds, "test", names, {"rule": "all"})
        o["benchmark"] = benchmarks.save_benchmark(
            name=f"{key}-test", dataset=ds, split=split, title=key, crop="detector"
        )
        rows = "id,yaw,pitch,roll\n" + "".join(f"{n},1,2,3\n" for n in names)
        o["entry"], o["admin_entry"] = (
            uploads.create_upload_entry(
                benchmark=o["benchmark"],
                data=rows.encode(),
                filename=f"{who}.csv",
                user=users[who],
                name=who,
                is_public=True,
            )
            for who in ("researcher", "admin")
        )
        o["predictions"], o["admin_predictions"] = o["entry"].upload, o["admin_entry"].upload
        o["own_export"] = {}
        for role, u in users.items():
            job = Job.objects.create(
                kind=Job.Kind.EXPORT,
                dataset=ds,
                options={"format": "csv", "labels": "best"},
                created_by=u,
                state=Job.State.DONE,
            )
            job.result_file.save(f"{key}.csv", ContentFile(f"{key},{role}\n".encode()))
            o["own_export"][role] = job
        o["admin_export"] = o["own_export"]["admin"]
    return world


def _client(world, role):
    client = Client()
    if role is not None:
        client.force_login(world["users"][role])
    return client


def _objects(world, ds, role):
    o = dict(world["objects"][ds])
    own = o["own_export"].get(role) or o["own_export"]["researcher"]  # anonymous: someone's job
    o["own_export"], o["own_export_file"] = own, own.result_file
    o["admin_export_file"] = o["admin_export"].result_file
    o["image_file"] = o["image"].file
    return o


def _read(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _check(world, page: Page, name: str) -> list:
    wrong = []
    for role in ROLES:
        for ds in sorted(ALL) if page.per_dataset else ["pub"]:
            o = _objects(world, ds, role)
            url = page.url(o, world) if page.url else _tok(role or "researcher")(o, world)
            body = page.data(o, world) if page.data else {}
            r = getattr(_client(world, role), page.method)(url, body)
            expected = (401 if page.api else 302) if role is None and not page.public else page.expect(role, ds)
            if r.status_code != expected:
                wrong.append((role or "anonymous", ds, r.status_code, expected))
            elif role is None and expected == 302:
                if not r["Location"].startswith(reverse("login")):
                    wrong.append(("anonymous", ds, r["Location"], "the login page"))
            elif expected == 200 and page.file:
                stored = o[page.file]
                stored.open("rb")
                content = stored.read()
                stored.close()
                if _read(r) != content:
                    wrong.append((role, ds, "content", f"the stored {page.file}"))
    return wrong


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_follow_the_roles_table(files_world, name):
    wrong = _check(files_world, PAGES[name], name)
    assert not wrong, f"{name}: (role, dataset, got, expected) {wrong}"


@pytest.mark.parametrize("name", sorted(FILES))
def test_stored_files_follow_the_roles_table(files_world, name):
    wrong = _check(files_world, FILES[name], name)
    assert not wrong, f"{name}: (role, dataset, got, expected) {wrong}"


@pytest.mark.parametrize(
    "role, status",
    [("admin", 200), ("annotator", 302), ("reviewer", 302), ("researcher", 302), (MIA, 302), (MAX, 302), (None, 302)],
)
def test_the_django_admin_is_for_admins(files_world, role, status):
    client = _client(files_world, role)
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry
    ]
    wrong = [(url, r.status_code) for url in urls if (r := client.get(url)).status_code != status]
    assert not wrong, wrong


def test_there_is_no_media_route(files_world):
    path = files_world["objects"]["pub"]["image"].file.name
    for role in ROLES:
        assert _client(files_world, role).get(f"/media/{path}").status_code in (302, 404)
    assert not any(route.startswith("media") for route, _, _ in _walk(get_resolver().url_patterns))


def test_export_and_prediction_files_have_unguessable_paths(files_world):
    o = files_world["objects"]["pub"]
    for field, folder in ((o["admin_export"].result_file, "exports"), (o["entry"].upload, "predictions")):
        assert re.fullmatch(rf"{folder}/[A-Za-z0-9_-]{{24}}/[^/]+", field.name), field.name
    names = {j.result_file.name.split("/")[1] for j in o["own_export"].values()}
    assert len(names) == len(o["own_export"])  # one token per file


def _section(html: str, heading: str) -> str:
    start = html.index(heading)
    return html[start : html.index("</table>", start)]


def test_face_page_shows_an_annotator_only_their_own_labels(files_world):
    o = files_world["objects"]["priv"]
    label(o["face"], files_world["users"]["admin"], [33.0, 0.0, 0.0])  # someone else's label of the same face
    page = _client(files_world, "annotator").get(reverse("face_detail", args=[o["face"].pk])).content.decode()
    mine = _section(page, "<h2>Your annotations</h2>")
    assert "bob" in mine and "10.0" in mine
    assert "dataset" not in mine and "alice" not in mine and "33.0" not in mine
    assert reverse("face_mesh_glb", args=[o["face"].pk]) not in page and '"glb_url": null' in page
    page = _client(files_world, "admin").get(reverse("face_detail", args=[o["face"].pk])).content.decode()
    everyone_s = _section(page, "<h2>Annotations</h2>")
    assert all(who in everyone_s for who in ("bob", "alice", "dataset"))
    assert reverse("face_mesh_glb", args=[o["face"].pk]) in page


@pytest.mark.parametrize("role, ds", [(MIA, "priv"), (MAX, "pub")])
def test_face_page_shows_a_mixed_role_user_only_their_own_labels_where_they_annotate(files_world, role, ds):
    """A reviewer of one dataset who annotates this one: their own label, not the
    ground truth, not the others' labels, no mesh."""
    o = files_world["objects"][ds]
    page = _client(files_world, role).get(reverse("face_detail", args=[o["face"].pk])).content.decode()
    mine = _section(page, "<h2>Your annotations</h2>")
    me, other = files_world["users"][role].username, o["annotation"].author.username
    assert me in mine and "7.0" in mine
    assert "dataset" not in mine and other not in mine and "<h2>Annotations</h2>" not in page
    assert reverse("face_mesh_glb", args=[o["face"].pk]) not in page and '"glb_url": null' in page


def test_3d_landmarks_only_for_those_who_read_every_label(files_world, api_as):
    o = files_world["objects"]["priv"]
    points = [[float(k), 2.0 * k, 600.0 + k] for k in range(68)]
    Face.objects.filter(pk=o["face"].pk).update(landmarks_2d=[p[:2] for p in points], landmarks_3d=points)
    for role, sees_3d in (("annotator", False), ("reviewer", True), ("admin", True), (MIA, False), (MAX, True)):
        one = api_as(role).get(f"/api/v1/faces/{o['face'].pk}/").json()
        listed = {f["id"]: f for f in api_as(role).get("/api/v1/faces/?page_size=1000").json()["results"]}
        for face in (one, listed[o["face"].pk]):
            assert face["landmarks_2d"] == [p[:2] for p in points]  # 2D landmarks do not give the pose away
            assert face["landmarks_3d"] == (points if sees_3d else None), role


def test_leaderboards_list_only_benchmarks_of_readable_datasets(files_world):
    for role in ("admin", "researcher"):
        client = _client(files_world, role)
        expected = {f"{ds}-test" for ds in READS_LABELS[role]}
        listed = {b["name"] for b in client.get(reverse("api_benchmarks")).json()}
        assert listed == expected, role
        index = client.get(reverse("leaderboard_index")).content.decode()
        assert {name for name in (f"{ds}-test" for ds in ALL) if name in index} == expected, role
        for ds in ALL:
            o = files_world["objects"][ds]
            entries = client.get(reverse("api_benchmark_entries", args=[o["benchmark"].pk]))
            assert entries.status_code == (200 if ds in expected_ds(expected) else 404)
            upload = client.post(reverse("api_benchmark_entries", args=[o["benchmark"].pk]), _csv(o, files_world))
            assert upload.status_code == (201 if ds in expected_ds(expected) else 404), upload.content[:200]
            assert client.get(reverse("api_entry", args=[o["entry"].pk])).status_code == (
                200 if ds in expected_ds(expected) else 404
            )


def expected_ds(benchmark_names):
    return {name.removesuffix("-test") for name in benchmark_names}


@pytest.mark.parametrize(
    "mode, header, value",
    [
        ("x-accel-redirect", "X-Accel-Redirect", lambda f: "/protected-media/" + f.name),
        ("x-sendfile", "X-Sendfile", lambda f: f.path),
    ],
)
def test_a_front_proxy_sends_the_files(files_world, settings, mode, header, value):
    settings.HEADPOSE_FILE_SERVING = mode
    o = files_world["objects"]["priv"]
    client = _client(files_world, "reviewer")
    for url, stored, disposition in (
        (reverse("label-image", args=[o["image"].pk]), o["image"].file, "inline"),
        (reverse("face_mesh_glb", args=[o["face"].pk]), o["mesh"], "attachment"),
        (
            reverse("api-export-download", args=[o["own_export"]["reviewer"].pk]),
            o["own_export"]["reviewer"].result_file,
            "attachment",
        ),
    ):
        r = client.get(url)
        assert r.status_code == 200 and r[header] == value(stored) and r.content == b"", url
        assert r["Content-Disposition"].startswith(disposition), url
    # the proxy is never asked for a file the caller may not have
    denied = _client(files_world, "annotator").get(reverse("face_mesh_glb", args=[o["face"].pk]))
    assert denied.status_code == 403 and not denied.has_header(header)


def test_a_missing_stored_file_is_a_404(files_world):
    o = files_world["objects"]["pub"]
    o["image"].file.storage.delete(o["image"].file.name)
    assert _client(files_world, "admin").get(reverse("label-image", args=[o["image"].pk])).status_code == 404


# --- no link a user cannot follow ---------------------------------------------------
# Every page a role opens (in each dataset) is read for its links and forms; each
# same-site one is followed as that user: none may answer 403 or 404 (issue 26 item 11).

LINKED_PAGES = [
    "dataset_detail",
    "label-dataset",
    "label-face",
    "label-sequence",
    "review-dataset",
    "review-annotation",
    "dataset_quality",
    "face_detail",
    "leaderboard",
    "entry_detail",
]
_HREF = re.compile(r'<a\b[^>]*\bhref="(/[^"#]*)"')
_FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*\baction="(/[^"]*)"')


def _links(html: str) -> tuple[set[str], set[str]]:
    gets = {h.replace("&amp;", "&") for h in _HREF.findall(html) if not h.startswith(("/static/", "/admin/"))}
    posts = {a for a in _FORM.findall(html) if a != reverse("logout")}
    return gets, posts


def test_no_page_shows_a_link_its_user_cannot_follow(files_world):
    followed: dict[tuple, int] = {}
    wrong = []
    for role in [r for r in ROLES if r is not None]:
        client = _client(files_world, role)
        pages = [("home", reverse("home")), ("tokens", reverse("tokens"))]
        pages += [("leaderboard_index", reverse("leaderboard_index"))] if role in LEADERBOARDS else []
        pages += [
            (name, PAGES[name].url(_objects(files_world, ds, role), files_world))
            for name in LINKED_PAGES
            for ds in sorted(ALL)
            if PAGES[name].expect(role, ds) == 200
        ]
        for name, url in pages:
            r = client.get(url)
            assert r.status_code == 200, (role, name, r.status_code)
            gets, posts = _links(r.content.decode())
            for method, target in [("get", t) for t in gets] + [("post", t) for t in posts]:
                if (role, method, target) not in followed:
                    followed[(role, method, target)] = getattr(client, method)(target).status_code
                if followed[(role, method, target)] in (403, 404):
                    wrong.append((role, name, method, target, followed[(role, method, target)]))
    assert not wrong, f"(role, page, method, link, answer): {wrong}"
    # the walk saw what the buttons promise: each role's start buttons, and no CSV link for an annotator
    assert ("annotator", "post", reverse("label-next", args=["priv"])) in followed
    assert ("reviewer", "post", reverse("review-next", args=["priv"])) in followed
    assert not any(t.endswith("labels.csv") for (r, _, t) in followed if r == "annotator")
    assert any(t.endswith("labels.csv") for (r, _, t) in followed if r == "reviewer")
