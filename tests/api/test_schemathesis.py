"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

Every operation of the schema drf-spectacular serves at /api/v1/schema/ is called
in-process through the real WSGI application (config.wsgi) on the test database,
with generated path ids, query strings and bodies, valid and invalid. Two passes:
an admin token (reaches nearly every code path: labeling, reviews, exports,
tokens, benchmark uploads) and a researcher's read-only token (every write must
be refused cleanly).

What must hold on every response:
  - no 5xx (a server error is a bug: bad input is a 4xx that says why);
  - the body matches the schema's response description (response_schema_conformance).

The data is a small world like tests/api/conftest.py (three datasets, labels,
proposals, ground truth) plus a benchmark, a split and export jobs; sequences
are reset so that small generated ids (1, 2, ...) name real objects, and a hook
mixes the ids of real objects into the generated path parameters.

Reproducible: Hypothesis runs derandomized, so the same cases every run.
"""
import json
import threading
import time
import traceback

import hypothesis
import numpy as np
import pytest
import schemathesis
from django.core.signals import got_request_exception
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from annotator import exports
from annotator.models import Annotation, ApiToken, Dataset, Face, Image, Job, Proposal, Split
from annotator.splits import save_split
from annotator.tokens import create_token
from evaluation import services as evaluation_services
from evaluation.models import Benchmark, Entry
from workers.core import geometry

MAX_EXAMPLES = 30  # fuzzing cases per operation and pass (the coverage phase adds its own boundary cases)
SLOW_CALL_S = 20.0  # a call this slow counts as hanging (a queued export must not wait on the broker)

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def served_schema() -> dict:
    """The schema exactly as GET /api/v1/schema/?format=json serves it: the same
    generator and JSON renderer as the view (test_served_schema_is_the_fuzzed_one
    checks the two agree)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    # The stateful phase needs links the schema does not declare; examples + coverage + fuzzing run.
    "phases": {"stateful": {"enabled": False}},
    "operations": [{
        # The schema itself: each call regenerates it (~0.2 s), and the coverage phase would try
        # every one of its ~100 `lang` values. A few fuzzed calls are enough.
        "include-path": "/api/v1/schema/", "generation": {"max-examples": 5}, "phases": {"coverage": {"enabled": False}},
    }],
})
SCHEMA = schemathesis.openapi.from_dict(served_schema(), config=CONFIG)


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
        Image(dataset=ds, file=f"x/{nm}", file_name=nm, width=640, height=480, size_bytes=1,
              checksum=f"bench{k:059d}", K=[500.0, 0, 319.5, 0, 500.0, 239.5, 0, 0, 1]) for k, nm in enumerate(names))
    faces = Face.objects.bulk_create(Face(image=im, index=0, box=[200, 120, 440, 360]) for im in images)
    R = geometry.euler_to_matrix(rng.uniform([-60, -40, -30], [60, 40, 30], (n, 3)))
    Annotation.objects.bulk_create(
        Annotation(face=f, source="dataset", status="ground_truth", R=r.reshape(9).tolist(), t=[0, 0, 600])
        for f, r in zip(faces, R))
    split = save_split(ds, "test", names, {"rule": "all"})
    return evaluation_services.save_benchmark(name="bench-test", dataset=ds, split=split, title="Fuzz", crop="detector")


@pytest.fixture
def fuzz_world(world, settings):
    """`world` (tests/api/conftest.py) plus what the other endpoints need: a split,
    a benchmark with an entry, a finished and a queued export job, a reviewed
    label, and a read-only token of the researcher."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # schemathesis' WSGI client sends Host: localhost
    users = world["users"]
    for key in ("pub", "priv"):
        ds = world["datasets"][key]
        save_split(ds, "train", list(Image.objects.filter(dataset=ds).values_list("file_name", flat=True))[:1],
                   {"rule": "first"})
    from annotator import services

    services.review_annotation(annotation=world["objects"]["priv"]["annotation"], reviewer=users["reviewer"],
                               decision="approved", note="ok", expected_version=None)
    benchmark = _make_benchmark()
    gt = {f.image.file_name: a.R for f in Face.objects.filter(image__dataset=benchmark.dataset).select_related("image")
          for a in f.annotations.filter(source="dataset")}
    body = json.dumps([{"id": n, "R": R} for n, R in gt.items()]).encode()
    evaluation_services.create_upload_entry(
        benchmark=benchmark, data=body, filename="p.json", content_type="application/json", user=users["admin"],
        name="fuzz", description="", is_public=True, crop_used="", allow_unknown_ids=False)
    done = Job.objects.create(kind=Job.Kind.EXPORT, dataset=world["datasets"]["pub"], created_by=users["admin"],
                              options={"format": "csv", "labels": "best", "proposer": "", "split": None},
                              source="pub-best-csv.csv")
    exports.run_export_job(done.pk)
    Job.objects.create(kind=Job.Kind.EXPORT, dataset=world["datasets"]["priv"], created_by=users["researcher"],
                       options={"format": "json", "labels": "best", "proposer": "", "split": None}, source="q.json")
    read_only_token, read_only_key = create_token(user=users["researcher"], name="read-only", read_only=True)
    auth = {
        "admin": (ApiToken.objects.get(user=users["admin"]), world["keys"]["admin"]),
        "researcher_read_only": (read_only_token, read_only_key),
    }
    KNOWN_IDS.clear()
    KNOWN_IDS.update({
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
    })
    yield {**world, "auth": auth, "benchmark": benchmark}
    KNOWN_IDS.clear()
    # Export POSTs queued run_export_job tasks on this session's private broker
    # keys (tests/bootstrap.py); no worker runs them here, drop them.
    from workers.celery import app

    app.control.purge()


def _known(prefix: str) -> list[int]:
    for key, ids in KNOWN_IDS.items():
        if prefix.startswith(key):
            return ids
    return []


@SCHEMA.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, swap the generated id for the id of a real object, so the
    handlers get past their 404 and run on data."""
    ids = _known(context.operation.path) if context.operation else []
    name = next((k for k in ("id", "face_id", "dataset_id") if k in (path_parameters or {})), None)
    if not ids or name is None:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(ids).map(lambda i: {**path_parameters, name: i}))


