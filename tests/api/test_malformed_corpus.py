"""A corpus of malformed requests over every URL of the project, pages and the
admin included: no 5xx, and a refused request (4xx) adds no row to the tables
that hold what people make (annotations, revisions, proposals, jobs, entries,
tokens).

The URLs come from walking config.urls, so a new endpoint is covered without
touching this file; path ids are filled with real ids of the `world` fixture
(and a benchmark, an entry and an export job), then replaced by malformed ones.
Each case group runs as admin, annotator and anonymous; Django's admin pages
all get the bad ids, and a sample of them (our ModelAdmins' pages) the other groups in
turn: each sampled page gets every ADMIN_TURNS-th group, a different slice per role, so
every group reaches every sampled page in some role (CORPUS_ALL_ADMIN=1: every admin
page, every group, every role; slow). Every case goes to every URL as the admin; the
annotator and anonymous share the cases of each URL, half each, so every (URL, case)
pair is sent as one of them too, and a view that reads no body gets one case of each
body group (CORPUS_EVERY_ROLE=1: every case in every role). Counts by status code
are printed, and written as JSON to $CORPUS_REPORT when set (before/after
figures for a report)."""

from __future__ import annotations

import base64
import collections
import io
import json
import os
import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from annotator.datasets.splits import save_split
from annotator.models import Annotation, AnnotationRevision, ApiToken, Face, Image, Job, Proposal
from evaluation import benchmarks, uploads
from evaluation.models import Benchmark, Entry
from tests.sequence_data import sequence_of

pytestmark = pytest.mark.django_db

WATCHED = [Annotation, AnnotationRevision, Proposal, Job, Entry, ApiToken]
COUNTS: dict[str, collections.Counter] = {}
FAILURES: dict[str, list] = {}
HUGE = 10**30
BIG_IDS = ["0", str(2**31), str(2**63), str(HUGE)]


# ---- the URLs, with real ids ------------------------------------------------------


def url_patterns(resolver=None, prefix=""):
    """(route, name, converters) of every URL pattern, resolvers walked."""
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            yield from url_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name or "", dict(getattr(p.pattern, "converters", {}))


def _objects(world) -> dict:
    """Real ids per kind, for filling path parameters."""
    ds = world["datasets"]["pub"]
    face = Face.objects.filter(image__dataset=ds).order_by("pk").first()
    split = save_split(
        ds, "all", list(Image.objects.filter(dataset=ds).values_list("file_name", flat=True)), {"rule": "all"}
    )
    bench = benchmarks.save_benchmark(name="corpus", dataset=ds, split=split, title="corpus")
    entry = uploads.create_upload_entry(
        benchmark=bench,
        data=b"id,yaw,pitch,roll\n" + b"".join(f"{n},1,2,3\n".encode() for n in bench.sample_names),
        filename="p.csv",
        user=world["users"]["admin"],
    )
    job = Job.objects.create(
        kind=Job.Kind.EXPORT,
        dataset=ds,
        options={"format": "csv", "labels": "best"},
        created_by=world["users"]["admin"],
    )
    token = ApiToken.objects.filter(user=world["users"]["annotator"]).first()
    return {
        "dataset": ds,
        "face": face,
        "image": face.image,
        "proposal": face.proposals.first(),
        "annotation": world["objects"]["pub"]["annotation"],
        "job": job,
        "token": token,
        "benchmark": bench,
        "entry": entry,
        "sequence": sequence_of(world["objects"]["pub"]),
    }


