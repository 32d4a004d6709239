"""Review figures on a throw-away database (created and dropped here) on
whatever DATABASE_URL names: PostgreSQL for the reported figures. Prints one
JSON document.

A dataset of --rows (100,000) faces, each with an annotator's label; 30 % of
them approved, 10 % rejected, 1 % open with a reviewer (claims). Server time,
through Django's test client (no network), of:
  (a) POST /api/label/review/datasets/ID/next/ with skip: a reviewer moving on
      (selectors.review_queue's order + the claim), --repeats times;
  (b) GET /api/label/review/annotations/ID/: the review page's state;
  (c) GET /datasets/NAME/ (the face grid with every face's label state and the
      counts per state) and GET /datasets/NAME/?state=rejected, as a reviewer.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_review.py [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json
from bench._django import django_test_db


def timed_ms(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with django_test_db("review", test_environment=True) as connection:
        from datetime import timedelta

        from django.contrib.auth.models import Group, User
        from django.test import Client
        from django.utils import timezone

        from annotator.models import Annotation, Assignment, ReviewClaim, Role
        from bench.bench_api import analyze, make_labeled_dataset

        annotator = User.objects.create_user("bench-annotator", password="x")
        annotator.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
        reviewer = User.objects.create_user("bench-reviewer", password="x")
        reviewer.groups.add(Group.objects.get_or_create(name=Role.REVIEWER)[0])
        other = User.objects.create_user("bench-reviewer-2", password="x")
        t0 = time.perf_counter()
        dataset = make_labeled_dataset("review-bench", args.rows, annotator, seed=0)
        Assignment.objects.create(dataset=dataset, user=reviewer, role=Role.REVIEWER)
        ids = list(Annotation.objects.filter(dataset=dataset).order_by("pk").values_list("pk", flat=True))
        now = timezone.now()
        Annotation.objects.filter(pk__in=ids[: len(ids) * 3 // 10]).update(
            review_state="approved", reviewed_by=reviewer, reviewed_at=now
        )
        Annotation.objects.filter(pk__in=ids[len(ids) * 3 // 10 : len(ids) * 4 // 10]).update(
            review_state="rejected", review_reason="rotation", reviewed_by=reviewer, reviewed_at=now
        )
        ReviewClaim.objects.bulk_create(
            [
                ReviewClaim(annotation_id=pk, reviewer=other, expires_at=now + timedelta(hours=1))
                for pk in ids[len(ids) * 4 // 10 : len(ids) * 41 // 100]
            ]
        )
        analyze(connection)
        load_s = time.perf_counter() - t0

        client = Client()
        client.force_login(reviewer)
        state = {"current": None}

        def next_one():
            body = {"skip_annotation_id": state["current"]} if state["current"] else {}
            r = client.post(f"/api/label/review/datasets/{dataset.pk}/next/", body, content_type="application/json")
            assert r.status_code == 200, r.content
            state["current"] = r.json()["annotation_id"]

        next_ms = timed_ms(next_one, args.repeats)

        def review_state():
            assert client.get(f"/api/label/review/annotations/{state['current']}/").status_code == 200

        def page(query=""):
            return lambda: client.get(f"/datasets/{dataset.name}/{query}").status_code == 200 or 1 / 0

        print_json(
            {
                "rows": args.rows,
                "database": connection.vendor,
                "load_s": round(load_s, 1),
                "review_next": latency_summary(next_ms),
                "review_state": latency_summary(timed_ms(review_state, args.repeats)),
                "dataset_page": latency_summary(timed_ms(page(), args.repeats)),
                "dataset_page_state_rejected": latency_summary(timed_ms(page("?state=rejected"), args.repeats)),
                "how": "Django test client in one process (server time, no network), after ANALYZE; "
                f"{args.repeats} requests each, the first included",
            }
        )


if __name__ == "__main__":
    main()