def _label_bodies():
    """Bodies of POST /api/v1/annotations/ that reach the label checks. Its
    schema (AnnotationWriteRequest) documents only `face`, so plain generation
    never sends R, status or expected_version: this mixes real and broken ones in."""
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    rotations = st.tuples(st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180)).map(
        lambda e: geometry.euler_to_matrix(list(e)).reshape(9).tolist())
    junk_R = st.one_of(st.lists(finite, min_size=9, max_size=9), st.lists(finite, max_size=12),
                       st.lists(st.text(max_size=4), min_size=9, max_size=9), st.just(["NaN"] * 9),
                       st.just([1e308] * 9), st.integers(), st.none(), st.text(max_size=5),
                       st.lists(st.lists(finite, min_size=3, max_size=3), min_size=3, max_size=3))
    ints = st.one_of(st.integers(-3, 20), st.integers(), st.just(2**63), st.just(-(2**63) - 1))
    faces = st.one_of(st.sampled_from(KNOWN_IDS.get("faces") or [1]), ints)
    return st.fixed_dictionaries(
        {"face": faces, "R": st.one_of(rotations, junk_R),
         "status": st.sampled_from(["accepted", "corrected", "draft", "flagged", "skipped", "ground_truth", "", "x"]),
         "expected_version": st.one_of(st.integers(0, 3), ints, st.text(max_size=3))},
        optional={"t": st.one_of(st.none(), st.lists(finite, min_size=3, max_size=3), st.lists(finite, max_size=5),
                                 st.just(["1", "2", "x"])),
                  "time_spent_s": st.one_of(finite, st.text(max_size=3)),
                  "flag_reason": st.sampled_from(["", "occluded", "not_a_face", "blurry", "x"]),
                  "note": st.text(max_size=20),
                  "proposal_id": st.one_of(st.none(), st.sampled_from(KNOWN_IDS.get("proposals") or [1]), ints)})


@SCHEMA.hook
def flatmap_body(context, body):
    op = context.operation
    if op is None or op.method.upper() != "POST" or op.path != "/api/v1/annotations/":
        return st.just(body)
    return st.one_of(st.just(body), _label_bodies())


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
    server_errors.tracebacks.clear()
    started = time.monotonic()
    response = case.call(app=application)
    elapsed = time.monotonic() - started
    import os  # TEMP-STATS
    if os.environ.get("FUZZ_STATS"):  # TEMP-STATS
        with open(os.environ["FUZZ_STATS"], "a") as fh:  # TEMP-STATS
            fh.write(json.dumps([role, case.operation.label, case.method, response.status_code, round(elapsed * 1000, 1)]) + "\n")  # TEMP-STATS
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
    if role == "researcher_read_only" and case.method.upper() not in ("GET", "HEAD", "OPTIONS"):
        # A read-only token never writes, whatever the method, path or body.
        if response.status_code < 400:
            raise PermissionError(f"read-only token: {case.method} {case.formatted_path} -> {response.status_code}")
    case.validate_response(response, checks=[response_schema_conformance])


@pytest.mark.parametrize("role", ["admin", "researcher_read_only"])
@SCHEMA.parametrize()
@hypothesis.settings(derandomize=True, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_api_never_answers_5xx_and_matches_its_schema(case, role, fuzz_world, server_errors):
    _call_and_check(case, role, fuzz_world, server_errors)


def test_served_schema_is_the_fuzzed_one(world, settings):
    """The schema fuzzed above is the one /api/v1/schema/ serves (same generator
    and renderer, read back over HTTP here)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {world['keys']['researcher']}")
    r = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200, r.content[:300]
    served = json.loads(r.content)
    assert served["paths"].keys() == SCHEMA.raw_schema["paths"].keys()
    assert served["components"] == SCHEMA.raw_schema["components"]