PK_KIND = [  # url name pattern -> which object a <pk> names
    (r"^api-datasets?|^api-dataset-", "dataset"),
    (r"^api-images?$", "image"),
    (r"^api-faces?$|^face_", "face"),
    (r"^api-proposals?$", "proposal"),
    (r"^api-annotation", "annotation"),
    (r"export", "job"),
    (r"token", "token"),
    (r"^leaderboard|^api_benchmark", "benchmark"),
    (r"entr", "entry"),
]
ADMIN_SAMPLE = r"admin/(annotator/(face|facemesh|annotation|job|dataset)/|$|annotator/$|\(|\^)"
ALL_ADMIN = os.environ.get("CORPUS_ALL_ADMIN") == "1"  # every admin page in every group (slow)
EVERY_ROLE = os.environ.get("CORPUS_EVERY_ROLE") == "1"  # every case in every role (see _shared_out)
# Django's admin renders a whole form or change list per request (~50 ms): a sampled admin page
# gets one group in ADMIN_TURNS per role, rotating with the role, so the 3 roles together
# still send it every group.
ADMIN_TURNS = 3
ADMIN_MODELS = {
    "group": None,
    "user": "user",
    "dataset": "dataset",
    "job": "job",
    "image": "image",
    "face": "face",
    "proposal": "proposal",
    "annotation": "annotation",
    "split": None,
    "assignment": None,
    "facemesh": None,
    "apitoken": "token",
    "benchmark": "benchmark",
    "entry": "entry",
    "sequence": "sequence",
}


def _fill(route: str, name: str, objs: dict, admin_user) -> dict[str, str]:
    """Real values for the route's parameters."""
    params = {}
    for param in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if param in ("pk", "object_id", "id"):
            kind = None
            m = re.match(r"^admin/\w+/(\w+)/", route)
            if m:
                kind = ADMIN_MODELS.get(m.group(1))
                obj = admin_user if kind == "user" else objs.get(kind)
            else:
                kind = next((k for pat, k in PK_KIND if re.search(pat, name)), "face")
                obj = objs[kind]
            params[param] = str(obj.pk) if obj is not None else "1"
        elif param == "name":
            params[param] = objs["dataset"].name
        elif param in ("face_id", "dataset_id", "image_id", "sequence_id", "annotation_id"):
            params[param] = str(objs[param[:-3]].pk)
        elif param == "k":
            params[param] = "0"
        elif param == "content_type_id":
            params[param] = "1"
        elif param == "path":
            params[param] = "../../etc/passwd"
        else:
            params[param] = "1"
    return params


def _render(route: str, params: dict) -> str:
    url = route
    for key, value in params.items():
        url = re.sub(rf"<(?:\w+:)?{key}>", value, url)
    if url.startswith("admin/^"):  # the admin's app index regex
        url = "admin/annotator/"
    url = url.replace("(?P<url>.*)$", "nothing/here/")
    return "/" + url


def _takes_bodies(url: str) -> bool:
    """Whether the URL's view may read a body: a class-based view without post, put,
    patch or delete answers 405 before it reads one (function views: assumed to)."""
    from django.urls import Resolver404, resolve

    try:
        func = resolve(url.split("?")[0]).func
    except Resolver404:
        return True
    cls = getattr(func, "view_class", None) or getattr(func, "cls", None)
    return cls is None or any(hasattr(cls, m) for m in ("post", "put", "patch", "delete"))


def _urls(world) -> list[dict]:
    objs = _objects(world)
    out = []
    admin_index = 0
    for index, (route, name, _) in enumerate(url_patterns()):
        if "logout" in route:
            continue  # would end the session the rest of the corpus runs in
        params = _fill(route, name, objs, world["users"]["admin"])
        admin = route.startswith("admin/")
        sampled = not admin or bool(re.match(ADMIN_SAMPLE, route)) or ALL_ADMIN
        admin_index += admin and sampled
        out.append(
            {
                "route": route,
                "name": name,
                "url": _render(route, params),
                "params": params,
                "admin": admin,
                "deletes": route.endswith("/delete/"),
                # the admin is Django's own: every page gets bad ids, a sample of it everything (in turns)
                "sampled": sampled,
                "turn": admin_index,
                "index": index,
                "takes_bodies": _takes_bodies(_render(route, params)),
            }
        )
    return out


# ---- the malformed requests -----------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


