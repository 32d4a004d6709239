"""Following a Job or an Entry from a management command: a progress bar on
stderr until the workers finish it (the lifecycle itself is annotator/common/jobs.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

from annotator.common.jobs import is_finished


class ProgressBar:
    """A tqdm bar on stderr showing a Job's or an Entry's progress."""

    def __init__(
        self, desc: str, *, unit: str = "item", quiet: bool = False, postfix: Callable[[object], dict] | None = None
    ):
        self.bar = tqdm(total=0, unit=unit, desc=desc, file=sys.stderr, disable=quiet)
        self.postfix = postfix or (lambda obj: {"errors": len(getattr(obj, "errors", []))})

    def show(self, obj) -> None:
        self.bar.total, self.bar.n = obj.total, obj.processed
        self.bar.set_postfix(**self.postfix(obj))
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def follow(obj, bar: ProgressBar, poll_s: float = 0.5):
    """Show `obj`'s progress until it finishes (the workers run it); returns it, refreshed."""
    try:
        while True:
            obj.refresh_from_db()
            bar.show(obj)
            if is_finished(obj):
                return obj
            time.sleep(poll_s)
    finally:
        bar.close()
