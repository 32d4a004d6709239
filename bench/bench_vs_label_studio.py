"""HeadPose Studio and Label Studio 1.23.2 side by side on this machine, both on
PostgreSQL, both under Django's development server (`manage.py runserver`,
DEBUG off), measured in interleaved rounds so both see the same background load.

Label Studio is never a dependency of this project: the script installs it into
a throw-away venv (--venv, default /tmp/headpose-bench-label-studio-1.23.2; kept
between runs, reinstalled when it holds another version) and runs it on its own
database (--ls-database, dropped and created here) on the server DATABASE_URL
names. HeadPose Studio runs on a throw-away test database created and dropped here.

Data: --items faces (HeadPose) and tasks (Label Studio), each with one label by
the benchmark user (a superuser in both; in HeadPose also an annotator of the
dataset). Label Studio's labeling config has three Number fields (yaw, pitch,
roll) on an image; a HeadPose label is R (9 numbers) and t (3).

Per round, for each app in turn, --per-round requests of each operation:
  save_new          save a label on a new connection (Connection: close)
                      HeadPose: POST /api/v1/annotations/ (an update: expected_version)
                      Label Studio: POST /api/tasks/ID/annotations/ (submit) and
                      PATCH /api/annotations/ID/ (update); the ratio uses the faster
  save_keepalive    the same on one kept-alive connection
  item              GET one label (HeadPose /api/v1/annotations/ID/, Label Studio /api/tasks/ID/)
  list_page         the first page of 100 (HeadPose /api/v1/annotations/?dataset=ID,
                      Label Studio /api/tasks/?project=ID&page_size=100)
  json_export       every label of the dataset/project as JSON (HeadPose
                      /api/v1/datasets/ID/export/?format=json, Label Studio
                      /api/projects/ID/export?exportType=JSON), --per-round // 4 requests
  login_new, login_keepalive   the login page (no database), new vs kept-alive connection
Prints one JSON document: p50/p95 per app and operation, the ratios
(Label Studio p50 / HeadPose p50), and the 1-minute load average at each round.

Usage (the first run installs Label Studio: several minutes):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_vs_label_studio.py
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json
from bench._django import django_test_db

LS_VERSION = "1.23.2"
# Label Studio 1.23.2 leaves sentry-sdk unpinned, and sentry-sdk 3 refuses the options it passes
# (TypeError: Unknown option 'send_default_pii') at start-up: the last 2.x it was released with.
LS_CONSTRAINTS = ["sentry-sdk<3"]
LS_LABEL_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Number name="yaw" toName="image" min="-180" max="180"/>
  <Number name="pitch" toName="image" min="-180" max="180"/>
  <Number name="roll" toName="image" min="-180" max="180"/>
</View>"""
USER, PASSWORD = "bench@example.com", "bench-" + secrets.token_hex(8)
IDENTITY = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


# --- Label Studio: install, database, process ----------------------------------------


def ensure_label_studio(venv: Path) -> Path:
    """venv/bin/label-studio at LS_VERSION, installed with pip if missing."""
    exe = venv / "bin" / "label-studio"
    python = venv / "bin" / "python"
    if exe.exists():
        probe = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
            capture_output=True,
            text=True,
        )
        sentry = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('sentry-sdk'))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == LS_VERSION and sentry.stdout.strip().startswith("2."):
            return exe
    print(f"installing label-studio=={LS_VERSION} into {venv} (several minutes)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"label-studio=={LS_VERSION}", *LS_CONSTRAINTS],
        check=True,
        stdout=sys.stderr,
    )
    return exe


def postgres_server() -> dict:
    url = urlparse(os.environ.get("DATABASE_URL", ""))
    if url.scheme not in ("postgres", "postgresql"):
        sys.exit("DATABASE_URL must name a PostgreSQL server: both apps run on PostgreSQL here.")
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "password": url.password or "",
    }


def recreate_database(server: dict, name: str, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def label_studio(exe: Path, server: dict, database: str, token: str, workdir: Path):
    """Label Studio under its runserver (`label-studio start`); yields the base URL."""
    from tools.redis_server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "DEBUG"))}
    env.update(
        DJANGO_DB="default",
        POSTGRE_NAME=database,
        POSTGRE_USER=server["user"],
        POSTGRE_PASSWORD=server["password"],
        POSTGRE_HOST=server["host"],
        POSTGRE_PORT=str(server["port"]),
        LABEL_STUDIO_BASE_DATA_DIR=str(workdir / "ls-data"),
        DEBUG="false",
    )
    log = workdir / "label-studio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(exe),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(port),
                "--username",
                USER,
                "--password",
                PASSWORD,
                "--user-token",
                token,
                "--enable-legacy-api-token",
            ],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/health", proc, log, timeout=900)  # the first start runs every migration
        yield base
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the two apps behind one interface ------------------------------------------------


