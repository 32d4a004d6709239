"""Tiny readers for settings from the environment (healthchecks style).

`NAME_FILE` may point to a file holding a secret instead of NAME itself.
"""

import os


def env(name: str, default=None):
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path) as fh:
            return fh.read().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    return str(env(name, default)).lower() in ("1", "true", "yes", "on")


def envint(name: str, default) -> int:
    return int(env(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in str(env(name, default)).split(",") if item.strip()]
