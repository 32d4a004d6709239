"""Run the editor's JS PnP solver (static/js/editor/pnp.js) from Python through
node (bench/pnp_stdio.mjs): one long-lived process, one JSON line per call.
Used by the CI test that holds it against cv2.solvePnP and by
bench/bench_landmark_drags.py, so both measure the code the page runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

DRIVER = Path(__file__).resolve().parent / "pnp_stdio.mjs"


class NodeSolverError(RuntimeError):
    pass


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def pose(R, t) -> dict:
    return {"R": np.asarray(R, dtype=float).reshape(9).tolist(), "t": np.asarray(t, dtype=float).reshape(3).tolist()}


class NodeSolver:
    def __init__(self, node: str | None = None):
        node = node or shutil.which("node")
        if node is None:
            raise NodeSolverError("node is not installed (the editor's solver runs in node here)")
        self.proc = subprocess.Popen(
            [node, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def call(self, op: str, **args) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **_plain(args)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise NodeSolverError(f"the node solver exited (code {self.proc.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise NodeSolverError(answer["error"])
        return answer

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
