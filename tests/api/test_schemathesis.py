"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

Every operation of the schema drf-spectacular serves at /api/v1/schema/ is called
in-process through the real WSGI application (config.wsgi) on the test database,
with generated path ids, query strings and bodies, valid and invalid. Two passes:
an admin token (reaches nearly every code path: labeling, reviews, exports,
tokens, benchmark uploads) and a researcher's read-only token (every write must
be refused cleanly).

Every operation is fuzzed: REST API v1, the labeling endpoints (/api/label/) and
the leaderboard's; all of them are typed (tests/api/test_schema.py), so the
conformance check below reads every field, and every documented 4xx body is the
one error shape ({detail, code, ...}, annotator/api/errors.py). JSON writes also
get hostile bodies (nested deeper than the limit, not an object).

What must hold on every response:
  - no 5xx (a server error is a bug: bad input is a 4xx that says why);
  - the body matches the schema's response description (response_schema_conformance).

The data is the small world of tests/api/conftest.py (three datasets, labels,
proposals, ground truth) plus a benchmark, a split and export jobs, built once per
module (per xdist worker) in a transaction that is rolled back at the end; each
test runs in a savepoint inside it (pytest-django's plain `db`), so what one
operation's cases write never reaches the next operation. A hook mixes the ids of
real objects into the generated path parameters. The WSGI application runs in the
test's transaction, as Django's test client does it (close_old_connections off), so
the jobs an export POST starts are not sent: queueing is tested with real workers
(tests/web/test_job_queue_unreachable.py, tests/web/test_faults.py).

Reproducible: Hypothesis runs derandomized, so the same cases every run.
"""

import json
import os
import threading
import time
import traceback
import zlib

import django.db
import hypothesis
import numpy as np
import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import transaction
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.transport.serialization import Binary

from annotator.accounts.tokens import create_token
from annotator.datasets.splits import save_split
from annotator.exports import services as exports
from annotator.labeling.services import save_annotation
from annotator.models import Annotation, ApiToken, Dataset, Face, FlagReason, Image, Job, Proposal
from annotator.review.services import review_annotation
from evaluation import benchmarks, uploads
from evaluation.models import Benchmark, Entry
from tests.api.conftest import build_world
from tests.conftest import rows_for_module
from workers.core import geometry

# Fuzzing cases per operation and pass (the coverage phase adds its own boundary cases).
# HEADPOSE_FUZZ_EXAMPLES raises it for a deeper run (e.g. 200 before a release); the suite's
# default keeps the whole of `make test` under 10 minutes on 2 cores.
MAX_EXAMPLES = int(os.environ.get("HEADPOSE_FUZZ_EXAMPLES", "20"))
SLOW_CALL_S = 20.0  # a call this slow counts as hanging (a queued export must not wait on the broker)

pytestmark = pytest.mark.django_db


def served_schema() -> dict:
    """The schema exactly as GET /api/v1/schema/ serves it (as JSON): the same
    generator and renderer as the view (test_served_schema_is_the_fuzzed_one
    checks the two agree). Built at import: pytest-django has set Django up."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def fuzz_config(*, read_only: bool) -> schemathesis.Config:
    operations = [
        {
            # The schema itself: each call regenerates it (~0.2 s), and the coverage phase would try
            # every one of its ~100 `lang` values. A few fuzzed calls are enough.
            "include-path": "/api/v1/schema/",
            "generation": {"max-examples": 5},
            "phases": {"coverage": {"enabled": False}},
        }
    ]
    if read_only:
        # Every write of a read-only token stops at the permission check, whatever
        # the input: a few cases per write show it. The reads get the fuzzing phase
        # (what this role may see); the coverage phase's boundary values test input
        # validation, the same for every role: the admin pass runs them.
        operations.append(
            {
                "include-method": ["POST", "PUT", "DELETE"],
                "generation": {"max-examples": 10},
            }
        )
    else:
        # The writes that reach the most code (labels, reviews, prediction files): more cases.
        operations.append(
            {
                "include-path-regex": "^/api/(v1/annotations/|label/faces/.*/annotation/|v1/benchmarks/.*/entries/)",
                "include-method": ["POST", "PUT"],
                "generation": {"max-examples": 2 * MAX_EXAMPLES},
            }
        )
    return schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {
                # The stateful phase needs links the schema does not declare; examples + coverage + fuzzing run.
                "stateful": {"enabled": False},
                # Methods a path does not declare: tests/api/test_malformed_corpus.py sends every
                # write method (and DELETE) to every URL of the project already.
                "coverage": {"enabled": not read_only, "unexpected-methods": []},
            },
            "operations": operations,
        }
    )


