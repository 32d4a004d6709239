"""The annotator's hour (issue 26), printed as JSON: an annotator accepts
BENCH_FACES (50) faces with the keyboard alone (A) in headless Chromium, on the
labeling page as shipped (the next face shown in place, fetched and claimed
ahead: static/js/editor/face_queue.js) and on the page-reload flow of before
(`?flow=reload`, kept as the fallback), in alternating rounds.

For each flow:
- press -> shown: from the A key's keydown (its event timeStamp) to
  `window.headposeEditor.face().shownAt` of the next face (its image decoded and
  its head drawn, a frame later), both as absolute times (performance.timeOrigin
  plus the page's clock: the reload flow's next face is another document);
  p50 / p95 / mean / max ms;
- the page's JS heap (CDP Runtime.getHeapUsage after HeapProfiler.collectGarbage)
  after 10 and after all faces, and its growth per face between the two;
- requests per face (every request the page made, by resource type);
- the 1-minute load average at the start and end of each flow's rounds;
- in place: the server's time on the save and on the next-face request
  (resource timing, requestStart -> responseStart, p50 / p95), and how often the
  next face was not yet fetched ahead when A was pressed (the press then waits
  for the server).

BENCH_THINK_MS (default 0) waits that long on each face before pressing A: 0 is
an annotator who accepts the moment the face shows (the prefetch has the least
time to work); a real annotator takes seconds.

Runs against a throw-away database created and dropped here on whatever
DATABASE_URL names (PostgreSQL for the reported figures), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_annotator_hour.py
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary, print_json
from bench._django import chromium_page, django_test_db

N_FACES = int(os.environ.get("BENCH_FACES", "50"))
THINK_MS = float(os.environ.get("BENCH_THINK_MS", "0"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))  # each flow's faces in this many alternating blocks
FLOWS = ("in_place", "reload")
IMAGE = (450, 450)  # AFLW2000's image size

# Installed in every document: the A key's keydown time, as absolute ms, kept
# across a page load (the reload flow's next face is another document).
PRESS_HOOK = """
document.addEventListener('keydown', (e) => {
  if (e.key === 'a') sessionStorage.setItem('pressedAt', String(performance.timeOrigin + e.timeStamp));
}, { capture: true });
"""
SHOWN = """() => {
  const h = window.headposeEditor;
  const f = h && h.face ? h.face() : null;
  return f && f.shownAt !== null ? { id: f.id, at: performance.timeOrigin + f.shownAt } : null;
}"""


def make_data(n_faces: int):
    from django.contrib.auth.models import Group, User

    from annotator.models import Assignment, Face, Role
    from tests.browser.data import add_proposal, make_dataset

    bob = User.objects.create_user("bench-annotator", password="x")
    bob.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    datasets = {}
    for flow in FLOWS:
        dataset = make_dataset(
            f"hour-{flow.replace('_', '-')}", n_faces=n_faces + 5, with_files=True, width=IMAGE[0], height=IMAGE[1]
        )
        Assignment.objects.create(dataset=dataset, user=bob, role=Role.ANNOTATOR)
        for n, face in enumerate(Face.objects.filter(image__dataset=dataset).order_by("pk")):
            add_proposal(face, "fused", euler=(n % 40 - 20.0, -5.0, 3.0), t=(0.0, 10.0, 900.0))
        datasets[flow] = dataset
    return bob, datasets


def heap_mb(cdp) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return round(cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20, 3)


class Run:
    """One flow: its page, its latencies, heap readings and requests."""

    def __init__(self, page, base, flow, first_face_id):
        self.page, self.flow = page, flow
        self.latencies: list[float] = []
        self.heap: dict[str, float] = {}
        self.requests: dict[str, int] = {}
        self.faces = 0
        self.waited = 0  # presses made with no face fetched ahead (in place)
        page.add_init_script(PRESS_HOOK)
        page.on("request", self.count)
        self.cdp = page.context.new_cdp_session(page)
        query = "?flow=reload" if flow == "reload" else ""
        page.goto(f"{base}/label/faces/{first_face_id}/{query}")
        self.shown = self.wait_shown(None)
        self.requests.clear()  # the first page load is not a face's

    def count(self, request):
        self.requests[request.resource_type] = self.requests.get(request.resource_type, 0) + 1

    def wait_shown(self, previous_id):
        handle = self.page.wait_for_function(
            f"(prev) => {{ const s = ({SHOWN})(); return s && s.id !== prev ? s : null; }}",
            arg=previous_id,
            timeout=60000,
        )
        return handle.json_value()

    def accept(self, n: int):
        for _ in range(n):
            if THINK_MS:
                self.page.wait_for_timeout(THINK_MS)
            self.page.locator("#pose-canvas").focus()
            if self.flow == "in_place" and not self.page.evaluate("() => window.headposeEditor.prefetched().length"):
                self.waited += 1
            self.page.keyboard.press("a")
            shown = self.wait_shown(self.shown["id"])
            pressed = self.page.evaluate("() => Number(sessionStorage.getItem('pressedAt'))")
            self.latencies.append(shown["at"] - pressed)
            self.shown = shown
            self.faces += 1
            if self.faces == 10:
                self.heap["after_10_faces_mb"] = heap_mb(self.cdp)

    def server_times(self) -> dict:
        """The in-place page's saves and next-face requests: server time from resource timing."""
        entries = self.page.evaluate(
            """() => performance.getEntriesByType('resource')
                .filter((e) => e.initiatorType === 'fetch')
                .map((e) => ({ name: e.name, ms: e.responseStart - e.requestStart }))"""
        )
        out = {}
        for kind, part in (("save", "/annotation/"), ("next", "/next/")):
            ms = [e["ms"] for e in entries if part in e["name"] and e["ms"] > 0]
            if ms:
                out[kind] = latency_summary(ms, digits=1)
        return out

    def result(self) -> dict:
        self.heap[f"after_{self.faces}_faces_mb"] = heap_mb(self.cdp)
        growth = (self.heap[f"after_{self.faces}_faces_mb"] - self.heap["after_10_faces_mb"]) / max(1, self.faces - 10)
        return {
            "press_to_shown": latency_summary(self.latencies, digits=1, with_max=True),
            "heap": {**self.heap, "growth_per_face_kb": round(growth * 1024, 1)},
            "requests_per_face": round(sum(self.requests.values()) / self.faces, 2),
            "requests_by_type": {k: round(v / self.faces, 2) for k, v in sorted(self.requests.items())},
            **({"server_ms": self.server_times(), "waited_for_next": self.waited} if self.flow == "in_place" else {}),
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    # each request closes its connection: none is left open (in a server thread) when the database is dropped
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
    with django_test_db("hour", allowed_hosts="127.0.0.1,localhost", test_environment=True) as connection:
        from annotator.labeling.queue import next_face

        bob, datasets = make_data(N_FACES)
        # the first face of each flow, asked here: the database is not touched from Playwright's callbacks
        firsts = {flow: next_face(bob, datasets[flow]).pk for flow in FLOWS}
        loads = {flow: [] for flow in FLOWS}
        out = {}
        with chromium_page(bob, nodelay=True) as (page, base):
            context = page.context
            runs = {}
            for flow in FLOWS:
                p = page if flow == FLOWS[0] else context.new_page()
                runs[flow] = Run(p, base, flow, firsts[flow])
            renderer = page.evaluate("() => window.headposeEditor.rendererInfo().renderer")
            blocks = [N_FACES // ROUNDS + (1 if r < N_FACES % ROUNDS else 0) for r in range(ROUNDS)]
            for r, n in enumerate(blocks):
                order = FLOWS if r % 2 == 0 else FLOWS[::-1]
                for flow in order:
                    loads[flow].append(os.getloadavg()[0])
                    runs[flow].page.bring_to_front()
                    runs[flow].accept(n)
                    loads[flow].append(os.getloadavg()[0])
            for flow in FLOWS:
                out[flow] = {**runs[flow].result(), "load_average_1min": [round(x, 2) for x in loads[flow]]}
            for run in runs.values():  # leave the pages while the server runs: the faces fetched ahead are given back
                run.page.goto("about:blank")
            page.wait_for_timeout(500)
        print_json(
            {
                "benchmark": "annotator's hour: accept faces by keyboard",
                "database": connection.vendor,
                "faces_per_flow": N_FACES,
                "rounds": ROUNDS,
                "think_ms": THINK_MS,
                "image": f"{IMAGE[0]}x{IMAGE[1]} PNG",
                "renderer": renderer,
                "cpu_count": os.cpu_count(),
                **out,
                "target": "in place: p50 < 150 ms, p95 < 400 ms, no heap growth per face",
            }
        )


if __name__ == "__main__":
    main()