class App:
    """One app's data and the requests each operation makes; `save(session)`
    saves the next item's label (a new connection when session is None)."""

    name: str
    login_path: str

    def __init__(self, base: str, key: str):
        import requests

        self.base, self.requests = base, requests
        self.headers = {"Authorization": f"Token {key}"}

    def call(self, method: str, path: str, session=None, **kwargs):
        if session is None:
            r = self.requests.request(
                method, self.base + path, timeout=120, headers={**self.headers, "Connection": "close"}, **kwargs
            )
        else:
            r = session.request(method, self.base + path, timeout=120, headers=self.headers, **kwargs)
        if not r.ok:
            raise RuntimeError(f"{self.name} {method} {path}: {r.status_code} {r.text[:500]}")
        return r

    def login_page(self, session=None):
        r = (session or self.requests).get(
            self.base + self.login_path, timeout=60, headers={} if session else {"Connection": "close"}
        )
        if r.status_code != 200:
            raise RuntimeError(f"{self.name} login page: {r.status_code}")
        return r


class HeadPose(App):
    name, login_path = "headpose", "/accounts/login/"

    def __init__(self, base, key, dataset_id, annotations):
        super().__init__(base, key)
        self.dataset_id = dataset_id
        self.items = [[a.face_id, a.version, a.pk] for a in annotations]
        self.turn = 0

    def save(self, session=None):
        item = self.items[self.turn % len(self.items)]
        self.turn += 1
        r = self.call(
            "POST",
            "/api/v1/annotations/",
            session,
            json={
                "face": item[0],
                "R": IDENTITY,
                "t": [0.0, 0.0, 600.0 + self.turn % 50],
                "status": "accepted",
                "expected_version": item[1],
            },
        )
        item[1] = r.json()["version"]

    def item(self):
        self.call("GET", f"/api/v1/annotations/{self.items[self.turn % len(self.items)][2]}/")
        self.turn += 1

    def list_page(self):
        assert len(self.call("GET", f"/api/v1/annotations/?dataset={self.dataset_id}").json()["results"]) == 100

    def json_export(self):
        self.call("GET", f"/api/v1/datasets/{self.dataset_id}/export/?format=json")


class LabelStudio(App):
    name, login_path = "label_studio", "/user/login/"

    def __init__(self, base, key, n_items):
        super().__init__(base, key)
        self.project_id = self.call(
            "POST", "/api/projects/", json={"title": "bench", "label_config": LS_LABEL_CONFIG}
        ).json()["id"]
        self.call(
            "POST",
            f"/api/projects/{self.project_id}/import",
            json=[{"image": f"/data/upload/img{i:05d}.png"} for i in range(n_items)],
        )
        tasks = self.call("GET", f"/api/tasks/?project={self.project_id}&page_size={n_items}").json()
        tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
        if len(tasks) != n_items:
            raise RuntimeError(f"Label Studio imported {len(tasks)} tasks of {n_items}")
        self.items = [
            [t["id"], self.call("POST", f"/api/tasks/{t['id']}/annotations/", json=self.body(0)).json()["id"]]
            for t in tasks
        ]
        self.turn = 0

    @staticmethod
    def body(k: int) -> dict:
        return {
            "result": [
                {"from_name": name, "to_name": "image", "type": "number", "value": {"number": float(k % 50)}}
                for name in ("yaw", "pitch", "roll")
            ],
            "lead_time": 1.0,
        }

    def save(self, session=None):
        task_id, _ = self.items[self.turn % len(self.items)]
        self.turn += 1
        self.call("POST", f"/api/tasks/{task_id}/annotations/", session, json=self.body(self.turn))

    def update(self, session=None):
        _, annotation_id = self.items[self.turn % len(self.items)]
        self.turn += 1
        self.call("PATCH", f"/api/annotations/{annotation_id}/", session, json=self.body(self.turn))

    def item(self):
        self.call("GET", f"/api/tasks/{self.items[self.turn % len(self.items)][0]}/")
        self.turn += 1

    def list_page(self):
        page = self.call("GET", f"/api/tasks/?project={self.project_id}&page_size=100").json()
        assert len(page["tasks"] if isinstance(page, dict) else page) == 100

    def json_export(self):
        self.call("GET", f"/api/projects/{self.project_id}/export?exportType=JSON")