RAW_SCHEMA = served_schema()
SCHEMA = schemathesis.openapi.from_dict(RAW_SCHEMA, config=fuzz_config(read_only=False))
READ_ONLY_SCHEMA = schemathesis.openapi.from_dict(RAW_SCHEMA, config=fuzz_config(read_only=True))


# --- data ----------------------------------------------------------------------------

# Ids of the objects of the current test's world, per path prefix; filled by the
# `fuzz_world` fixture, read by the hooks while cases are drawn.
KNOWN_IDS: dict[str, list[int]] = {}


def _make_benchmark(n: int = 6) -> Benchmark:
    """A public dataset with ground truth, a split over it and a benchmark (like
    tests/web/test_evaluation_validation.py, smaller)."""
    rng = np.random.default_rng(0)
    ds = Dataset.objects.create(name="bench", kind="images", is_public=True)
    names = [f"b{k:03d}.jpg" for k in range(n)]
    images = Image.objects.bulk_create(
        Image(
            dataset=ds,
            file=f"x/{nm}",
            file_name=nm,
            width=640,
            height=480,
            size_bytes=1,
            checksum=f"bench{k:059d}",
            K=[500.0, 0, 319.5, 0, 500.0, 239.5, 0, 0, 1],
        )
        for k, nm in enumerate(names)
    )
    faces = Face.objects.bulk_create(Face(image=im, index=0, box=[200, 120, 440, 360]) for im in images)
    R = geometry.euler_to_matrix(rng.uniform([-60, -40, -30], [60, 40, 30], (n, 3)))
    Annotation.objects.bulk_create(
        Annotation(
            face=f, dataset=ds, origin="ground_truth", status="ground_truth", R=r.reshape(9).tolist(), t=[0, 0, 600]
        )
        for f, r in zip(faces, R)
    )
    split = save_split(ds, "test", names, {"rule": "all"})
    return benchmarks.save_benchmark(name="bench-test", dataset=ds, split=split, title="Fuzz", crop="detector")


def _awkward_labels_and_landmarks(world) -> None:
    """What the exports and lists must also cope with: labels without t, flagged
    and skipped ones, faces with iBUG-68 and with MediaPipe landmarks."""
    rng = np.random.default_rng(1)
    users, objects = world["users"], world["objects"]
    R = geometry.euler_to_matrix([20.0, -10.0, 5.0]).reshape(9).tolist()
    save_annotation(
        face=objects["priv"]["unlabeled_face"],
        author=users["annotator"],
        R=R,
        t=None,
        status="flagged",
        flag_reason="occluded",
        expected_version=0,
    )
    save_annotation(
        face=objects["pub"]["unlabeled_face"],
        author=users["other_annotator"],
        R=R,
        t=None,
        status="skipped",
        expected_version=0,
    )
    save_annotation(
        face=objects["hidden"]["face"], author=users["admin"], R=R, t=None, status="accepted", expected_version=0
    )
    face = objects["pub"]["face"]
    face.landmarks_2d = rng.uniform(80, 240, (68, 2)).tolist()
    face.landmarks_3d = rng.uniform(-80, 80, (68, 3)).tolist()
    face.landmark_scheme, face.landmarks_provenance = "ibug68", "dataset"
    face.save()
    face = objects["priv"]["face"]
    face.landmarks_2d = rng.uniform(80, 240, (468, 2)).tolist()
    face.landmark_scheme, face.landmarks_provenance = "mediapipe468", "mediapipe@1"
    face.save()