QUERIES = [
    "page_size=-1",
    f"page_size={HUGE}",
    "page_size=abc",
    "page_size=true",
    "page_size=1e999",
    f"dataset=abc&split=1e999&face=-1&image={2**31}",
    f"dataset={2**63}&face={HUGE}&image=0&proposal={HUGE}",
    f"status=%00&source=%F0%9F%92%A9&author={HUGE}&review_state=%00",
    "updated_since=not-a-date&created_since=99999-99-99",
    "updated_since=2026-13-45T99:99:99Z",
    "format=zzz&labels=zzz&split=0&proposer=%00",
    "format=csv&split=-5",
    f"format=json&labels=best&split={HUGE}&skip_invalid=maybe",
    "sort=__class__&o=9999&q=%00",
    "o=-99.abc&p=999999999",
    "e=1&nonexistent__field=1",
    "q=" + "x" * 5000,
    "status=accepted&status=%ff%fe&status=",
    "dataset=NaN&split=Infinity&page_size=-Infinity",
    "skip_face_id=abc&x=%00",
    # numbers of any size (issue 24 item 1)
    "page_size=" + "3" * 400 + "&dataset=" + "5" * 5000 + f"&face={-(2**63) - 9}",
    "n=" + "9" * 5000 + "&page=" + "8" * 400 + "&sort=" + "1" * 400 + f"&split={7 * 10**350}",
]
CURSORS = [
    _b64("p=abc"),
    _b64(f"p={HUGE}"),
    "!!!not-base64!!!",
    _b64("r=1&p=-1"),
    _b64("o=9&p=1") + "%00",
    _b64("p=" + "9" * 400),
]

POSE = {"R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600], "status": "draft", "expected_version": 0}
JSON_BODIES = [
    b"{not json",
    b"[]",
    b'"a string"',
    b"null",
    b"123",
    b"{}",
    b'{"a": ',
    json.dumps(
        {
            "face": True,
            "R": [True] * 9,
            "t": [False, False, True],
            "status": True,
            "expected_version": True,
            "dataset": True,
            "name": True,
            "read_only": "maybe",
            "decision": True,
        }
    ).encode(),
    json.dumps(
        {
            "face": "1",
            "R": ["1"] * 9,
            "t": ["0", "0", "600"],
            "expected_version": "0",
            "status": "draft",
            "dataset": "1",
            "format": 1,
            "labels": [],
            "expires_in_days": "soon",
        }
    ).encode(),
    b'{"face": 1, "R": [NaN, 0, 0, 0, 1, 0, 0, 0, 1], "t": [Infinity, -Infinity, 1e999], "status": "draft", '
    b'"expected_version": 0, "time_spent_s": NaN, "dataset": 1e999, "expires_in_days": Infinity}',
    json.dumps(
        {
            "face": HUGE,
            "expected_version": HUGE,
            "R": [10**400] * 9,
            "t": [0, 0, 10**400],
            "dataset": 2**63,
            "expires_in_days": HUGE,
            "time_spent_s": 10**400,
            "proposal_id": HUGE,
            "split": HUGE,
            "status": "draft",
            "name": "big",
        }
    ).encode(),
    json.dumps(
        {
            "face": -1,
            "dataset": 0,
            "proposal_id": -5,
            "expected_version": -1,
            "split": -1,
            "expires_in_days": 0,
            **{k: v for k, v in POSE.items() if k != "expected_version"},
        }
    ).encode(),
    json.dumps({"face": 2**31, "dataset": 2**31 + 5, "proposal_id": 2**40, "split": 2**31, **POSE}).encode(),
    json.dumps(
        {
            "name": "\ud800\udfff\ud800",
            "note": "a\u0000b",
            "decision": "approved\u0000",
            "flag_reason": "\u0000",
            "format": "\u202ecsv",
            "labels": "\ufeffbest",
            "proposer": "\u0000",
            **POSE,
        }
    ).encode(),
    json.dumps(
        {
            "name": "x" * 100_000,
            "note": "y" * 100_000,
            "format": "z" * 10_000,
            "proposer": "p" * 10_000,
            "flag_reason": "f" * 10_000,
            **POSE,
        }
    ).encode(),
    json.dumps(
        {
            "face": {"$gt": 1},
            "R": {"a": 1},
            "t": {"z": 1},
            "status": ["draft"],
            "expected_version": [0],
            "dataset": [1],
            "name": {"x": 1},
            "decision": {"approved": 1},
        }
    ).encode(),
    json.dumps(
        {
            "R": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1]],
            "t": [0, 0, -600],
            "status": "accepted",
            "expected_version": 0,
            "face": 1,
        }
    ).encode(),
    json.dumps(
        {"R": [1e308] * 9, "t": [1e308, 1e308, 1e308], "status": "corrected", "expected_version": 0, "face": 1}
    ).encode(),
    b'{"name": "\xff\xfe\xfd", "note": "\xc3\x28"}',
    json.dumps([{"face": 1, **POSE}] * 1000).encode(),
    # numbers too large for a float, or too long for Python to read (issue 24 item 1)
    json.dumps(
        {
            **POSE,
            "face": 1,
            "R": [[1, 0, 0], [0, 1, 0], [0, 0, 7 * 10**333]],
            "landmark_pins": [{"index": 12, "x": 4 * 10**370, "y": 9}],
            "time_spent_s": -(10**345),
        }
    ).encode(),
    json.dumps(
        {
            **POSE,
            "face": 1,
            "expected_version": 10**390,
            "proposal_id": 2**63 + 3,
            "skip_face_id": 10**320,
            "skip_annotation_id": -(2**70),
            "faces": [10**35],
            "decision": "approved",
        }
    ).encode(),
    b'{"face": 1, "R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, ' + b"6" * 4900 + b'], "status": "draft", '
    b'"expected_version": 0, "landmark_pins": [{"index": 3, "x": 1, "y": -' + b"2" * 4400 + b"}]}",
]
DEEP = [
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"R": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
]
CONTENT_TYPES = [
    ("text/plain", json.dumps(POSE).encode()),
    ("application/xml", b"<pose><R>1</R></pose>"),
    ("application/x-www-form-urlencoded", b"%%%&&&==&R=%ZZ&t=1&t=x&status=%00"),
    ("multipart/form-data", b"--no-boundary-given\r\n"),
    ("multipart/form-data; boundary=xyz", b"--abc\r\nbroken"),
    ("application/json; charset=utf-16", json.dumps(POSE).encode("utf-16")),
    ("application/octet-stream", bytes(range(256)) * 4),
    ("", b"\x00\x01\x02"),
    ("application/json", b"\x00" * 64),
]
OVERSIZED = [
    ("application/json", b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'"}'),
    ("application/x-www-form-urlencoded", b"name=" + b"x" * (11 * 1024 * 1024)),
    ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(5000)).encode()),
]


