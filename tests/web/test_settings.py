import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def _import_settings(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['ENGINE'])"],
        cwd=REPO_ROOT,
        env=base,
        capture_output=True,
        text=True,
    )


def test_secret_key_is_required_in_production():
    result = _import_settings(HEADPOSE_ENV="production", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_sqlite_is_the_default_database(tmp_path):
    env = {"DEBUG": "1", "HEADPOSE_DATA_DIR": str(tmp_path)}
    env_no_db = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env_no_db.update(env)
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['NAME'])"],
        cwd=REPO_ROOT,
        env=env_no_db,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "headpose.sqlite3")
    assert list(tmp_path.iterdir()) == []  # importing settings created nothing


# --- modes: a fresh shell works (development), production refuses unsafe settings --

STRONG_KEY = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _manage(*args, **env):
    """manage.py in a fresh shell: only the variables given (and PATH)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        timeout=300,
    )


def _production_env(**extra):
    # check --deploy opens no connection: any PostgreSQL URL will do
    return {
        "HEADPOSE_ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "headpose.example.org",
        "DATABASE_URL": "postgres://headpose@127.0.0.1:5432/headpose",
        **extra,
    }


def test_a_fresh_shell_checks_and_migrates_in_development_mode(tmp_path):
    data = tmp_path / "data"  # does not exist yet: made on demand
    checked = _manage("check", HEADPOSE_DATA_DIR=str(data))
    assert checked.returncode == 0, checked.stderr
    assert "DEVELOPMENT MODE - not for production" in checked.stderr
    migrated = _manage("migrate", "--noinput", HEADPOSE_DATA_DIR=str(data))
    assert migrated.returncode == 0, migrated.stderr
    assert (data / "headpose.sqlite3").stat().st_size > 0


def test_development_keeps_one_generated_key_private_in_the_data_dir(tmp_path):
    sign = (
        "import django; django.setup(); from django.core import signing; "
        "print(signing.Signer(salt='t').sign('x')); from django.conf import settings; print(settings.DEBUG)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HEADPOSE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    runs = [
        subprocess.run([sys.executable, "-c", sign], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_text().strip()) >= 50
    assert runs[0].stdout == runs[1].stdout  # the second process signed with the same kept key
    assert runs[0].stdout.split()[1] == "True"  # development: DEBUG on


def test_production_refuses_unsafe_settings_listing_every_problem():
    result = _import_settings(
        HEADPOSE_ENV="production", DEBUG="1", SECRET_KEY="short", ALLOWED_HOSTS="", DATABASE_URL="sqlite:///x.sqlite3"
    )
    assert result.returncode != 0
    for problem in ("DEBUG is on", "SECRET_KEY is weak", "ALLOWED_HOSTS is empty", "DATABASE_URL is SQLite"):
        assert problem in result.stderr, result.stderr[-2000:]


def test_production_refuses_a_generated_looking_django_key():
    result = _import_settings(
        HEADPOSE_ENV="production",
        SECRET_KEY="django-insecure-" + STRONG_KEY,
        ALLOWED_HOSTS="h.example.org",
        DATABASE_URL="postgres://u@127.0.0.1/x",
    )
    assert result.returncode != 0 and "SECRET_KEY is weak" in result.stderr


def test_an_unknown_mode_is_refused():
    result = _import_settings(HEADPOSE_ENV="prod", SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0 and "HEADPOSE_ENV must be one of development, production" in result.stderr


def test_production_passes_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DEVELOPMENT MODE" not in result.stderr


def test_production_https_settings_come_from_the_environment():
    show = (
        "import config.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
        " s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, s.DEBUG)"
    )

    def settings_of(**env):
        r = subprocess.run(
            [sys.executable, "-c", show],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), **env},
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    prod = {
        "HEADPOSE_ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "h.example.org",
        "DATABASE_URL": "postgres://u@127.0.0.1/x",
    }
    assert settings_of(**prod) == "True True True 31536000 True True None [] False"
    assert settings_of(
        **prod,
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_PRELOAD="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        CSRF_TRUSTED_ORIGINS="https://h.example.org",
    ) == ("True True False 600 True False ('HTTP_X_FORWARDED_PROTO', 'https') ['https://h.example.org'] False")
    # development: plain HTTP on localhost
    assert settings_of(SECRET_KEY=STRONG_KEY) == "False False False 0 False False None [] True"


# --- media storage: HEADPOSE_STORAGE (config/storage.py) --------------------------


def test_s3_storage_is_selected_by_the_environment_and_refuses_a_proxy_file_mode():
    s3 = {"HEADPOSE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; o = s.STORAGES['default']; "
            "print(o['BACKEND'], o['OPTIONS']['bucket_name'], o['OPTIONS']['endpoint_url'])",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **s3},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["storages.backends.s3.S3Storage", "media", "http://127.0.0.1:9"]
    refused = _import_settings(**s3, HEADPOSE_FILE_SERVING="x-sendfile")
    assert refused.returncode != 0 and "presigned URL" in refused.stderr
    assert "AWS_STORAGE_BUCKET_NAME" in _import_settings(HEADPOSE_STORAGE="s3").stderr


def test_a_depth_limit_under_the_safe_depth_is_refused():
    """A head turned away from the camera could never be stored under it
    (workers/core/pose_rules.py: 204 mm, the head's radius plus the clearance)."""
    result = _import_settings(HEADPOSE_MAX_DEPTH_MM="200")
    assert result.returncode != 0 and "HEADPOSE_MAX_DEPTH_MM=200 is under 204 mm" in result.stderr
    assert _import_settings(HEADPOSE_MAX_DEPTH_MM="204").returncode == 0