def build_fuzz_world() -> dict:
    """`world` (tests/api/conftest.py) plus what the other endpoints need: a split,
    a benchmark with an entry, a finished and a queued export job, a reviewed
    label, and a read-only token of the researcher."""
    from django.contrib.auth import get_user_model

    world = build_world(get_user_model())
    users = world["users"]
    for key in ("pub", "priv"):
        ds = world["datasets"][key]
        save_split(
            ds,
            "train",
            list(Image.objects.filter(dataset=ds).values_list("file_name", flat=True))[:1],
            {"rule": "first"},
        )
    _awkward_labels_and_landmarks(world)
    review_annotation(
        annotation=world["objects"]["priv"]["annotation"],
        reviewer=users["reviewer"],
        decision="approved",
        note="ok",
        expected_version=None,
    )
    benchmark = _make_benchmark()
    gt = {
        f.image.file_name: a.R
        for f in Face.objects.filter(image__dataset=benchmark.dataset).select_related("image")
        for a in f.annotations.filter(origin="ground_truth")
    }
    body = json.dumps([{"id": n, "R": R} for n, R in gt.items()]).encode()
    uploads.create_upload_entry(
        benchmark=benchmark,
        data=body,
        filename="p.json",
        content_type="application/json",
        user=users["admin"],
        name="fuzz",
        description="",
        is_public=True,
        crop_used="",
        allow_unknown_ids=False,
    )
    done = Job.objects.create(
        kind=Job.Kind.EXPORT,
        dataset=world["datasets"]["pub"],
        created_by=users["admin"],
        options={"format": "csv", "labels": "best", "proposer": "", "split": None},
    )
    exports.run_export_job(done.pk)
    Job.objects.create(
        kind=Job.Kind.EXPORT,
        dataset=world["datasets"]["priv"],
        created_by=users["researcher"],
        options={"format": "json", "labels": "best", "proposer": "", "split": None},
    )
    read_only_token, read_only_key = create_token(user=users["researcher"], name="read-only", read_only=True)
    auth = {
        "admin": (ApiToken.objects.get(user=users["admin"]), world["keys"]["admin"]),
        "researcher_read_only": (read_only_token, read_only_key),
    }
    known_ids = {
        "benchmark_names": sorted(gt),
        "/api/v1/datasets/": list(Dataset.objects.values_list("pk", flat=True)),
        "/api/v1/images/": list(Image.objects.values_list("pk", flat=True)),
        "/api/v1/faces/": list(Face.objects.values_list("pk", flat=True)),
        "/api/v1/proposals/": list(Proposal.objects.values_list("pk", flat=True)),
        "/api/v1/annotations/": list(Annotation.objects.values_list("pk", flat=True)),
        "/api/v1/exports/": list(Job.objects.values_list("pk", flat=True)),
        "/api/v1/tokens/": list(ApiToken.objects.values_list("pk", flat=True)),
        "/api/v1/benchmarks/": list(Benchmark.objects.values_list("pk", flat=True)),
        "/api/v1/entries/": list(Entry.objects.values_list("pk", flat=True)),
        "/api/label/datasets/": list(Dataset.objects.values_list("pk", flat=True)),
        "/api/label/faces/": list(Face.objects.values_list("pk", flat=True)),
        "faces": list(Face.objects.values_list("pk", flat=True)),
        "proposals": list(Proposal.objects.values_list("pk", flat=True)),
    }
    return {**world, "auth": auth, "benchmark": benchmark, "known_ids": known_ids}


@pytest.fixture(scope="module")
def fuzz_world_rows(django_db_setup, django_db_blocker):
    """The fuzzing world, built once per module in a transaction rolled back at its
    end (the 82 operations' tests each get a savepoint in it instead of a flush and
    a rebuild)."""
    yield from rows_for_module(django_db_blocker, build_fuzz_world)


