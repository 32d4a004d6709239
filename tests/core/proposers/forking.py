"""A call in a child forked from the test process, as a Celery prefork worker
runs it: for the fork rules of mediapipe (detection.py) and torch (faceboxes.py)."""

import multiprocessing


def _child(fn, queue):
    try:
        queue.put(("ok", fn()))
    except ValueError as exc:  # the clear errors those fork rules raise
        queue.put(("error", str(exc)))


def call_in_fork(fn, timeout: float = 60):
    """("ok", fn()) or ("error", message of its ValueError), from a forked child;
    fn's result must be picklable (it crosses a queue). Fails if the child hangs
    or dies (the abort or hang the fork rules exist to prevent)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        raise AssertionError(f"the forked child hung for {timeout} s")
    assert proc.exitcode == 0, f"the forked child ended with exit code {proc.exitcode}"
    return queue.get(timeout=5)
