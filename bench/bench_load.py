"""Load test (issue 27 item 5): 50 simulated annotators (next face, save, now and
then a review) and 2 researchers (API lists, an export) against `make serve`'s
processes (tools/serve.py: gunicorn with WEB_CONCURRENCY sync workers, and a
Celery worker for the export) on PostgreSQL, with the app's tables filled by
bench/bench_scale.py's COPY at the size asked (default 300,000 faces).

The load tool is locust (bench/load/locustfile.py), run headless from its own
venv (`make load-tools`: requirements/load.txt). Prints one JSON document:
throughput (requests/s), p50/p95/max ms and failures per operation, the whole
run's error count, the load average before and after.

Usage:
    make load-tools
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose_scale \\
        .venv/bin/python bench/bench_load.py [--faces 300000] [--reuse] [--seconds 120] [--users 52]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the repository

from bench import bench_scale  # noqa: E402
from bench._common import print_json  # noqa: E402

LOCUST = ROOT / ".venv-load" / "bin" / "locust"


def plan_file(n: int, workdir: Path) -> Path:
    """Tokens for the populated annotators (one reviewer among them) and two researchers."""
    from django.contrib.auth.models import Group, User

    from annotator.accounts.tokens import create_token
    from annotator.models import Assignment, Dataset, Role

    dataset = Dataset.objects.get(name=f"scale-{n}")
    dataset.is_public = True  # researchers read public datasets' labels
    dataset.save(update_fields=["is_public"])
    annotators = list(User.objects.filter(username__startswith="scale-annotator-").order_by("username"))
    reviewer = annotators[0]
    Assignment.objects.get_or_create(dataset=dataset, user=reviewer, role=Role.REVIEWER)
    researchers = []
    for k in range(2):
        user, _ = User.objects.get_or_create(username=f"scale-researcher-{k}")
        user.groups.add(Group.objects.get_or_create(name=Role.RESEARCHER)[0])
        researchers.append(user)
    plan = {
        "dataset_id": dataset.pk,
        "annotator_tokens": [create_token(user=u, name="load")[1] for u in annotators],
        "researcher_tokens": [create_token(user=u, name="load")[1] for u in researchers],
    }
    path = workdir / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def read_stats(prefix: Path) -> dict:
    ops = {}
    with open(f"{prefix}_stats.csv") as f:
        for row in csv.DictReader(f):
            name = row["Name"] if row["Name"] != "Aggregated" else "all"
            ops[name] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 2),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "max_ms": round(float(row["Max Response Time"]), 1),
            }
    failures = []
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with open(failures_csv) as f:
            failures = [
                {"name": r["Name"], "error": r["Error"][:200], "occurrences": int(r["Occurrences"])}
                for r in csv.DictReader(f)
            ]
    return {"operations": ops, "failures": failures}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=300_000)
    parser.add_argument("--reuse", action="store_true", help="keep the rows when the dataset of that size is there")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--users", type=int, default=52, help="simulated people (50 annotators : 2 researchers)")
    parser.add_argument("--web-workers", type=int, default=0, help="WEB_CONCURRENCY (default: make serve's)")
    args = parser.parse_args()
    if not LOCUST.exists():
        sys.exit("locust is not installed: run `make load-tools` first (requirements/load.txt)")
    url = os.environ.get("DATABASE_URL", bench_scale.DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("the load test runs on PostgreSQL: set DATABASE_URL=postgres://...")
    bench_scale.create_database(url)
    bench_scale.setup(url)
    from annotator.models import Dataset

    result = {"faces": args.faces, "seconds": args.seconds, "users": args.users}
    if not (args.reuse and Dataset.objects.filter(name=f"scale-{args.faces}").exists()):
        result["populate"] = bench_scale.populate(args.faces)  # its rows, the queue built (queue_build_s)

    from tests.servers import server_env, web_server

    workdir = Path(tempfile.mkdtemp(prefix="headpose-load-"))
    plan = plan_file(args.faces, workdir)
    extra = {"DEBUG": "0", "SECRET_KEY": "bench-load-" + "x" * 40, "SERVE_WORKERS": ""}
    if args.web_workers:
        extra["WEB_CONCURRENCY"] = str(args.web_workers)
    env = server_env(**extra)
    worker_log = open(workdir / "worker.log", "wb")  # noqa: SIM115 (open while the worker runs)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "default", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        with web_server("serve", workdir / "gunicorn.log", env) as base:
            result["load_before"] = [round(x, 2) for x in os.getloadavg()]
            prefix = workdir / "locust"
            with open(workdir / "locust.log", "wb") as locust_log:
                subprocess.run(
                    [
                        str(LOCUST),
                        "-f",
                        str(ROOT / "bench" / "load" / "locustfile.py"),
                        "--headless",
                        "--host",
                        base,
                        "-u",
                        str(args.users),
                        "-r",
                        "10",
                        "-t",
                        f"{args.seconds}s",
                        "--csv",
                        str(prefix),
                        "--only-summary",
                    ],
                    env={**os.environ, "BENCH_LOAD_PLAN": str(plan)},
                    check=False,
                    stdout=locust_log,
                    stderr=subprocess.STDOUT,
                )
            result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        worker_log.close()
    result.update(read_stats(workdir / "locust"))
    result["logs"] = str(workdir)
    print_json(result)


if __name__ == "__main__":
    main()