def _multipart(files: dict, fields: dict | None = None):
    data = dict(fields or {})
    for key, (filename, content) in files.items():
        f = io.BytesIO(content)
        f.name = filename
        data[key] = f
    return data


MULTIPART = [
    {"file": ("p.csv", b"")},
    {"file": ("p.csv", b"\x00\x01\x02\xff" * 100)},
    {"file": ("p.json", b"[" * 50_000 + b"]" * 50_000)},
    {"file": ("../../../etc/passwd", b"id,yaw,pitch,roll\n")},
    {"file": ("p.csv", b"id,yaw\r" + b"x" * 200_000)},
    {"file": ("p.csv", b"id,yaw,pitch,roll\nimg000.png," + b"1" * 200_000 + b",0,0\n")},
    {"file": ("p.csv", b"id,yaw,pitch,roll\rimg000.png,1,2,3\rimg001.png,abc,2,3\r")},
    {"file": ("p.json", b'{"predictions": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")},
    {"file": ("p.csv", "\ufeffimage,yaw,pitch,roll\rimg000.png,1,2,NaN\r".encode("utf-16"))},
    {"file": ("p.csv", "id,yaw,pitch,roll\ncafé,1,2,3\n".encode("latin-1"))},
    {"file": ("x" * 1000 + ".zip", b"PK\x03\x04 not really a zip")},
    {"upload": ("bomb.zip", b"PK\x05\x06" + b"\x00" * 18), "file": ("p.json", b'{"predictions": 5}')},
    {"file": ("p.json", b'[{"id": "img000.png", "yaw": ' + b"3" * 360 + b', "pitch": 0, "roll": 0}]')},
    {"file": ("p.json", b'{"img000.png": {"R": [[1, 0, 0], [0, 1, 0], [0, 0, ' + b"5" * 5300 + b"]]}}")},
    {"file": ("p.csv", b"id,yaw,pitch,roll\nimg000.png,0," + b"8" * 480 + b",1_5\n")},
]
MULTIPART_FIELDS = {
    "name": "\u0000",
    "crop_used": "banana",
    "is_public": "maybe",
    "allow_unknown_ids": "2",
    "kind": "\u0000",
    "dataset_name": "../x",
    "source": "/etc",
    "proposer": "x" * 1000,
    "every": str(10**28),
    "max_frames": "7" * 5000,
}


def _admin_turn(group: str, role: str | None, u: dict) -> bool:
    """Whether a sampled admin page gets this group in this role (see ADMIN_TURNS)."""
    if ALL_ADMIN or not u["admin"] or group == "bad ids":
        return True
    return (u["turn"] + GROUPS.index(group) + ROLES.index(role)) % ADMIN_TURNS == 0


BODY_GROUPS = (
    "bad JSON bodies",
    "nested JSON 50,000 deep",
    "wrong content types",
    "oversized bodies",
    "bad multipart files",
)


def _cases(group: str, u: dict, role: str | None = "admin") -> list[tuple[str, str, dict]]:
    """(method, url, client kwargs) of one group for one URL, as one role (see _shared_out)."""
    return _shared_out(_all_cases(group, u, role), group, u, role)


def _shared_out(cases: list, group: str, u: dict, role: str | None) -> list:
    """Every case goes to every URL as the admin (the role that gets past every gate).
    The annotator and anonymous share the rest: case k of a URL goes to the annotator
    when k + the URL's index is even, else to anonymous, so each (URL, case) pair is
    also sent as one of them. A view that reads no body (405 to every write) gets one
    case of a body group in each role. CORPUS_EVERY_ROLE=1: every case in every role."""
    if role == "admin" or EVERY_ROLE or group == "bad ids":
        return cases if u["takes_bodies"] or group not in BODY_GROUPS or EVERY_ROLE else cases[:1]
    if not u["takes_bodies"] and group in BODY_GROUPS:
        return cases[:1]
    side = 0 if role == "annotator" else 1
    return [c for k, c in enumerate(cases) if (k + u["index"]) % 2 == side]


def _all_cases(group: str, u: dict, role: str | None) -> list[tuple[str, str, dict]]:
    url, out = u["url"], []
    writes = ["POST", "PUT", "PATCH"] if not u["admin"] else ["POST"]
    if u["deletes"] and group not in ("bad ids", "bad query parameters", "tampered cursors"):
        return []  # any non-empty POST confirms an admin deletion: the fixture would be gone
    if not u["sampled"] and group != "bad ids":
        return []
    if not _admin_turn(group, role, u):
        return []
    if group == "bad ids":
        for key in u["params"]:
            for bad in BIG_IDS + (
                ["-1", "abc", "1%00", "x" * 300] if not re.search(rf"<int:{key}>", u["route"]) else []
            ):
                out.append(("GET", _render(u["route"], {**u["params"], key: bad}), {}))
            if not u["admin"]:
                out.append(
                    (
                        "POST",
                        _render(u["route"], {**u["params"], key: BIG_IDS[-1]}),
                        {"data": json.dumps(POSE), "content_type": "application/json"},
                    )
                )
    elif group == "bad query parameters":
        out += [("GET", f"{url}?{q}", {}) for q in QUERIES]
    elif group == "tampered cursors":
        out += [("GET", f"{url}?cursor={c}", {}) for c in CURSORS]
    elif group == "bad JSON bodies":
        out += [(m, url, {"data": b, "content_type": "application/json"}) for b in JSON_BODIES for m in writes[:1]]
        out += [(m, url, {"data": JSON_BODIES[7], "content_type": "application/json"}) for m in writes[1:] + ["DELETE"]]
    elif group == "nested JSON 50,000 deep":
        out += [(m, url, {"data": b, "content_type": "application/json"}) for b in DEEP for m in writes]
    elif group == "wrong content types":
        out += [("POST", url, {"data": b, "content_type": ct}) for ct, b in CONTENT_TYPES]
    elif group == "oversized bodies":
        out += [("POST", url, {"data": b, "content_type": ct}) for ct, b in OVERSIZED]
    elif group == "bad multipart files":
        # alone (the file itself is parsed), and every other file with junk fields (the form refuses them)
        out += [("POST", url, {"data": _multipart(files, {"name": "corpus"})}) for files in MULTIPART]
        out += [("POST", url, {"data": _multipart(files, MULTIPART_FIELDS)}) for files in MULTIPART[::2]]
    return out


GROUPS = [
    "bad ids",
    "bad query parameters",
    "tampered cursors",
    "bad JSON bodies",
    "nested JSON 50,000 deep",
    "wrong content types",
    "oversized bodies",
    "bad multipart files",
]
ROLES = ["admin", "annotator", None]


def _row_counts() -> tuple:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {m._meta.db_table})" for m in WATCHED)
    with connection.cursor() as cur:
        cur.execute(sql)
        return tuple(cur.fetchone())


def _send(client: Client, method: str, url: str, kwargs: dict):
    """One request in a savepoint (a failed one must not poison the test's transaction)."""
    with transaction.atomic():
        if method == "GET":
            r = client.get(url, **kwargs)
        elif "content_type" in kwargs:
            r = client.generic(method, url, kwargs["data"], content_type=kwargs["content_type"])
        else:
            data = kwargs["data"]
            for f in data.values():
                if hasattr(f, "seek"):
                    f.seek(0)
            r = getattr(client, method.lower())(url, data)
        if r.status_code >= 500:
            transaction.set_rollback(True)
    if hasattr(r, "streaming_content"):
        b"".join(r.streaming_content)
    return r


def _params():
    for group in GROUPS:
        for role in ROLES:
            yield pytest.param(group, role, id=f"{group}-{role or 'anonymous'}")


@pytest.mark.parametrize("group, role", list(_params()))
def test_malformed_requests_never_5xx_and_store_nothing(group, role, world, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    urls = _urls(world)
    client = Client(raise_request_exception=False)
    if role:
        client.force_login(world["users"][role])
    counts = COUNTS.setdefault(f"{group} | {role or 'anonymous'}", collections.Counter())
    failures = []
    before = _row_counts()  # one count per request: what follows one request is before the next
    for u in urls:
        for method, url, kwargs in _cases(group, u, role):
            r = _send(client, method, url, kwargs)
            after = _row_counts()
            counts[r.status_code] += 1
            if r.status_code >= 500:
                failures.append(f"{r.status_code} {method} {url[:120]} ({u['name']})")
            elif r.status_code >= 400 and after != before:
                failures.append(f"rows added by a refused {r.status_code} {method} {url[:120]}: {before} -> {after}")
            before = after
    assert sum(counts.values()) > 0
    FAILURES[f"{group} | {role or 'anonymous'}"] = failures
    assert not failures, f"{len(failures)} of {sum(counts.values())} requests:\n" + "\n".join(failures[:60])


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not COUNTS:
        return
    total = collections.Counter()
    for c in COUNTS.values():
        total.update(c)
    print(f"\nmalformed corpus: {sum(total.values())} requests; by status: {dict(sorted(total.items()))}")
    if os.environ.get("CORPUS_REPORT"):
        with open(os.environ["CORPUS_REPORT"], "w") as fh:
            json.dump(
                {
                    "total": sum(total.values()),
                    "by_status": dict(sorted(total.items())),
                    "by_group": {k: dict(sorted(v.items())) for k, v in COUNTS.items()},
                    "failures": {k: v for k, v in FAILURES.items() if v},
                },
                fh,
                indent=1,
            )


def test_every_url_of_the_project_is_in_the_corpus(world):
    """Walking the resolvers finds the API, the pages and the admin: a new
    endpoint joins the corpus by existing."""
    routes = {u["route"] for u in _urls(world)}
    for expected in (
        "api/v1/annotations/",
        "api/v1/benchmarks/<int:pk>/entries/",
        "api/label/faces/<int:face_id>/",
        "faces/<int:pk>/",
        "datasets/<slug:name>/export/",
        "admin/annotator/face/<path:object_id>/change/",
        "benchmarks/entries/<int:pk>/samples/<int:k>.jpg",
    ):
        assert expected in routes
    assert Benchmark.objects.count() == 1