@pytest.fixture
def fuzz_world(fuzz_world_rows, db, settings):
    """The module's world, with the WSGI application kept in the test's transaction."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis' WSGI client sends Host: localhost
    # The WSGI handler closes "old" connections when a request starts and ends; inside a
    # transaction that would end the test's: Django's test client turns this off the same way.
    request_started.disconnect(django.db.close_old_connections)
    request_finished.disconnect(django.db.close_old_connections)
    KNOWN_IDS.clear()
    KNOWN_IDS.update(fuzz_world_rows["known_ids"])
    try:
        yield fuzz_world_rows
    finally:
        KNOWN_IDS.clear()
        request_started.connect(django.db.close_old_connections)
        request_finished.connect(django.db.close_old_connections)


def _known(path: str) -> list[int]:
    for prefix, ids in KNOWN_IDS.items():
        if path.startswith(prefix):
            return ids
    return []


def _id_name(path_parameters) -> str | None:
    return next((k for k in ("id", "face_id", "dataset_id") if k in (path_parameters or {})), None)


def flatmap_path_parameters(context, path_parameters):
    """Half the time, swap the generated id for the id of a real object, so the
    handlers get past their 404 and run on data."""
    ids = _known(context.operation.path) if context.operation else []
    name = _id_name(path_parameters)
    if not ids or name is None:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(ids).map(lambda i: {**path_parameters, name: i}))


def aim_coverage_case_at_a_real_object(case) -> None:
    """The coverage phase (boundary values of each parameter, one at a time) takes
    no hooks: its body and query cases would all stop at a 404 on an id that names
    nothing. Cases about some other parameter than the path get a real id,
    picked from the case's content so the choice is the same every run."""
    meta = case.meta
    if meta is None or meta.phase.name.value != "coverage":
        return
    location = getattr(meta.phase.data, "parameter_location", None)
    if getattr(location, "value", location) == "path":
        return
    ids, name = _known(case.operation.path), _id_name(case.path_parameters)
    if ids and name is not None:
        pick = ids[zlib.crc32(repr((case.query, case.body, case.method)).encode()) % len(ids)]
        case.path_parameters = {**case.path_parameters, name: pick}


FINITE = st.floats(allow_nan=False, allow_infinity=False)
ROTATIONS = st.tuples(st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180)).map(
    lambda e: geometry.euler_to_matrix(list(e)).reshape(9).tolist()
)
BROKEN_ROTATIONS = st.one_of(
    st.lists(FINITE, min_size=9, max_size=9),
    st.lists(FINITE, max_size=12),
    st.lists(st.text(max_size=4), min_size=9, max_size=9),
    st.just(["NaN"] * 9),
    st.just(["1e999"] * 9),
    st.just([1e308] * 9),
    st.integers(),
    st.none(),
    st.text(max_size=5),
    st.just({"yaw": 1}),
    st.lists(st.lists(FINITE, min_size=3, max_size=3), min_size=3, max_size=3),
)
ANY_INT = st.one_of(st.integers(-3, 20), st.integers(), st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30]))


def _label_bodies(with_face: bool):
    """Label bodies (POST /api/v1/annotations/, PUT/POST /api/label/faces/<id>/annotation/)
    that get past the first field check, half of them valid. The v1 schema
    (AnnotationWriteRequest) documents only `face`, so plain generation never
    sends R, status or expected_version."""
    real_faces = st.sampled_from(KNOWN_IDS.get("faces") or [1])
    valid = st.fixed_dictionaries(
        {
            "R": ROTATIONS,
            "expected_version": st.sampled_from([0, 0, 1, 2]),
            "status": st.sampled_from(["accepted", "corrected", "draft", "skipped"]),
        },
        optional={
            "t": st.one_of(st.none(), st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=3)),
            "time_spent_s": st.floats(0, 86400),
            "note": st.text(max_size=20),
            "proposal_id": st.one_of(st.none(), st.sampled_from(KNOWN_IDS.get("proposals") or [1])),
        },
    )
    flagged = st.fixed_dictionaries(
        {
            "R": ROTATIONS,
            "expected_version": st.sampled_from([0, 1]),
            "status": st.just("flagged"),
            "flag_reason": st.sampled_from(FlagReason.values),
        }
    )
    broken = st.fixed_dictionaries(
        {
            "R": st.one_of(ROTATIONS, BROKEN_ROTATIONS),
            "status": st.sampled_from(["accepted", "flagged", "ground_truth", "", "x", None]),
            "expected_version": st.one_of(ANY_INT, st.text(max_size=3), st.none()),
        },
        optional={
            "t": st.one_of(st.lists(FINITE, max_size=5), st.just(["1", "2", "x"]), st.just([1e308] * 3)),
            "time_spent_s": st.one_of(FINITE, st.text(max_size=3), st.just(-1)),
            "flag_reason": st.sampled_from(["", "occluded", "blurry", None]),
            "note": st.one_of(st.text(max_size=20), st.just("x" * 2001), st.integers()),
            "proposal_id": st.one_of(ANY_INT, st.text(max_size=3)),
        },
    )
    if not with_face:
        return st.one_of(valid, flagged, broken)
    face_ids = st.one_of(ANY_INT, st.text(max_size=3), st.none())
    return st.one_of(
        st.tuples(st.one_of(valid, flagged), real_faces),
        st.tuples(broken, st.one_of(real_faces, face_ids)),
        st.tuples(st.one_of(valid, flagged), face_ids),
    ).map(lambda pair: {**pair[0], "face": pair[1]})


