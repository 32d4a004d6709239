"""REST API figures on a throw-away database (created and dropped here) on
whatever DATABASE_URL names: PostgreSQL for the reported figures. Prints one
JSON document.

(a) exports: a dataset of --rows (100,000) faces, each with an annotator's
    accepted label, through annotator.exports.services.write (database read + writing
    a temporary file), as csv and as json; and the HTTP path
    GET /api/v1/datasets/<id>/export/?format=...&labels=accepted for a
    --small-rows (10,000) face dataset.
(b) list latency of GET /api/v1/annotations/?dataset=<id> (100 rows a page,
    cursor pagination) over real HTTP with a token, with --small-rows and then
    --rows more annotations in the database: the first page, the next 19
    pages followed through `next`, and pages deep in the dataset (a cursor at
    5%..95% of it). Two servers: one thread keeping its database connection
    (like one gunicorn sync worker) and Django's LiveServerThread (a thread
    and a new database connection per request, like runserver).
(c) malformed input: 200 broken POST /api/v1/annotations/ (bad R, status,
    fields, bodies, content types): the status codes, and how many
    annotations were stored (must be 0, and no 5xx).

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_api.py [--rows N]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json
from bench._django import django_test_db

BATCH = 5000
REFERENCE = {
    "label_studio_1_23_2": {"list_page_p50_ms": 244, "list_page_p95_ms": 536, "json_export_ms_per_task": 1.3},
    "aim": {"export_100k_s": 5.0},
}


def summary(ms):
    return latency_summary(ms, digits=2, with_max=True)


# --- data --------------------------------------------------------------------------


def make_users():
    from django.contrib.auth.models import Group, User

    from annotator.accounts.tokens import create_token
    from annotator.models import Role

    admin = User.objects.create_user("bench-admin", password="x", is_staff=True, is_superuser=True)
    admin.groups.add(Group.objects.get_or_create(name=Role.ADMIN)[0])
    annotator = User.objects.create_user("bench-annotator", password="x")
    annotator.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    return admin, annotator, create_token(user=admin, name="bench")[1]


def make_labeled_dataset(name: str, n: int, author, seed: int):
    """n images with one face each and one accepted annotator label per face,
    in bulk (no files: exports and lists read rows only)."""
    import numpy as np

    from annotator.models import Annotation, Dataset, Face, Image
    from workers.core import geometry

    rng = np.random.default_rng(seed)
    dataset = Dataset.objects.create(name=name)
    K = geometry.default_intrinsics(640, 480).reshape(-1).tolist()
    for start in range(0, n, BATCH):
        stop = min(start + BATCH, n)
        images = Image.objects.bulk_create(
            [
                Image(
                    dataset=dataset,
                    file=f"{name}/img{k:06d}.jpg",
                    file_name=f"img{k:06d}.jpg",
                    width=640,
                    height=480,
                    size_bytes=1,
                    checksum=f"{name}-{k:012d}",
                    K=K,
                )
                for k in range(start, stop)
            ]
        )
        boxes = rng.uniform([100, 80, 300, 260], [220, 160, 420, 380], (len(images), 4)).tolist()
        faces = Face.objects.bulk_create([Face(image=im, index=0, box=b) for im, b in zip(images, boxes)])
        R = geometry.euler_to_matrix(rng.uniform([-80, -50, -40], [80, 50, 40], (len(faces), 3))).reshape(-1, 9)
        t = rng.uniform([-150, -100, 500], [150, 100, 1500], (len(faces), 3))
        Annotation.objects.bulk_create(
            [
                Annotation(
                    face=f,
                    dataset=dataset,
                    origin="annotator",
                    author=author,
                    status="accepted",
                    R=r.tolist(),
                    t=tt.tolist(),
                    version=1,
                    time_spent_s=3.0,
                    total_time_s=3.0,
                )
                for f, r, tt in zip(faces, R, t)
            ]
        )
    return dataset


def analyze(connection) -> None:
    """Table statistics, as autovacuum would gather soon after a bulk load
    (without them the planner guesses, and the first figures would be a fresh
    table's, not a working database's)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- servers -----------------------------------------------------------------------


