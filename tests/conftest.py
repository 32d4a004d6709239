"""Fixtures every test can use.

`shared_dir` is ../shared (or $HEADPOSE_SHARED_DIR): real data and weights.
A stranger's clone may lack it and then those tests skip; in CI (CI=true) they
must never silently vanish, so a missing folder fails instead.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_path() -> Path:
    return Path(os.environ.get("HEADPOSE_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()


def require_shared(*parts: str) -> Path:
    path = shared_path().joinpath(*parts)
    if not path.exists():
        message = f"needs {path} (set HEADPOSE_SHARED_DIR)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture
def aflw_samples_dir() -> Path:
    return require_shared("data", "aflw2000", "samples")


@pytest.fixture
def weights_dir() -> Path:
    return require_shared("weights")


# --- rows built once per module ------------------------------------------------


def rows_for_module(django_db_blocker, build):
    """A module-scoped fixture's body: `build()`'s rows, made once in a transaction
    rolled back when the module ends. Each test (with `db`) runs in a savepoint of
    it, so its own writes go with it and the next test sees the rows as built:
    for worlds that take seconds to build (the fuzzing world, 13,219 BIWI frames)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            rows = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield rows
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


# --- password hashing --------------------------------------------------------

FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """PBKDF2 with Django's 1,000,000 iterations costs about a second per user on
    a 2-core machine, and most tests make two or three users: the test process
    hashes with MD5. Tests whose password is checked by another process (a
    server the test started, with the production hashers) ask for
    `real_password_hasher`."""
    import django.conf
    from django.contrib.auth import hashers

    if not django.conf.settings.configured:  # a plain-Python run of tests/core
        yield
        return
    before = django.conf.settings.PASSWORD_HASHERS
    django.conf.settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()
    yield
    django.conf.settings.PASSWORD_HASHERS = before
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture
def real_password_hasher(settings):
    """The production hashers (Django's defaults), for a user who logs in to a
    server subprocess."""
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


# --- a real Celery worker process -------------------------------------------


def _database_url(settings_dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    auth = settings_dict.get("USER") or ""
    if settings_dict.get("PASSWORD"):
        auth += f":{settings_dict['PASSWORD']}"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """Starts `celery worker` as a separate process on the test database and
    the test broker, waits until it answers, and stops it afterwards.

    Tests that use it need `@pytest.mark.django_db(transaction=True)`: the
    worker only sees committed rows."""
    import subprocess
    import sys
    import time

    from django.db import connection

    from workers.celery import app

    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env["PYTHONUNBUFFERED"] = "1"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    hostname = f"tests-{os.getpid()}@%h"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers",
                "worker",
                "-Q",
                "default,gpu,cpu",
                "-P",
                "solo",
                "-n",
                hostname,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[hostname.replace("%h", os.uname().nodename)]):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- abuse limits ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget_throttle_counters():
    """The login and token throttles count failures in the Redis cache, which
    outlives a test (and the test database's rollback): every test starts with
    no failures counted (only this session's keys: CACHE_KEY_PREFIX)."""
    import django.conf

    if django.conf.settings.configured:
        from annotator.accounts import throttle

        throttle.forget_all()
    yield
