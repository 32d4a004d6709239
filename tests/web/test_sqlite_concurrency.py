"""The embedded default holds concurrent workers (issue 24 item 9): on SQLite,
several real processes (what `make run`'s web server and its two-process Celery
worker are) write the test database at once and none fails with "database is
locked". Each transaction reads, then writes: in SQLite's default (deferred)
mode the second of two such transactions cannot upgrade its read lock and fails
at once, whatever the busy timeout; the settings begin every transaction
IMMEDIATE (the write lock first), wait up to 20 s for it and run in WAL mode
(config/settings.py)."""

import subprocess
import sys

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from tests.conftest import REPO_ROOT, _database_url
from tests.servers import server_env

pytestmark = pytest.mark.django_db(transaction=True)

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


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip(
            f"SQLite's locking only: {connection.vendor} takes row locks and never answers 'database is locked'"
        )


def test_parallel_worker_processes_write_without_a_locked_database(sqlite_only, tmp_path):
    Session.objects.create(session_key="counter", session_data="0", expire_date=timezone.now())
    start = tmp_path / "start"
    procs = []
    for k in range(PROCESSES):
        env = server_env(DATABASE_URL=_database_url(connection.settings_dict), START_FILE=start, WRITER=k)
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
    assert Session.objects.get(session_key="counter").session_data == str(PROCESSES * WRITES)
    assert Session.objects.filter(session_key__startswith="w").count() == PROCESSES * WRITES
