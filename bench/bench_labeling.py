"""Labeling page figures, printed as JSON:

- time to interactive of the labeling page in headless Chromium (navigation
  start -> head mesh loaded, first frame drawn, editor API ready), cold and warm;
- server-side save latency (PUT /api/label/faces/<id>/annotation/ through the
  whole Django stack: session auth, DRF, validation, optimistic locking, the
  revision), p50 and p95, plus the service call alone.

Runs against a throw-away database created and dropped here on whatever
DATABASE_URL names (PostgreSQL for the reported figures), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_labeling.py
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary as summary
from bench._common import print_json
from bench._django import chromium_page, django_test_db

N_SAVES = int(os.environ.get("BENCH_SAVES", "300"))
N_LOADS = int(os.environ.get("BENCH_LOADS", "6"))


def make_data():
    from django.contrib.auth.models import Group, User

    from annotator.models import Assignment, Face, Role
    from tests.browser.data import add_proposal, make_dataset

    bob = User.objects.create_user("bench-annotator", password="x")
    bob.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    dataset = make_dataset("bench", n_faces=4, with_files=True, width=640, height=480)
    Assignment.objects.create(dataset=dataset, user=bob, role=Role.ANNOTATOR)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    for face in faces:
        add_proposal(face, "fused")
    return bob, faces


def bench_saves(bob, face):
    import numpy as np
    from django.test import Client

    from annotator.labeling.queue import LabelInput, save_label
    from workers.core import geometry

    client = Client()
    client.force_login(bob)
    url = f"/api/label/faces/{face.pk}/annotation/"
    rng = np.random.default_rng(0)
    http_ms, version = [], 0
    for i in range(N_SAVES + 20):
        R = geometry.euler_to_matrix(rng.uniform(-40, 40, 3)).reshape(-1).tolist()
        body = json.dumps(
            {"R": R, "t": [1.0, 2.0, 700.0 + i], "status": "draft", "expected_version": version, "time_spent_s": 1.0}
        )
        t0 = time.perf_counter()
        r = client.put(url, body, content_type="application/json")
        dt = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, r.content
        version = r.json()["version"]
        if i >= 20:  # warm-up: connection, caches
            http_ms.append(dt)
    service_ms = []
    for _ in range(N_SAVES):
        R = geometry.euler_to_matrix(rng.uniform(-40, 40, 3))
        t0 = time.perf_counter()
        a = save_label(bob, face, LabelInput(R=R, t=[0, 0, 700], status="draft", expected_version=version))
        service_ms.append((time.perf_counter() - t0) * 1000)
        version = a.version
    return summary(http_ms), summary(service_ms)


def bench_page(bob, faces):
    cold, warm = None, []
    with chromium_page(bob) as (page, base):
        renderer = None
        for i in range(N_LOADS):
            page.goto(f"{base}/label/faces/{faces[i % len(faces)].pk}/")
            page.wait_for_function(
                "window.headposeEditor && window.headposeEditor.readyAt !== undefined", timeout=30000
            )
            tti = page.evaluate("() => window.headposeEditor.readyAt")
            renderer = renderer or page.evaluate("() => window.headposeEditor.rendererInfo().renderer")
            if i == 0:
                cold = tti
            else:
                warm.append(tti)
    return {
        "cold_ms": round(cold, 1),
        "warm_median_ms": round(statistics.median(warm), 1),
        "loads": N_LOADS,
        "renderer": renderer,
    }


def main():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with django_test_db("labeling", allowed_hosts="127.0.0.1,localhost", test_environment=True) as connection:
        bob, faces = make_data()
        http, service = bench_saves(bob, faces[0])
        page = bench_page(bob, faces[1:])
        print_json(
            {
                "benchmark": "labeling",
                "database": connection.vendor,
                "save_http": http,
                "save_service": service,
                "page_time_to_interactive": page,
                "target": "save p50 well under 11 ms (Label Studio: 112 ms)",
                "cpu_count": os.cpu_count(),
            }
        )


if __name__ == "__main__":
    main()
