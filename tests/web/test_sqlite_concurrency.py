"""The embedded default holds concurrent workers (issue 24 item 9): on SQLite,
several real processes (what `make run`'s web server and its two-process Celery
worker are) write the test database at once and none fails with "database is
locked". Each transaction reads, then writes: in SQLite's default (deferred)
mode the second of two such transactions cannot upgrade its read lock and fails
at once, whatever the busy timeout; the settings begin every transaction
IMMEDIATE (the write lock first), wait up to 20 s for it and run in WAL mode
(config/settings.py).

It runs on its own SQLite file whatever the test database is, so CI (on
PostgreSQL) checks the embedded default too."""

import sqlite3
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.servers import server_env

PROCESSES, WRITES = 4, 25

# One writer: waits for the start signal, then WRITES transactions that each read
# the shared counter, hold it a moment and write it back, and insert a row of its own.
WRITER = f"""
import os, time
from datetime import timedelta
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print("journal_mode", cursor.fetchone()[0], flush=True)
while not os.path.exists(os.environ["START_FILE"]):
    time.sleep(0.01)
me = os.environ["WRITER"]
for i in range({WRITES}):
    with transaction.atomic():
        counter = Session.objects.get(session_key="counter")
        time.sleep(0.005)
        counter.session_data = str(int(counter.session_data) + 1)
        counter.save()
        Session.objects.create(session_key=f"w{{me}}-{{i}}", session_data=me,
                               expire_date=timezone.now() + timedelta(days=1))
print("done", me, flush=True)
"""


def test_parallel_worker_processes_write_without_a_locked_database(tmp_path):
    database = tmp_path / "embedded.sqlite3"
    url = f"sqlite:///{database}"
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "sessions", "--no-input", "-v", "0"],
        cwd=REPO_ROOT,
        env=server_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO django_session VALUES ('counter', '0', '2100-01-01 00:00:00')")
    start = tmp_path / "start"
    procs = []
    for k in range(PROCESSES):
        env = server_env(DATABASE_URL=url, START_FILE=start, WRITER=k)
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "shell", "--no-imports", "-c", WRITER],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    # every process has started Django and connected (or died) before the writing starts together
    ready = [p.stdout.readline() for p in procs]
    assert all(line.split() == ["journal_mode", "wal"] for line in ready), ready
    start.touch()
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    for k, (p, out) in enumerate(zip(procs, outputs)):
        assert p.returncode == 0 and "database is locked" not in out, out[-3000:]
        assert f"done {k}" in out
    # no lost update: the read-modify-write transactions ran one after another
    with sqlite3.connect(database) as db:
        counter = db.execute("SELECT session_data FROM django_session WHERE session_key = 'counter'").fetchone()
        written = db.execute("SELECT count(*) FROM django_session WHERE session_key LIKE 'w%'").fetchone()
    assert counter == (str(PROCESSES * WRITES),)
    assert written == (PROCESSES * WRITES,)