class PersistentServer:
    """One thread serving requests one after another with one database
    connection kept open (CONN_MAX_AGE), like a single gunicorn sync worker."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.servers.basehttp import WSGIServer
        from django.test.testcases import QuietWSGIRequestHandler

        self.httpd = WSGIServer(("127.0.0.1", 0), QuietWSGIRequestHandler, ipv6=False)
        self.httpd.set_app(WSGIHandler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        from django.db import connections

        try:
            self.httpd.serve_forever()
        finally:
            connections.close_all()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class ThreadPerRequestServer:
    """Django's LiveServerThread (as bench_labeling uses): a thread and a new
    database connection per request, like `manage.py runserver`."""

    def __init__(self):
        from django.test.testcases import LiveServerThread

        self.server = LiveServerThread("127.0.0.1", lambda app: app, port=0)
        self.server.daemon = True
        self.server.start()
        self.server.is_ready.wait()
        if self.server.error:
            raise self.server.error
        self.base = f"http://127.0.0.1:{self.server.port}"

    def stop(self):
        self.server.terminate()


# --- (a) exports -------------------------------------------------------------------------


def time_export_write(dataset, fmt: str, rows: int, repeats: int = 2) -> dict:
    from annotator.exports import services as exports
    from annotator.exports.selectors import label_rows

    options = {"format": fmt, "labels": "accepted", "proposer": "", "split": None}
    seconds, size, n = [], 0, 0
    for _ in range(repeats):
        with tempfile.NamedTemporaryFile(prefix="bench-export-", suffix="." + fmt) as out:
            t0 = time.perf_counter()
            n = exports.write(dataset, options, out).rows
            out.flush()
            seconds.append(time.perf_counter() - t0)
            size = os.path.getsize(out.name)
    assert n == rows, (fmt, n, rows)
    # The database read and row building alone (what the writer is fed), to split the time.
    t0 = time.perf_counter()
    with_landmarks = fmt in exports.WITH_LANDMARKS
    read = sum(1 for _ in label_rows(dataset, labels="accepted", with_landmarks=with_landmarks))
    read_s = time.perf_counter() - t0
    assert read == rows
    best = min(seconds)
    return {
        "rows": n,
        "bytes": size,
        "seconds": [round(s, 3) for s in seconds],
        "best_s": round(best, 3),
        "ms_per_row": round(best * 1000 / n, 4),
        "of_which_label_rows_s": round(read_s, 3),
    }


def time_export_http(session, base: str, dataset, fmt: str, rows: int, repeats: int = 3) -> dict:
    url = f"{base}/api/v1/datasets/{dataset.pk}/export/?" + urlencode({"format": fmt, "labels": "accepted"})
    seconds, size = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = session.get(url)
        body = r.content
        seconds.append(time.perf_counter() - t0)
        assert r.status_code == 200, (r.status_code, body[:300])
        size = len(body)
    lines = body.count(b"\n") - 1 if fmt == "csv" else len(json.loads(body)["faces"])
    assert lines == rows, (fmt, lines, rows)
    best = min(seconds)
    return {
        "rows": rows,
        "bytes": size,
        "seconds": [round(s, 3) for s in seconds],
        "best_s": round(best, 3),
        "ms_per_row": round(best * 1000 / rows, 4),
    }


# --- (b) list latency -----------------------------------------------------------------------


def _get_page(session, url: str, expect_rows: int | None = 100):
    t0 = time.perf_counter()
    r = session.get(url)
    body = r.content
    ms = (time.perf_counter() - t0) * 1000
    assert r.status_code == 200, (r.status_code, body[:300])
    page = json.loads(body)
    if expect_rows is not None:
        assert len(page["results"]) == expect_rows, (url, len(page["results"]))
    return ms, page


def list_latency(session, base: str, dataset, rounds: int = 10, chain: int = 20, deep: int = 20) -> dict:
    """rounds x (first page + chain-1 pages through `next`) requests, and `deep`
    pages opened with a cursor at 5%..95% of the dataset's annotations."""
    from annotator.models import Annotation

    first_url = f"{base}/api/v1/annotations/?dataset={dataset.pk}"
    chain = max(1, min(chain, Annotation.objects.filter(face__image__dataset=dataset).count() // 100))
    for _ in range(5):  # warm-up: connection, caches, the token's last_used_at write
        _get_page(session, first_url)
    first, chained = [], []
    for _ in range(rounds):
        ms, page = _get_page(session, first_url)
        first.append(ms)
        for _ in range(chain - 1):
            ms, page = _get_page(session, page["next"])
            chained.append(ms)
    ids = list(Annotation.objects.filter(face__image__dataset=dataset).order_by("pk").values_list("pk", flat=True))
    deep_ms = []
    for k in range(deep):
        seen = int(len(ids) * (0.05 + 0.9 * k / max(deep - 1, 1)))
        # DRF's cursor: base64 of the query string "p=<last id seen>" (rows with a larger id follow).
        cursor = base64.b64encode(urlencode({"p": ids[seen - 1]}).encode()).decode()
        ms, _ = _get_page(session, f"{first_url}&{urlencode({'cursor': cursor})}", min(100, len(ids) - seen))
        deep_ms.append(ms)
    return {
        "first_page": summary(first),
        f"next_pages_2_to_{chain}": summary(chained) if chained else None,
        "deep_pages_5_to_95_pct": summary(deep_ms),
        "all": summary(first + chained + deep_ms),
    }


# --- (c) malformed input -----------------------------------------------------------------------


def malformed_requests(face_id: int, other_face_proposal: int, n: int = 200):
    """n (body bytes, content type, what) triples, each broken in one way."""
    import numpy as np

    from workers.core import geometry

    rng = np.random.default_rng(7)

    def good():
        R = geometry.euler_to_matrix(rng.uniform(-60, 60, 3)).reshape(9).tolist()
        return {"face": face_id, "R": R, "t": [0.0, 0.0, 700.0], "status": "accepted", "expected_version": 0}

    def js(body):
        return json.dumps(body).encode(), "application/json"

    def with_(**changes):
        body = good()
        for k, v in changes.items():
            if v is _DROP:
                body.pop(k, None)
            else:
                body[k] = v
        return js(body)

    R0 = np.asarray(good()["R"])
    kinds = {
        "R random 9 numbers": lambda: with_(R=rng.uniform(-1, 1, 9).tolist()),
        "R scaled rotation": lambda: with_(R=(2 * R0).tolist()),
        "R reflection (det -1)": lambda: with_(R=(-R0).tolist()),
        "R 8 numbers": lambda: with_(R=R0[:8].tolist()),
        "R 10 numbers": lambda: with_(R=R0.tolist() + [0.0]),
        "R empty": lambda: with_(R=[]),
        "R strings": lambda: with_(R=["a"] * 9),
        "R 'NaN' strings": lambda: with_(R=["NaN"] * 9),
        "R NaN literal": lambda: (json.dumps({**good(), "R": [float("nan")] * 9}).encode(), "application/json"),
        "R Infinity literal": lambda: (
            json.dumps({**good(), "R": [float("inf")] + R0[1:].tolist()}).encode(),
            "application/json",
        ),
        "R 1e999 (overflows to inf)": lambda: (
            (
                '{"face": ' + str(int(face_id)) + ', "R": [1e999, 0, 0, 0, 1, 0, 0, 0, 1], "status": "accepted", '
                '"expected_version": 0}'
            ).encode(),
            "application/json",
        ),
        "R huge numbers": lambda: with_(R=[1e308] * 9),
        "R nested 3x3": lambda: with_(R=R0.reshape(3, 3).tolist()),
        "R object": lambda: with_(R={"yaw": 1, "pitch": 2, "roll": 3}),
        "R string": lambda: with_(R="identity"),
        "R null": lambda: with_(R=None),
        "R number": lambda: with_(R=1),
        "status unknown": lambda: with_(status="done"),
        "status ground_truth": lambda: with_(status="ground_truth"),
        "status empty": lambda: with_(status=""),
        "status number": lambda: with_(status=3),
        "status flagged without reason": lambda: with_(status="flagged"),
        "flag_reason unknown": lambda: with_(status="flagged", flag_reason="ugly"),
        "missing R": lambda: with_(R=_DROP),
        "missing status": lambda: with_(status=_DROP),
        "missing expected_version": lambda: with_(expected_version=_DROP),
        "missing face": lambda: with_(face=_DROP),
        "empty object": lambda: js({}),
        "expected_version negative": lambda: with_(expected_version=-1),
        "expected_version string": lambda: with_(expected_version="zero"),
        "expected_version fraction": lambda: with_(expected_version=0.5),
        "face 0": lambda: with_(face=0),
        "face missing id": lambda: with_(face=2_000_000_000),
        "face too large": lambda: with_(face=2**63),
        "face string": lambda: with_(face="abc"),
        "t 2 numbers": lambda: with_(t=[1.0, 2.0]),
        "t strings": lambda: with_(t=["x", "y", "z"]),
        "t 'NaN'": lambda: with_(t=["NaN", 0, 700]),
        "time_spent_s negative": lambda: with_(time_spent_s=-5),
        "time_spent_s huge": lambda: with_(time_spent_s=1e12),
        "note too long": lambda: with_(note="x" * 2001),
        "note with NUL": lambda: with_(note="a\x00b"),
        "proposal of another face": lambda: with_(proposal_id=other_face_proposal),
        "proposal_id too large": lambda: with_(proposal_id=2**63),
        "array of one body": lambda: js([good()]),
        "empty array": lambda: js([]),
        "array of numbers": lambda: js(good()["R"]),
        "JSON string": lambda: js("accepted"),
        "JSON null": lambda: (b"null", "application/json"),
        "truncated JSON": lambda: (json.dumps(good()).encode()[:-7], "application/json"),
        "not JSON": lambda: (b"R=1,0,0&status=accepted", "application/json"),
        "empty body": lambda: (b"", "application/json"),
        "binary body": lambda: (bytes(rng.integers(0, 256, 64, dtype=np.uint8)), "application/json"),
        "form-encoded body": lambda: (
            urlencode(
                {"face": face_id, "R": "1,0,0,0,1,0,0,0,1", "status": "accepted", "expected_version": 0}
            ).encode(),
            "application/x-www-form-urlencoded",
        ),
        "text/plain body": lambda: (json.dumps(good()).encode(), "text/plain"),
    }
    names = sorted(kinds)
    return [(names[i % len(names)],) + kinds[names[i % len(names)]]() for i in range(n)]


class _Drop:
    pass


_DROP = _Drop()


def malformed_run(session, base: str, face, other_proposal) -> dict:
    from annotator.models import Annotation, AnnotationRevision

    before = (Annotation.objects.filter(origin="annotator").count(), AnnotationRevision.objects.count())
    statuses, by_kind, server_errors = Counter(), {}, []
    for what, body, content_type in malformed_requests(face.pk, other_proposal.pk):
        r = session.post(f"{base}/api/v1/annotations/", data=body, headers={"Content-Type": content_type})
        statuses[r.status_code] += 1
        by_kind.setdefault(what, Counter())[r.status_code] += 1
        if r.status_code >= 500:
            server_errors.append({"what": what, "status": r.status_code, "body": body[:200].decode(errors="replace")})
    after = (Annotation.objects.filter(origin="annotator").count(), AnnotationRevision.objects.count())
    return {
        "requests": sum(statuses.values()),
        "kinds": len(by_kind),
        "status_histogram": {str(k): v for k, v in sorted(statuses.items())},
        "status_by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        "annotations_stored": after[0] - before[0],
        "revisions_stored": after[1] - before[1],
        "server_errors": server_errors,
    }


# --- main ---------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="faces (and labels) of the large dataset")
    parser.add_argument("--small-rows", type=int, default=None, help="of the small dataset (default 10,000)")
    args = parser.parse_args()
    small_rows = args.small_rows or min(10_000, args.rows)

    import logging

    import requests

    with django_test_db("api") as connection:
        # Each refused request logs a "Bad Request" warning; server errors (ERROR) still show.
        logging.getLogger("django.request").setLevel(logging.ERROR)
        measure(args, small_rows, connection, requests.Session())


def measure(args, small_rows: int, connection, session) -> None:
    """Every figure of the module docstring, printed as one JSON document."""
    servers = []
    try:
        from annotator.models import Annotation, Face
        from tests.browser.data import add_proposal

        _admin, annotator, key = make_users()
        session.headers["Authorization"] = f"Token {key}"
        result = {
            "benchmark": "api",
            "database": connection.vendor,
            "cpu_count": os.cpu_count(),
            "rows": args.rows,
            "small_rows": small_rows,
            "reference": REFERENCE,
        }

        t0 = time.perf_counter()
        small = make_labeled_dataset("small", small_rows, annotator, seed=1)
        result["generate_small_s"] = round(time.perf_counter() - t0, 2)
        analyze(connection)
        persistent, per_request = PersistentServer(), ThreadPerRequestServer()
        servers = [persistent, per_request]

        result["export_http_small"] = {
            fmt: time_export_http(session, persistent.base, small, fmt, small_rows) for fmt in ("csv", "json")
        }
        result["list_small"] = {
            "annotations_in_db": Annotation.objects.count(),
            "persistent_connection": list_latency(session, persistent.base, small),
            "connection_per_request": list_latency(session, per_request.base, small),
        }

        t0 = time.perf_counter()
        large = make_labeled_dataset("large", args.rows, annotator, seed=2)
        result["generate_large_s"] = round(time.perf_counter() - t0, 2)
        analyze(connection)

        result["export_write_large"] = {fmt: time_export_write(large, fmt, args.rows) for fmt in ("csv", "json")}
        result["list_large"] = {
            "annotations_in_db": Annotation.objects.count(),
            "persistent_connection": list_latency(session, persistent.base, large),
            "connection_per_request": list_latency(session, per_request.base, large),
        }

        faces = list(Face.objects.filter(image__dataset=small).order_by("pk")[:2])
        other_proposal = add_proposal(faces[1], "fused")
        result["malformed"] = malformed_run(session, persistent.base, faces[0], other_proposal)
        print_json(result)
    finally:
        session.close()  # a kept-alive connection would hold the one-thread server's shutdown
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