def _prediction_files():
    """Prediction files for a benchmark entry: the benchmark's ids with good,
    odd and broken values, as JSON or CSV."""
    names = KNOWN_IDS.get("benchmark_names") or ["b000.jpg"]
    good_angles = st.lists(
        st.tuples(st.floats(-90, 90), st.floats(-90, 90), st.floats(-90, 90)), min_size=len(names), max_size=len(names)
    )
    good_json = good_angles.map(
        lambda es: json.dumps([{"id": n, "yaw": y, "pitch": p, "roll": r} for n, (y, p, r) in zip(names, es)]).encode()
    )
    good_csv = good_angles.map(
        lambda es: ("id,yaw,pitch,roll\n" + "".join(f"{n},{y},{p},{r}\n" for n, (y, p, r) in zip(names, es))).encode()
    )
    angle = st.one_of(st.floats(-90, 90), FINITE, st.just(float("nan")), st.text(max_size=3))
    rows = st.lists(
        st.tuples(st.one_of(st.sampled_from(names), st.text(max_size=8)), angle, angle, angle), max_size=len(names) + 2
    )
    odd_json = rows.map(
        lambda rs: json.dumps([{"id": i, "yaw": y, "pitch": p, "roll": r} for i, y, p, r in rs]).encode()
    )
    odd_csv = rows.map(lambda rs: ("id,yaw,pitch,roll\n" + "".join(f"{i},{y},{p},{r}\n" for i, y, p, r in rs)).encode())
    with_R = st.lists(
        st.tuples(st.sampled_from(names), st.one_of(ROTATIONS, BROKEN_ROTATIONS)), max_size=len(names)
    ).map(lambda rs: json.dumps([{"id": i, "R": R} for i, R in rs]).encode())
    return st.one_of(good_json, good_csv, odd_json, odd_csv, with_R, st.binary(max_size=64))


def _nested(depth: int, leaf: str) -> object:
    value: object = leaf
    for k in range(depth):
        value = [value] if k % 2 else {"a": value}
    return value


# JSON bodies every JSON write must refuse with a 400, whatever the operation: nested
# deeper than HEADPOSE_MAX_JSON_DEPTH (64), or not an object at all.
HOSTILE_JSON = st.one_of(
    st.integers(65, 200).map(lambda d: _nested(d, "x")),
    st.just([]),
    st.just("body"),
    st.just(None),
    st.lists(st.integers(), max_size=3),
)


def flatmap_body(context, body):
    op = context.operation
    if op is None or not isinstance(body, dict):
        return st.just(body)
    label = op.method.upper()
    if (label, op.path) == ("POST", "/api/v1/annotations/"):
        return st.one_of(_label_bodies(with_face=True), st.just(body), HOSTILE_JSON)
    if op.path == "/api/label/faces/{face_id}/annotation/":
        return st.one_of(_label_bodies(with_face=False), st.just(body), HOSTILE_JSON)
    if (label, op.path) == ("POST", "/api/v1/benchmarks/{id}/entries/"):
        return st.one_of(_prediction_files().map(lambda data: {**body, "file": Binary(data)}), st.just(body))
    if label in ("POST", "PUT"):
        return st.one_of(st.just(body), HOSTILE_JSON)
    return st.just(body)


# --- the checks -------------------------------------------------------------------------


class ServerErrors:
    """Tracebacks of exceptions Django turned into 500s (DEBUG is off, so the
    response body says nothing; the traceback goes into the failure message)."""

    def __init__(self):
        self.tracebacks: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, sender, request=None, **kwargs):
        with self._lock:
            self.tracebacks.append(f"{request.method} {request.get_full_path()}\n{traceback.format_exc()}")


