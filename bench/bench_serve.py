"""Requests per second and p95 latency of the annotation save
(POST /api/v1/annotations/, token auth) and the annotation list page
(GET /api/v1/annotations/?dataset=ID, 100 rows) under `make serve`'s gunicorn
(the command tools/serve.py runs: sync workers, WEB_CONCURRENCY, default
2 x cores + 1) and under the development server (`manage.py runserver`, a
thread per connection, pooled database connections), both DEBUG off, at 1 and
16 concurrent clients.

Loopback only, bounded loops (BENCH_REQUESTS per level, split among the clients),
each request on a new connection; both servers run side by side and take turns in
ROUNDS interleaved rounds, so they see the same background load (the 1-minute load
average is reported per level). Each client saves its own face, so saves never
conflict. Runs against a throw-away database created and dropped here on
whatever DATABASE_URL names (PostgreSQL for the reported figures):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_serve.py
Prints JSON."""

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json
from bench._django import django_test_db

N_REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
CLIENTS = (1, 16)
N_FACES = 200
WARMUP = 20
ROUNDS = 4


def make_data():
    from django.contrib.auth.models import Group, User

    from annotator.accounts.tokens import create_token
    from annotator.labeling.services import save_annotation
    from annotator.models import Assignment, Face, Role
    from tests.browser.data import add_proposal, make_dataset

    user = User.objects.create_user("bench-annotator", password="x")
    user.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    dataset = make_dataset("bench-serve", n_faces=N_FACES)
    Assignment.objects.create(dataset=dataset, user=user, role=Role.ANNOTATOR)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    for face in faces:
        add_proposal(face, "landmarks-fit")
        save_annotation(
            face=face,
            author=user,
            R=[1, 0, 0, 0, 1, 0, 0, 0, 1],
            t=[0.0, 0.0, 600.0],
            status="accepted",
            expected_version=0,
        )
    _, key = create_token(user=user, name="bench")
    return dataset, faces, key


def run_level(base, key, dataset, faces, endpoint, clients, n_requests):
    """(latencies in ms, wall seconds, errors) of n_requests split among `clients` threads."""
    import requests

    headers = {"Authorization": f"Token {key}", "Connection": "close"}
    per_client = max(1, n_requests // clients)

    def client(i):
        face = faces[i]
        version = requests.get(f"{base}/api/v1/annotations/?face={face.pk}", headers=headers, timeout=60).json()[
            "results"
        ][0]["version"]
        ms, errors = [], 0
        for k in range(per_client):
            t0 = time.perf_counter()
            if endpoint == "save":
                r = requests.post(
                    f"{base}/api/v1/annotations/",
                    headers=headers,
                    timeout=60,
                    json={
                        "face": face.pk,
                        "R": [1, 0, 0, 0, 1, 0, 0, 0, 1],
                        "t": [0.0, 0.0, 600.0 + k],
                        "status": "accepted",
                        "expected_version": version,
                    },
                )
                if r.ok:
                    version = r.json()["version"]
            else:
                r = requests.get(f"{base}/api/v1/annotations/?dataset={dataset.pk}", headers=headers, timeout=60)
            ms.append((time.perf_counter() - t0) * 1000)
            errors += not r.ok
        return ms, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(client, range(clients)))
    return [m for r in results for m in r[0]], time.perf_counter() - started, sum(r[1] for r in results)


def summary(ms, wall, errors):
    return {"errors": errors, "rps": round(len(ms) / wall, 1), **latency_summary(ms, digits=2)}


def main():
    with django_test_db("serve", allowed_hosts="127.0.0.1"):
        from tests.servers import server_env, web_server
        from tools.serve import web_concurrency

        dataset, faces, key = make_data()
        report = {
            "faces": N_FACES,
            "requests_per_level": N_REQUESTS,
            "rounds": ROUNDS,
            "cpus": os.cpu_count(),
            "gunicorn_workers": web_concurrency(),
            "servers": {},
            "load_average_1min": {},
        }
        logs = Path(tempfile.mkdtemp(prefix="headpose-bench-serve-"))
        env = server_env(DEBUG="0", SECRET_KEY="bench-serve-" + "x" * 40)
        with (
            web_server("serve", logs / "gunicorn.log", env) as gunicorn,
            web_server("runserver", logs / "runserver.log", env) as runserver,
        ):
            bases = {"gunicorn": gunicorn, "runserver": runserver}
            for base in bases.values():
                run_level(base, key, dataset, faces, "list", 1, WARMUP)
            for endpoint in ("save", "list"):
                for clients in CLIENTS:
                    # interleaved rounds: both servers see the same background load
                    runs = {kind: ([], 0.0, 0) for kind in bases}
                    for _ in range(ROUNDS):
                        for kind, base in bases.items():
                            ms, wall, errors = run_level(
                                base, key, dataset, faces, endpoint, clients, N_REQUESTS // ROUNDS
                            )
                            runs[kind] = (runs[kind][0] + ms, runs[kind][1] + wall, runs[kind][2] + errors)
                    for kind, run in runs.items():
                        report["servers"].setdefault(kind, {}).setdefault(endpoint, {})[str(clients)] = summary(*run)
                    report["load_average_1min"][f"{endpoint}_{clients}"] = round(os.getloadavg()[0], 2)
        print_json(report)


if __name__ == "__main__":
    main()
