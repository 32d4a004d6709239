"""The load test's simulated people (locust; bench/bench_load.py runs it):
annotators who ask for the next face and save it (and now and then review), and
researchers who page through the API's lists and ask for an export.

Reads BENCH_LOAD_PLAN (a JSON file bench_load.py writes): the dataset id, the
annotators' and researchers' API tokens. Each simulated user takes its own token."""

import itertools
import json
import os
import random
import threading
from pathlib import Path

from locust import HttpUser, between, task

PLAN = json.loads(Path(os.environ["BENCH_LOAD_PLAN"]).read_text())
DATASET = PLAN["dataset_id"]
_lock = threading.Lock()
_annotators = itertools.cycle(PLAN["annotator_tokens"])
_researchers = itertools.cycle(PLAN["researcher_tokens"])
IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1]


def _take(pool):
    with _lock:
        return next(pool)


class Annotator(HttpUser):
    """Next face, a few seconds of work, save (accept or correct); one task in ten a review."""

    weight = 50
    wait_time = between(1, 3)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {_take(_annotators)}"
        self.held = None

    @task(9)
    def label(self):
        body = {"exclude": [self.held] if self.held else []}
        with self.client.post(
            f"/api/label/datasets/{DATASET}/next/", json=body, name="next face", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            face = r.json().get("face_id")
        if face is None:
            return
        z = 700 + random.uniform(-40, 40)
        with self.client.put(
            f"/api/label/faces/{face}/annotation/",
            json={"R": IDENTITY, "t": [0, 0, z], "status": "corrected", "expected_version": 0, "time_spent_s": 2.0},
            name="save",
            catch_response=True,
        ) as r:
            # 409: the face was saved before (a label of this annotator from the populated rows)
            if r.status_code not in (200, 201, 409):
                r.failure(f"{r.status_code}: {r.text[:200]}")
            else:
                r.success()

    @task(1)
    def review(self):
        with self.client.post(
            f"/api/label/review/datasets/{DATASET}/next/", json={}, name="review next", catch_response=True
        ) as r:
            if r.status_code in (200, 403):  # 403: not a reviewer of the dataset (most annotators)
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")


class Researcher(HttpUser):
    """API lists (first and deeper cursor pages, a filter), now and then an export job."""

    weight = 2
    wait_time = between(1, 2)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {_take(_researchers)}"

    @task(6)
    def annotations(self):
        url = f"/api/v1/annotations/?dataset={DATASET}"
        for depth in range(3):
            r = self.client.get(url, name="api annotations" + (" next page" if depth else ""))
            if r.status_code != 200:
                return
            url = r.json().get("next")
            if not url:
                return

    @task(3)
    def faces(self):
        self.client.get(f"/api/v1/faces/?dataset={DATASET}", name="api faces")
        self.client.get(
            f"/api/v1/annotations/?dataset={DATASET}&review_state=rejected", name="api annotations filtered"
        )

    @task(1)
    def export(self):
        with self.client.post(
            "/api/v1/exports/",
            json={"dataset": DATASET, "format": "csv", "labels": "best"},
            name="export job",
            catch_response=True,
        ) as r:
            if r.status_code in (200, 202):
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")
