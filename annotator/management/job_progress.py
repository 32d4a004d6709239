"""Follow a Job's progress with a bar until it finishes (commands)."""
import sys
import time

from tqdm import tqdm

from annotator.models import Job


def follow(job: Job, desc: str, quiet: bool = False, poll_s: float = 0.5) -> Job:
    bar = tqdm(total=job.total, unit="image", desc=desc, file=sys.stderr, disable=quiet)
    while True:
        job.refresh_from_db()
        bar.total, bar.n = job.total, job.processed
        bar.set_postfix(errors=len(job.errors))
        bar.refresh()
        if job.is_finished:
            bar.close()
            return job
        time.sleep(poll_s)