def operations(app: App, per_round: int) -> dict:
    """operation name -> (callable taking a session or None, requests per round, kept alive?)"""
    ops = {
        "save_new": (app.save, per_round, False),
        "save_keepalive": (app.save, per_round, True),
        "item": (lambda s: app.item(), per_round, False),
        "list_page": (lambda s: app.list_page(), per_round, False),
        "json_export": (lambda s: app.json_export(), max(1, per_round // 4), False),
        "login_new": (app.login_page, per_round, False),
        "login_keepalive": (app.login_page, per_round, True),
    }
    if isinstance(app, LabelStudio):
        ops["update_new"] = (app.update, per_round, False)
        ops["update_keepalive"] = (app.update, per_round, True)
    return ops


def measure_round(app: App, per_round: int, out: dict) -> None:
    import requests

    for name, (fn, n, keep_alive) in operations(app, per_round).items():
        session = requests.Session() if keep_alive else None
        if session is not None:
            fn(session)  # open the connection outside the timing
        for _ in range(n):
            t0 = time.perf_counter()
            fn(session)
            out.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
        if session is not None:
            session.close()


def ratios(figures: dict) -> dict:
    hp, ls = figures["headpose"], figures["label_studio"]
    out = {}
    for name in hp:
        theirs = ls[name]["p50_ms"]
        if name.startswith("save"):  # Label Studio's faster way to save: submit or update
            theirs = min(theirs, ls["update" + name[len("save") :]]["p50_ms"])
        out[name] = round(theirs / hp[name]["p50_ms"], 1)
    return out


# --- HeadPose data ------------------------------------------------------------------


def headpose_data(n_items: int):
    from django.contrib.auth.models import Group, User

    from annotator.accounts.tokens import create_token
    from annotator.labeling.services import save_annotation
    from annotator.models import Assignment, Face, Role
    from tests.browser.data import make_dataset

    user = User.objects.create_superuser("bench", USER, PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=Role.ADMIN)[0])
    dataset = make_dataset("bench-vs-label-studio", n_faces=n_items)
    Assignment.objects.create(dataset=dataset, user=user, role=Role.ANNOTATOR)
    annotations = [
        save_annotation(face=face, author=user, R=IDENTITY, t=[0.0, 0.0, 600.0], status="accepted", expected_version=0)
        for face in Face.objects.filter(image__dataset=dataset).order_by("pk")
    ]
    return dataset.pk, annotations, create_token(user=user, name="bench")[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--venv", type=Path, default=Path(tempfile.gettempdir()) / f"headpose-bench-label-studio-{LS_VERSION}"
    )
    ap.add_argument("--ls-database", default="hp_ls_bench")
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=20)
    args = ap.parse_args(argv)
    if args.items < 100:
        ap.error("--items must be at least 100 (a list page is 100 rows)")

    server = postgres_server()
    exe = ensure_label_studio(args.venv)
    workdir = Path(tempfile.mkdtemp(prefix="headpose-bench-vs-ls-"))
    ls_token = secrets.token_hex(20)
    recreate_database(server, args.ls_database)
    try:
        with django_test_db("vs_label_studio", allowed_hosts="127.0.0.1"):
            from tests.servers import server_env, web_server

            dataset_id, annotations, hp_key = headpose_data(args.items)
            env = server_env(DEBUG="0", SECRET_KEY="bench-" + secrets.token_hex(32))
            with (
                web_server("runserver", workdir / "headpose.log", env) as hp_base,
                label_studio(exe, server, args.ls_database, ls_token, workdir) as ls_base,
            ):
                apps = [HeadPose(hp_base, hp_key, dataset_id, annotations), LabelStudio(ls_base, ls_token, args.items)]
                for app in apps:  # warm-up: imports, caches, first connections
                    measure_round(app, 2, {})
                samples = {app.name: {} for app in apps}
                load = []
                for _ in range(args.rounds):
                    for app in apps:
                        measure_round(app, args.per_round, samples[app.name])
                    load.append(round(os.getloadavg()[0], 2))
    finally:
        recreate_database(server, args.ls_database, drop_only=True)

    figures = {name: {op: latency_summary(ms, digits=2) for op, ms in ops.items()} for name, ops in samples.items()}
    print_json(
        {
            "benchmark": "headpose_vs_label_studio",
            "label_studio": LS_VERSION,
            "server": "runserver (DEBUG off)",
            "database": "postgresql",
            "items": args.items,
            "rounds": args.rounds,
            "per_round": args.per_round,
            "cpus": os.cpu_count(),
            "load_average_1min_per_round": load,
            "figures": figures,
            "label_studio_p50_over_headpose_p50": ratios(figures),
        }
    )


if __name__ == "__main__":
    main()
