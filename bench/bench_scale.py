"""Scale bench (issue 27): the app's own tables filled with real rows at several
sizes, then each page's and endpoint's server time and queries per request.

For each size N (faces) the bench empties the app's tables of a dedicated
PostgreSQL database (migrated first) and fills them with PostgreSQL COPY, in
minutes: one dataset, one face per image (68 landmarks), one proposal per
face, 50 annotators and 2 reviewers; three annotators on every other face
(labels with one or two revisions; accepted, corrected, flagged, skipped and
drafts), reviews on the finished ones (approved, rejected, amended), a few
review claims, 1% of the faces honeypots with a ground-truth label and their
answers, a consensus row per labeled face, and a computed quality snapshot
marked stale. Then, in process (Django's test Client: server time, no network),
each operation is timed after a warm-up and its queries counted
(CaptureQueriesContext). Celery tasks the requests enqueue are recorded, not
sent (no worker runs here): the figures are the request's own.

Prints one JSON document: per size per operation p50 ms (and p95, n), queries
of the last request, the growth (p50 at the largest size / p50 at the smallest)
and os.getloadavg() before and after each size.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose_scale \\
        .venv/bin/python bench/bench_scale.py [--sizes 10000,100000] [--reuse] [--repeats 15]
        [--database-per-size]

--database-per-size keeps each size in its own database (headpose_scale10k,
headpose_scale1m, ...): with --reuse, a rerun measures every size without filling any.

--reuse keeps the rows when the database already holds the dataset of that size
(the dataset's name is scale-N): a rerun after a code change measures the same rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/headpose_scale"
N_ANNOTATORS = 50
PER_FACE = 3  # annotators on each labeled face
HONEYPOT_EVERY = 100  # 1% of the faces


def create_database(url: str) -> None:
    """CREATE DATABASE when missing (on the server's `postgres` database)."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    import tempfile

    os.environ.setdefault("HEADPOSE_DATA_DIR", tempfile.mkdtemp(prefix="headpose-scale-"))
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="headpose-scale-media-")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0, interactive=False)
    setup_test_environment()  # the test client's template signals, locmem mail
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


# --- COPY ---------------------------------------------------------------------------------


def _column_value(field, value):
    from django.db import models

    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return value if isinstance(value, str) else json.dumps(value)
    return value


def copy_rows(model, rows: list[dict]) -> None:
    """COPY rows (dicts of attname -> value, missing ones take the field's default)
    into the model's table."""
    from django.db import connection, models
    from django.utils import timezone

    if not rows:
        return
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {}
    for f in fields:
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()  # "" for a blank text column, None where null
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row([_column_value(f, row.get(f.attname, defaults[f.attname])) for f in fields])


def reset_sequences(models_) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models_):
            cursor.execute(sql)


def wipe() -> None:
    """Empty every table of the app (and users), ids from 1 again."""
    from django.apps import apps
    from django.db import connection

    tables = [m._meta.db_table for app in ("annotator", "evaluation") for m in apps.get_app_config(app).get_models()]
    tables += ["auth_user", "auth_user_groups", "django_session"]
    present = set(connection.introspection.table_names())
    tables = [t for t in tables if t in present]  # a model whose migration is not written yet
    with connection.cursor() as cursor:
        quoted = ", ".join(f'"{t}"' for t in tables)
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


# --- the rows ---------------------------------------------------------------------------------


def rotations(n: int, seed: int = 0):
    """n random head rotations (yaw +-60, pitch/roll +-25) as 9-float JSON text."""
    import numpy as np

    from workers.core import geometry

    rng = np.random.default_rng(seed)
    out = []
    for yaw, pitch, roll in zip(rng.uniform(-60, 60, n), rng.uniform(-25, 25, n), rng.uniform(-25, 25, n)):
        R = geometry.euler_to_matrix(np.array([yaw, pitch, roll]))
        out.append(json.dumps([round(float(x), 6) for x in np.asarray(R).reshape(-1)]))
    return out


