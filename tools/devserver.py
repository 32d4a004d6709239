"""`make run`: migrate, demo admin and dataset, Redis, a Celery worker and the
web server on http://127.0.0.1:8000. Ctrl-C stops everything it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.redis_server import redis_answers, start_private_redis

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER, DEMO_PASSWORD = "admin", "headpose-demo"


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    (ROOT / "data").mkdir(exist_ok=True)
    started: list[subprocess.Popen] = []

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)

    try:
        url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if redis_answers(url):
            print(f"Using Redis at {url}")
        else:
            proc, url = start_private_redis()
            started.append(proc)
            print(f"Started a private Redis at {url}")
        env["REDIS_URL"] = url
        env.pop("CELERY_BROKER_URL", None)
        env.pop("CELERY_RESULT_BACKEND", None)

        manage("migrate", "--noinput", "-v", "0")
        manage("demo_setup", "--username", DEMO_USER, "--password", DEMO_PASSWORD)
        started.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers",
                    "worker",
                    "-Q",
                    "default,gpu,cpu",
                    "-c",
                    "2",
                    "-l",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        started.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"], cwd=ROOT, env=env
            )
        )
        print(f"\nHeadPose Studio: http://127.0.0.1:8000  (login {DEMO_USER} / {DEMO_PASSWORD})\nCtrl-C stops it.\n")
        while all(p.poll() is None for p in started):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(started):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(started):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