@pytest.fixture
def server_errors():
    recorder = ServerErrors()
    got_request_exception.connect(recorder, weak=False)
    yield recorder
    got_request_exception.disconnect(recorder)


def _call_and_check(case, role, fuzz_world, server_errors):
    from config.wsgi import application

    token, key = fuzz_world["auth"][role]
    case.headers = {**(case.headers or {}), "Authorization": f"Token {key}"}
    case.cookies = {}  # a generated session cookie must not replace the token
    aim_coverage_case_at_a_real_object(case)
    server_errors.tracebacks.clear()
    started = time.monotonic()
    with transaction.atomic():  # a savepoint: a case that fails in the database leaves the test's transaction usable
        response = case.call(app=application)
        if response.status_code >= 500:
            transaction.set_rollback(True)
    elapsed = time.monotonic() - started
    # DELETE /api/v1/tokens/<id>/ may have revoked the very token this pass uses;
    # revive it so later cases are not all 401s (the revocation itself was checked).
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    # Two checks, raised from two places: Hypothesis reports each distinct failure
    # (by exception type and line), so a schema mismatch never hides a 5xx.
    try:
        case.validate_response(response, checks=[not_a_server_error])
    except BaseException as exc:
        if server_errors.tracebacks:
            exc.add_note("Server-side traceback(s):\n" + "\n".join(server_errors.tracebacks))
        raise
    if elapsed > SLOW_CALL_S:
        raise TimeoutError(f"{case.method} {case.formatted_path} took {elapsed:.1f} s")
    # A read-only token never writes, whatever the method, path or body.
    if (
        role == "researcher_read_only"
        and case.method.upper() not in ("GET", "HEAD", "OPTIONS")
        and response.status_code < 400
    ):
        raise PermissionError(f"read-only token: {case.method} {case.formatted_path} -> {response.status_code}")
    case.validate_response(response, checks=[response_schema_conformance])


for _schema in (SCHEMA, READ_ONLY_SCHEMA):
    _schema.hook(flatmap_path_parameters)
    _schema.hook(flatmap_body)

SETTINGS = hypothesis.settings(
    derandomize=True, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)


# The role parameter (one value each) also gives every operation's test a node id
# of its own, "...[GET /api/v1/faces/][admin]", so one can be rerun by id.
@pytest.mark.parametrize("role", ["admin"])
@SCHEMA.parametrize()
@SETTINGS
def test_admin_token(case, role, fuzz_world, server_errors):
    _call_and_check(case, role, fuzz_world, server_errors)


@pytest.mark.parametrize("role", ["researcher_read_only"])
@READ_ONLY_SCHEMA.parametrize()
@SETTINGS
def test_read_only_researcher_token(case, role, fuzz_world, server_errors):
    _call_and_check(case, role, fuzz_world, server_errors)


def test_served_schema_is_the_fuzzed_one(fuzz_world):
    """The schema fuzzed above is the one /api/v1/schema/ serves (same generator
    and renderer, read back over HTTP here)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {fuzz_world['keys']['researcher']}")
    r = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200, r.content[:300]
    served = json.loads(r.content)
    assert served["paths"].keys() == RAW_SCHEMA["paths"].keys()
    assert served["components"] == RAW_SCHEMA["components"]


def test_the_checks_catch_a_server_error_and_a_schema_mismatch(fuzz_world, server_errors, monkeypatch):
    """The harness itself can fail: a view that raises is reported as a server
    error with its traceback, and a body unlike the schema as a schema mismatch."""
    from rest_framework.response import Response
    from schemathesis.core.failures import FailureGroup

    from annotator.accounts.api import MeAPI

    operation = SCHEMA["/api/v1/me/"]["GET"]

    def broken(self, request):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(MeAPI, "get", broken)
    with pytest.raises(FailureGroup) as caught:
        _call_and_check(operation.Case(), "admin", fuzz_world, server_errors)
    assert "Server error" in str(caught.value)
    assert any("ZeroDivisionError: planted" in note for note in caught.value.__notes__)

    monkeypatch.setattr(MeAPI, "get", lambda self, request: Response({"id": "not an integer"}))
    with pytest.raises(FailureGroup) as caught:
        _call_and_check(operation.Case(), "admin", fuzz_world, server_errors)
    assert "Response violates schema" in str(caught.value)
