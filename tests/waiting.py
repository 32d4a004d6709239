"""Waiting for a worker process to have done something."""

import time


def wait_for(predicate, seconds=180, why=lambda: ""):
    """Poll `predicate` until it is true; on timeout fail with `why()`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out: {why()}")
