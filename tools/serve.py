"""`make serve`: production processes on one host, stopped together.

migrate, collectstatic (hashed + gzip names, STATIC_MANIFEST=1), then
  gunicorn     WEB_CONCURRENCY sync workers (default 2 x cores + 1) on SERVE_BIND
  celery       one worker per queue, SERVE_WORKERS="default=2,gpu=1,cpu=N"
               ("" = none: a web-only host; workers run elsewhere)
Needs SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS from the environment;
runs in production mode (HEADPOSE_ENV=production unless the environment names
another mode: HTTPS protections on, docs/CONFIGURATION.md) and DEBUG stays off. Ctrl-C or SIGTERM stops every process it started; if one of
them exits, the others are stopped too (a supervisor restarts the lot)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.redis_server import redis_answers

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 30  # gunicorn's graceful timeout; Celery lets a running task finish (acks_late re-delivers otherwise)


def web_concurrency() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)


def worker_plan(spec: str | None) -> list[tuple[str, int]]:
    """'default=2,gpu=1' -> [('default', 2), ('gpu', 1)]. The gpu queue gets one
    process by default: each would load its own models into GPU memory."""
    if spec is None:
        spec = f"default=2,gpu=1,cpu={os.cpu_count() or 1}"
    plan = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        queue, _, n = item.partition("=")
        plan.append((queue.strip(), int(n or 1)))
    return plan


def commands(env: dict) -> list[list[str]]:
    bind = env.get("SERVE_BIND", "127.0.0.1:8000")
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(web_concurrency()),
        "--timeout",
        "120",
        "--graceful-timeout",
        str(STOP_TIMEOUT_S),
        "--max-requests",
        "2000",
        "--max-requests-jitter",
        "200",
        "--access-logfile",
        "-",
    ]
    workers = [
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-Q",
            queue,
            "-c",
            str(n),
            "-n",
            f"{queue}@%h",
            "-l",
            "INFO",
        ]
        for queue, n in worker_plan(env.get("SERVE_WORKERS"))
    ]
    return [web, *workers]


def serve_env(environ) -> dict:
    """The environment every process `make serve` starts runs with."""
    env = dict(environ)
    # production unless the shell names a mode: the HTTPS protections on, unsafe settings refused
    if not env.get("HEADPOSE_ENV", "").strip():
        env["HEADPOSE_ENV"] = "production"
    # never DEBUG, whatever the shell says (and production refuses it anyway)
    env["DEBUG"] = "0"
    env["STATIC_MANIFEST"] = "1"
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def main() -> int:
    env = serve_env(os.environ)
    missing = [
        name
        for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS")
        if not (env.get(name) or env.get(f"{name}_FILE"))
    ]
    if missing:
        print(f"make serve needs {', '.join(missing)} in the environment (docs/DEPLOYMENT.md).", file=sys.stderr)
        return 2
    redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not redis_answers(redis_url):
        print(f"Redis at {redis_url} does not answer: pages work, jobs answer 503 until it does.", file=sys.stderr)

    started: list[subprocess.Popen] = []

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        for args in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
        for cmd in commands(env):
            started.append(subprocess.Popen(cmd, cwd=ROOT, env=env))
        print(
            f"HeadPose Studio on http://{env.get('SERVE_BIND', '127.0.0.1:8000')} "
            f"({web_concurrency()} web processes, workers {worker_plan(env.get('SERVE_WORKERS'))}). "
            "Ctrl-C stops it.",
            flush=True,
        )
        while all(p.poll() is None for p in started):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for p in started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S + 5
        for p in started:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
