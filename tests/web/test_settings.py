import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def _import_settings(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['ENGINE'])"],
        cwd=REPO_ROOT, env=base, capture_output=True, text=True,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = _import_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_sqlite_is_the_default_database(tmp_path):
    env = {"DEBUG": "1", "HEADPOSE_DATA_DIR": str(tmp_path)}
    env_no_db = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env_no_db.update(env)
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['NAME'])"],
        cwd=REPO_ROOT, env=env_no_db, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "headpose.sqlite3")
    assert list(tmp_path.iterdir()) == []  # importing settings created nothing
