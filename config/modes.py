"""The two modes settings run in.

development (the default, HEADPOSE_ENV unset): works in a fresh shell. DEBUG is
on and, unless SECRET_KEY is given, a random key is generated on first use and
kept in the data folder (mode 0600), so sessions survive restarts and the web
server and the workers sign alike. `manage.py check` says loudly that this is
not for production.

production (HEADPOSE_ENV=production): nothing is generated or assumed. Settings
that are unsafe on a public server refuse to start, all listed at once."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

MODES = ("development", "production")
SECRET_KEY_FILE_NAME = "secret_key"
# Django's own bar for a strong key (security.W009).
MIN_KEY_LENGTH, MIN_KEY_UNIQUE_CHARS = 50, 5


def mode_from(value: str | None) -> str:
    mode = (value or "development").strip().lower()
    if mode not in MODES:
        raise ImproperlyConfigured(f"HEADPOSE_ENV must be one of {', '.join(MODES)}, not {value!r}.")
    return mode


def stored_secret_key(data_dir: Path) -> str:
    """The key kept in data_dir/secret_key, made (0600) on first use.

    Several processes start at once (web server, its autoreloader, workers): the
    key is written to a private temporary file and linked into place, so the
    first one wins and the others read its key, never a half-written one."""
    path = Path(data_dir) / SECRET_KEY_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mkstemp files are 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(64))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


def lazy_stored_secret_key(data_dir: Path):
    # Evaluated when something first signs (a session, a message): importing
    # settings and commands that sign nothing (check, migrate) write no file.
    return lazy(stored_secret_key, str)(data_dir)


def is_weak_key(key: str) -> bool:
    return len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_UNIQUE_CHARS or key.startswith("django-insecure-")


def production_problems(
    *,
    debug: bool,
    secret_key: str | None,
    allowed_hosts: list[str],
    database_engine: str,
) -> list[str]:
    problems = []
    if debug:
        problems.append("DEBUG is on: it shows settings and code to anyone who causes an error. Unset DEBUG.")
    if not secret_key:
        problems.append(
            "SECRET_KEY must be set (or SECRET_KEY_FILE): e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    elif is_weak_key(secret_key):
        problems.append(
            f"SECRET_KEY is weak: use at least {MIN_KEY_LENGTH} random characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS is empty: name the host names the site answers to (comma-separated).")
    if database_engine.endswith("sqlite3"):
        problems.append(
            "DATABASE_URL is SQLite, which the web server and the Celery workers cannot write "
            "concurrently: set DATABASE_URL to PostgreSQL (postgres://user:password@host:5432/name)."
        )
    return problems


def refuse_unsafe_production(problems: list[str]) -> None:
    if problems:
        raise ImproperlyConfigured(
            "HEADPOSE_ENV=production refuses to start:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def proxy_ssl_header(value: str | None) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` (or `X-Forwarded-Proto: https`) -> Django's
    SECURE_PROXY_SSL_HEADER ("HTTP_X_FORWARDED_PROTO", "https")."""
    if not value or not value.strip():
        return None
    name, _, expected = value.partition(":")
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must be a header name like X-Forwarded-Proto, not {value!r}."
        )
    return "HTTP_" + name.upper().replace("-", "_"), expected.strip() or "https"