def populate(n: int) -> dict:
    """The rows of one dataset of n faces; returns what the measuring needs."""
    import numpy as np
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from annotator.labeling import queue_entries
    from annotator.models import (
        Annotation,
        AnnotationRevision,
        Assignment,
        Dataset,
        Face,
        FaceConsensus,
        Honeypot,
        HoneypotAnswer,
        Image,
        Proposal,
        QualitySnapshot,
        ReviewClaim,
        Role,
    )
    from annotator.quality.services import refresh

    t0 = time.perf_counter()
    wipe()
    now = timezone.now()
    rng = np.random.default_rng(n)
    Rs = rotations(997)
    T = json.dumps([5.0, -3.0, 700.0])
    K = json.dumps([1000.0, 0, 320.0, 0, 1000.0, 240.0, 0, 0, 1])
    landmarks = json.dumps([[round(200 + 3.1 * k, 1), round(180 + 1.7 * (k % 17), 1)] for k in range(68)])
    with transaction.atomic():
        groups = {r: Group.objects.get_or_create(name=r)[0] for r in Role.values}
        admin = User.objects.create(username="scale-admin", is_staff=True, is_superuser=True, password="!")
        annotators = User.objects.bulk_create(
            [User(username=f"scale-annotator-{k:02d}", password="!") for k in range(N_ANNOTATORS)]
        )
        reviewers = User.objects.bulk_create([User(username=f"scale-reviewer-{k}", password="!") for k in range(2)])
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=u.pk, group_id=groups[Role.ANNOTATOR].pk) for u in annotators]
            + [through(user_id=u.pk, group_id=groups[Role.REVIEWER].pk) for u in reviewers]
            + [through(user_id=admin.pk, group_id=groups[Role.ADMIN].pk)]
        )
        dataset = Dataset.objects.create(name=f"scale-{n}", kind=Dataset.Kind.IMAGES, overlap=PER_FACE)
        Assignment.objects.bulk_create(
            [Assignment(dataset=dataset, user=u, role=Role.ANNOTATOR) for u in annotators]
            + [Assignment(dataset=dataset, user=u, role=Role.REVIEWER) for u in reviewers]
        )
    d = dataset.pk
    ann_ids = [u.pk for u in annotators]
    with transaction.atomic():
        copy_rows(
            Image,
            (
                {
                    "id": i,
                    "dataset_id": d,
                    "file": f"images/scale/{i:07d}.jpg",
                    "file_name": f"img_{i:07d}.jpg",
                    "width": 640,
                    "height": 480,
                    "size_bytes": 50_000,
                    "checksum": hashlib.sha256(str(i).encode()).hexdigest(),
                    "K": K,
                    "created_at": now,
                }
                for i in range(1, n + 1)
            ),
        )
        copy_rows(
            Face,
            (
                {
                    "id": i,
                    "image_id": i,
                    "index": 0,
                    "box": "[180, 150, 420, 400]",
                    "landmarks_2d": landmarks,
                    "landmark_scheme": "ibug68",
                    "landmarks_provenance": "fused@1",
                    "created_at": now,
                }
                for i in range(1, n + 1)
            ),
        )
        copy_rows(
            Proposal,
            (
                {
                    "id": i,
                    "face_id": i,
                    "proposer": "fused",
                    "proposer_version": "1",
                    "weights_sha256": "0" * 64,
                    "score": 0.9,
                    "confidence": 0.8,
                    "R": Rs[i % len(Rs)],
                    "t": T,
                    "created_at": now,
                }
                for i in range(1, n + 1)
            ),
        )
    # labels: three annotators on every other face (odd ids), spread through the name order
    statuses = ["accepted"] * 55 + ["corrected"] * 33 + ["flagged"] * 4 + ["skipped"] * 4 + ["draft"] * 4
    reviews = [""] * 50 + ["approved"] * 40 + ["rejected"] * 4 + ["amended"] * 6
    annotations, revisions, consensus, honeypots, answers, truths = [], [], [], [], [], []
    aid, rid = 0, 0
    for face in range(1, n + 1, 2):
        members = []
        for k in range(PER_FACE):
            aid += 1
            status = statuses[(face * 7 + k * 13) % len(statuses)]
            finished = status in ("accepted", "corrected", "flagged")
            review = reviews[(face * 11 + k * 5) % len(reviews)] if finished else ""
            version = 1 + (face + k) % 2
            author = ann_ids[(face // 2 * PER_FACE + k) % N_ANNOTATORS]
            R = Rs[(face + k) % len(Rs)]
            updated = now - timedelta(seconds=int(rng.integers(0, 30 * 86400)))
            annotations.append(
                {
                    "id": aid,
                    "face_id": face,
                    "dataset_id": d,
                    "origin": "annotator",
                    "author_id": author,
                    "proposal_id": face,
                    "R": R,
                    "t": T,
                    "status": status,
                    "flag_reason": "occluded" if status == "flagged" else "",
                    "version": version + (1 if review else 0),
                    "time_spent_s": 6.0,
                    "total_time_s": 6.0 * version,
                    "moved_deg": 2.5,
                    "moved_mm": 4.0,
                    "review_state": review,
                    "reviewed_by_id": reviewers[0].pk if review else None,
                    "reviewed_at": updated if review else None,
                    "review_reason": "rotation" if review == "rejected" else "",
                    "created_at": updated,
                    "updated_at": updated,
                }
            )
            for v in range(1, version + 1):
                rid += 1
                revisions.append(
                    {
                        "id": rid,
                        "annotation_id": aid,
                        "author_id": author,
                        "R": R,
                        "t": T,
                        "status": status,
                        "flag_reason": "occluded" if status == "flagged" else "",
                        "version": v,
                        "time_spent_s": 6.0,
                        "moved_deg": 2.5,
                        "moved_mm": 4.0,
                        "created_at": updated,
                    }
                )
            if status in ("accepted", "corrected") and review != "rejected":
                members.append((aid, author))
        if members:
            consensus.append(
                {
                    "face_id": face,
                    "dataset_id": d,
                    "R": Rs[face % len(Rs)],
                    "t": T,
                    "member_count": len(members),
                    "dispersion_deg": 2.0,
                    "members": json.dumps([m[0] for m in members]),
                    "rejected": "[]",
                    "needs_review": face % 37 == 0,
                    "method": "reliability_weighted",
                    "weights": json.dumps([1.0] * len(members)),
                    "iterations": 3,
                    "computed_at": now,
                }
            )
        if face % HONEYPOT_EVERY == 1:
            truths.append(face)
            honeypots.append({"id": len(honeypots) + 1, "face_id": face, "members": members})
    n_ann = aid
    gt = []
    for hp in honeypots:
        aid += 1
        gt.append(
            {
                "id": aid,
                "face_id": hp["face_id"],
                "dataset_id": d,
                "origin": "ground_truth",
                "R": Rs[hp["face_id"] % len(Rs)],
                "t": T,
                "status": "ground_truth",
                "created_at": now,
                "updated_at": now,
            }
        )
        hp["gt"] = aid
    with transaction.atomic():
        copy_rows(Annotation, annotations + gt)
        copy_rows(AnnotationRevision, revisions)
        copy_rows(FaceConsensus, [dict(c, id=k + 1) for k, c in enumerate(consensus)])
        copy_rows(
            Honeypot,
            [
                {
                    "id": hp["id"],
                    "face_id": hp["face_id"],
                    "dataset_id": d,
                    "R": Rs[hp["face_id"] % len(Rs)],
                    "t": T,
                    "trusted": "ground_truth",
                    "trusted_annotation_id": hp["gt"],
                    "created_at": now,
                }
                for hp in honeypots
            ],
        )
        for hp in honeypots:
            for a, author in hp["members"]:
                answers.append(
                    {
                        "id": len(answers) + 1,
                        "honeypot_id": hp["id"],
                        "annotation_id": a,
                        "author_id": author,
                        "geodesic_deg": 3.0,
                        "answered_at": now,
                    }
                )
        copy_rows(HoneypotAnswer, answers)
        # a few labels open on the review page ("in review")
        pending = [a["id"] for a in annotations if a["review_state"] == "" and a["status"] == "accepted"][:10]
        ReviewClaim.objects.bulk_create(
            [
                ReviewClaim(annotation_id=pk, reviewer=reviewers[1], expires_at=now + timedelta(hours=1))
                for pk in pending
            ]
        )
        reset_sequences(
            [Image, Face, Proposal, Annotation, AnnotationRevision, FaceConsensus, Honeypot, HoneypotAnswer]
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    refresh(dataset)  # the quality snapshot a worker would have left; measured stale below
    QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)
    quality_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    queue_entries.rebuild(dataset)  # what `manage.py rebuild_queue` does after an upgrade
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotator_queueentry")
    return {
        "load_s": round(load_s, 1),
        "quality_refresh_s": round(quality_s, 1),
        "queue_build_s": round(time.perf_counter() - t2, 1),
        "rows": {
            "faces": n,
            "annotations": n_ann + len(gt),
            "revisions": len(revisions),
            "consensus": len(consensus),
            "honeypots": len(honeypots),
            "honeypot_answers": len(answers),
        },
    }


# --- measuring --------------------------------------------------------------------------------


class Recorded:
    """Celery tasks the requests enqueue, recorded instead of sent."""

    def __init__(self):
        from annotator.common import pipeline

        self.sent = []
        self._pipeline = pipeline
        self._enqueue = pipeline.enqueue
        pipeline.enqueue = lambda name, *args, job=None: self.sent.append(name)

    def close(self):
        self._pipeline.enqueue = self._enqueue


def timed(fn, repeats: int, budget_s: float = 20.0, warmup: int = 2):
    """(latency summary, queries of the last call) of fn() after `warmup` calls:
    `repeats` calls, fewer (at least 3) when they pass budget_s."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn()
    ms, queries, start = [], 0, time.perf_counter()
    while len(ms) < repeats and (len(ms) < 3 or time.perf_counter() - start < budget_s):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1000)
        queries = len(ctx.captured_queries)
    return {**latency_summary(ms, digits=1), "queries": queries}


def ok(response, *codes):
    assert response.status_code in (codes or (200,)), (response.status_code, response.content[:300])
    return response


def measure(n: int, repeats: int, only: set[str]) -> dict:
    import base64
    from urllib.parse import urlencode

    from django.contrib.auth.models import User
    from django.test import Client

    from annotator.models import Annotation, Dataset, Face, QualitySnapshot

    dataset = Dataset.objects.get(name=f"scale-{n}")
    admin = User.objects.get(username="scale-admin")
    annotators = list(User.objects.filter(username__startswith="scale-annotator-").order_by("username"))
    reviewer = User.objects.get(username="scale-reviewer-0")
    web, rev = Client(), Client()
    web.force_login(admin)
    rev.force_login(reviewer)
    label_clients = []
    for u in annotators:
        c = Client()
        c.force_login(u)
        label_clients.append(c)
    state = {"k": 0, "last": {}, "review": None}
    mid_face = Face.objects.filter(image__dataset=dataset).order_by("image__file_name", "index")[n // 2]
    deep_page = n // 2 // 48 + 1
    ann_ids = Annotation.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True)
    mid_ann = ann_ids[len(ann_ids) // 2]
    ops = {}

    def next_face_api():
        k = state["k"] = (state["k"] + 1) % len(label_clients)
        last = state["last"].get(k)
        body = {"with_state": True, "exclude": [last] if last else []}
        r = ok(label_clients[k].post(f"/api/label/datasets/{dataset.pk}/next/", body, content_type="application/json"))
        state["last"][k] = r.json()["face_id"]

    def next_face_page():
        k = state["k"] = (state["k"] + 1) % len(label_clients)
        r = ok(label_clients[k].post(f"/label/datasets/{dataset.name}/next/"), 302)
        ok(label_clients[k].get(r["Location"]))

    def review_next():
        body = {"skip_annotation_id": state["review"]} if state["review"] else {}
        r = ok(rev.post(f"/api/label/review/datasets/{dataset.pk}/next/", body, content_type="application/json"))
        state["review"] = r.json().get("annotation_id")

    def get(client, url):
        return lambda: ok(client.get(url))

    def quality_stale():
        QualitySnapshot.objects.filter(dataset=dataset).update(stale=True)
        ok(web.get(f"/datasets/{dataset.name}/quality/"))

    cursor = base64.b64encode(urlencode({"p": mid_ann}).encode()).decode()
    face_cursor = base64.b64encode(urlencode({"p": n // 2}).encode()).decode()
    own = Annotation.objects.filter(dataset=dataset, author=annotators[0], origin="annotator").order_by("pk").first()
    save_state = {"version": own.version}

    def save():
        body = json.dumps(
            {
                "R": json.loads(own.R) if isinstance(own.R, str) else own.R,
                "t": [5.0, -3.0, 700.0 + save_state["version"]],
                "status": "corrected",
                "expected_version": save_state["version"],
                "time_spent_s": 1.0,
            }
        )
        r = ok(
            label_clients[0].put(f"/api/label/faces/{own.face_id}/annotation/", body, content_type="application/json")
        )
        save_state["version"] = r.json()["version"]

    plan = [
        ("label_next_api", next_face_api),
        ("label_next_page", next_face_page),
        ("review_next_api", review_next),
        ("dataset_page_first", get(web, f"/datasets/{dataset.name}/")),
        ("dataset_page_deep", get(web, f"/datasets/{dataset.name}/?page={deep_page}&after={mid_face.pk}")),
        ("dataset_page_rejected", get(web, f"/datasets/{dataset.name}/?state=rejected")),
        ("dataset_page_labeled", get(web, f"/datasets/{dataset.name}/?state=labeled")),
        ("dataset_page_annotator", get(label_clients[0], f"/datasets/{dataset.name}/")),
        ("home_page", get(web, "/")),
        ("quality_page_stale", quality_stale),
        ("api_annotations_first", get(web, f"/api/v1/annotations/?dataset={dataset.pk}")),
        (
            "api_annotations_deep",
            get(web, f"/api/v1/annotations/?dataset={dataset.pk}&{urlencode({'cursor': cursor})}"),
        ),
        ("api_annotations_filtered", get(web, f"/api/v1/annotations/?dataset={dataset.pk}&review_state=rejected")),
        ("api_faces_first", get(web, f"/api/v1/faces/?dataset={dataset.pk}")),
        ("api_faces_deep", get(web, f"/api/v1/faces/?dataset={dataset.pk}&{urlencode({'cursor': face_cursor})}")),
        ("api_face", get(web, f"/api/v1/faces/{mid_face.pk}/")),
        ("face_page", get(web, f"/faces/{mid_face.pk}/")),
        ("save", save),
    ]
    for name, fn in plan:
        if not only or name in only:
            ops[name] = timed(fn, repeats)
    return ops


def size_label(n: int) -> str:
    """10k, 300k, 1m: the suffix of a size's own database (--database-per-size)."""
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def use_database(url: str) -> None:
    """Point Django's connection at `url`'s database (created and migrated when new)."""
    from urllib.parse import urlparse

    from django.core.management import call_command
    from django.db import connections

    create_database(url)
    connection = connections["default"]
    connection.close()
    connection.settings_dict["NAME"] = urlparse(url).path.lstrip("/")
    call_command("migrate", verbosity=0, interactive=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="faces per size, comma-separated")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep the rows when the dataset of a size is there")
    parser.add_argument("--only", default="", help="measure only these operations (comma-separated)")
    parser.add_argument(
        "--database-per-size",
        action="store_true",
        help="each size in its own database, DATABASE_URL's name + 10k / 300k / 1m (with --reuse: keep each size's rows)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench_scale needs PostgreSQL (COPY): set DATABASE_URL=postgres://...")
    create_database(url)
    setup(url)
    from annotator.models import Dataset

    recorded = Recorded()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    result = {"database": url.rsplit("@", 1)[-1], "sizes": {}, "growth": {}}
    for n in sizes:
        if args.database_per_size:
            use_database(f"{url}{size_label(n)}")
        load_before = os.getloadavg()
        built = {"reused": True} if args.reuse and Dataset.objects.filter(name=f"scale-{n}").exists() else populate(n)
        ops = measure(n, args.repeats, {s for s in args.only.split(",") if s})
        result["sizes"][str(n)] = {
            "populate": built,
            "operations": ops,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(f"size {n}: {json.dumps({k: (v['p50_ms'], v['queries']) for k, v in ops.items()})}", file=sys.stderr)
    if len(sizes) > 1:
        lo, hi = result["sizes"][str(sizes[0])]["operations"], result["sizes"][str(sizes[-1])]["operations"]
        result["growth"] = {
            name: round(hi[name]["p50_ms"] / max(lo[name]["p50_ms"], 1e-6), 2) for name in lo if name in hi
        }
    result["tasks_enqueued"] = sorted(set(recorded.sent))
    recorded.close()
    print_json(result)


if __name__ == "__main__":
    main()
