"""Labeling page figures, printed as JSON:

- time to interactive of the labeling page in headless Chromium (navigation
  start -> head mesh loaded, first frame drawn, editor API ready), cold and warm;
- server-side save latency (PUT /api/label/faces/<id>/annotation/ through the
  whole Django stack: session auth, DRF, validation, optimistic locking, the
  revision), p50 and p95, plus the service call alone.

With `--limits-cost` it measures only what the abuse limits cost a save: the
save's p50/p95 with everything on (as shipped), without the Content-Security-
Policy middleware (config/csp.py), and with the throttle's checks no-op'd
(annotator/accounts/throttle.py), for session-authenticated saves (the page) and
token-authenticated saves (the API), in interleaved rounds (BENCH_ROUNDS, the
order turned each round) so every configuration sees the same background load;
BENCH_SAVES saves per configuration and authentication.

Runs against a throw-away database created and dropped here on whatever
DATABASE_URL names (PostgreSQL for the reported figures), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/headpose .venv/bin/python bench/bench_labeling.py [--limits-cost]
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import latency_summary as summary
from bench._common import print_json
from bench._django import chromium_page, django_test_db

N_SAVES = int(os.environ.get("BENCH_SAVES", "300"))
N_LOADS = int(os.environ.get("BENCH_LOADS", "6"))


def make_data():
    from django.contrib.auth.models import Group, User

    from annotator.models import Assignment, Face, Role
    from tests.browser.data import add_proposal, make_dataset

    bob = User.objects.create_user("bench-annotator", password="x")
    bob.groups.add(Group.objects.get_or_create(name=Role.ANNOTATOR)[0])
    dataset = make_dataset("bench", n_faces=4, with_files=True, width=640, height=480)
    Assignment.objects.create(dataset=dataset, user=bob, role=Role.ANNOTATOR)
    faces = list(Face.objects.filter(image__dataset=dataset).order_by("pk"))
    for face in faces:
        add_proposal(face, "fused")
    return bob, faces


def timed_saves(client, face, n, version, rng, warmup=20):
    """Milliseconds of n PUTs of a random draft pose to the labeling page's save
    endpoint after `warmup` untimed ones (connection, caches); returns (ms, the
    label's version after them, the last response)."""
    from workers.core import geometry

    url = f"/api/label/faces/{face.pk}/annotation/"
    ms = []
    for i in range(n + warmup):
        R = geometry.euler_to_matrix(rng.uniform(-40, 40, 3)).reshape(-1).tolist()
        body = json.dumps(
            {"R": R, "t": [1.0, 2.0, 700.0 + i], "status": "draft", "expected_version": version, "time_spent_s": 1.0}
        )
        t0 = time.perf_counter()
        r = client.put(url, body, content_type="application/json")
        dt = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, r.content
        version = r.json()["version"]
        if i >= warmup:
            ms.append(dt)
    return ms, version, r


def bench_saves(bob, face):
    import numpy as np
    from django.test import Client

    from annotator.labeling.queue import LabelInput, save_label
    from workers.core import geometry

    client = Client()
    client.force_login(bob)
    rng = np.random.default_rng(0)
    http_ms, version, _ = timed_saves(client, face, N_SAVES, 0, rng)
    service_ms = []
    for _ in range(N_SAVES):
        R = geometry.euler_to_matrix(rng.uniform(-40, 40, 3))
        t0 = time.perf_counter()
        a = save_label(bob, face, LabelInput(R=R, t=[0, 0, 700], status="draft", expected_version=version))
        service_ms.append((time.perf_counter() - t0) * 1000)
        version = a.version
    return summary(http_ms), summary(service_ms)


def bench_page(bob, faces):
    cold, warm = None, []
    with chromium_page(bob) as (page, base):
        renderer = None
        for i in range(N_LOADS):
            page.goto(f"{base}/label/faces/{faces[i % len(faces)].pk}/")
            page.wait_for_function(
                "window.headposeEditor && window.headposeEditor.readyAt !== undefined", timeout=30000
            )
            tti = page.evaluate("() => window.headposeEditor.readyAt")
            renderer = renderer or page.evaluate("() => window.headposeEditor.rendererInfo().renderer")
            if i == 0:
                cold = tti
            else:
                warm.append(tti)
    return {
        "cold_ms": round(cold, 1),
        "warm_median_ms": round(statistics.median(warm), 1),
        "loads": N_LOADS,
        "renderer": renderer,
    }


# --- what the abuse limits cost a save (--limits-cost) ---------------------------------

N_ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
CSP_MIDDLEWARE = "config.csp.ContentSecurityPolicyMiddleware"
CONFIGS = ("shipped", "no_csp", "no_throttle")
AUTHS = ("session", "token")


@contextlib.contextmanager
def limits_config(name):
    """The settings of one configuration for the duration of a round."""
    from django.conf import settings
    from django.test import override_settings

    from annotator.accounts import throttle

    if name == "no_csp":
        with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != CSP_MIDDLEWARE]):
            yield
    elif name == "no_throttle":
        # The call sites (accounts/auth.py, accounts/views.py) look the checks up
        # on the module at each call, so patching the module reaches them.
        with (
            mock.patch.object(throttle, "token_retry_after", lambda request: 0),
            mock.patch.object(throttle, "login_retry_after", lambda request, username: 0),
        ):
            yield
    else:
        yield


def limits_client(auth, user, key):
    """A test client made inside the configuration: a client loads MIDDLEWARE on
    its first request and keeps it, so one made outside override_settings would
    keep the CSP middleware."""
    from django.test import Client

    if auth == "token":
        return Client(HTTP_AUTHORIZATION=f"Token {key}")
    client = Client()
    client.force_login(user)
    return client


def throttle_reads_per_save(user, key, faces, versions, rng):
    """Calls of throttle.retry_after (one cache read each) per save, by
    configuration and authentication: which checks run on every save."""
    from annotator.accounts import throttle

    out = {}
    for name in ("shipped", "no_throttle"):
        for auth in AUTHS:
            with limits_config(name), mock.patch.object(throttle, "retry_after", wraps=throttle.retry_after) as spy:
                _, versions[auth], _ = timed_saves(
                    limits_client(auth, user, key), faces[auth], 1, versions[auth], rng, 0
                )
            out[f"{name}_{auth}"] = spy.call_count
    return out


def checks_alone(user, key):
    """The two features timed alone, without a save around them (ms per call):
    the throttle's check of a token request (one cache read of two keys) and
    the CSP middleware around a view that returns an empty response."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from annotator.accounts import throttle
    from config.csp import ContentSecurityPolicyMiddleware

    request = RequestFactory().put("/api/label/faces/1/annotation/", HTTP_AUTHORIZATION=f"Token {key}")
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    out = {}
    for name, fn in (
        ("token_retry_after", lambda: throttle.token_retry_after(request)),
        ("csp_middleware", lambda: middleware(request)),
    ):
        fn()
        ms = []
        for _ in range(1000):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1000)
        out[name] = summary(ms, digits=4)
    return out


def cost(with_it, without):
    """What a feature costs: shipped minus the configuration without it, in ms and % of the latter."""
    out = {}
    for q in ("p50_ms", "p95_ms"):
        diff = with_it[q] - without[q]
        out[q] = round(diff, 3)
        out[q.replace("_ms", "_pct")] = round(100 * diff / without[q], 1)
    return out


def paired_cost(shipped, other):
    """The shipped round medians minus the other configuration's of the same
    rounds: their median, mean and the mean's 95% interval (normal), in ms."""
    diffs = [a - b for a, b in zip(shipped, other, strict=True)]
    mean = statistics.fmean(diffs)
    half = 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
    return {
        "median_ms": round(statistics.median(diffs), 3),
        "mean_ms": round(mean, 3),
        "mean_ci95_ms": [round(mean - half, 3), round(mean + half, 3)],
    }


def bench_limits_cost():
    import numpy as np

    from annotator.accounts.tokens import create_token

    user, faces = make_data()
    _, key = create_token(user=user, name="bench")
    by_auth = {"session": faces[0], "token": faces[1]}
    versions = dict.fromkeys(AUTHS, 0)
    rng = np.random.default_rng(0)
    reads = throttle_reads_per_save(user, key, by_auth, versions, rng)
    # one client per configuration and authentication, warmed up inside it (its
    # middleware chain is loaded then); short rounds, so drift hits all alike
    clients = {}
    for name in CONFIGS:
        with limits_config(name):
            for auth in AUTHS:
                clients[name, auth] = limits_client(auth, user, key)
                _, versions[auth], _ = timed_saves(clients[name, auth], by_auth[auth], 0, versions[auth], rng)
    per_round = max(1, N_SAVES // N_ROUNDS)
    ms = {key_: [] for key_ in clients}
    round_p50 = {key_: [] for key_ in clients}
    load = [os.getloadavg()[0]]
    for k in range(N_ROUNDS):
        for name in CONFIGS[k % 3 :] + CONFIGS[: k % 3]:  # the order turns each round
            with limits_config(name):
                for auth in AUTHS:
                    got, versions[auth], last = timed_saves(
                        clients[name, auth], by_auth[auth], per_round, versions[auth], rng, warmup=0
                    )
                    assert ("Content-Security-Policy" in last) == (name != "no_csp"), name
                    ms[name, auth] += got
                    round_p50[name, auth].append(statistics.median(got))
        load.append(os.getloadavg()[0])
    figures = {}
    for auth in AUTHS:
        configs = {name: summary(ms[name, auth]) for name in CONFIGS}
        figures[auth] = {
            "configs": configs,
            "csp_cost": cost(configs["shipped"], configs["no_csp"]),
            "throttle_cost": cost(configs["shipped"], configs["no_throttle"]),
            "csp_cost_paired_rounds": paired_cost(round_p50["shipped", auth], round_p50["no_csp", auth]),
            "throttle_cost_paired_rounds": paired_cost(round_p50["shipped", auth], round_p50["no_throttle", auth]),
        }
    return {
        "saves_per_config_and_auth": per_round * N_ROUNDS,
        "rounds": N_ROUNDS,
        "saves_per_round": per_round,
        "throttle_reads_per_save": reads,
        "alone": checks_alone(user, key),
        "saves": figures,
        "load_average_1min": {
            "start": round(load[0], 2),
            "min": round(min(load), 2),
            "max": round(max(load), 2),
            "end": round(load[-1], 2),
        },
        "load_average_end_1_5_15min": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limits-cost", action="store_true", help="only the cost of CSP and throttling to a save")
    args = ap.parse_args(argv)
    if args.limits_cost:
        # the bench's own cache keys: no other run's throttle counts (the shared
        # Redis) can refuse its token, and its sessions stay out of theirs
        os.environ.setdefault("CACHE_KEY_PREFIX", f"headpose-bench-limits-{os.getpid()}")
        with django_test_db("limits", test_environment=True) as connection:
            print_json(
                {
                    "benchmark": "labeling save: cost of CSP and throttling",
                    "database": connection.vendor,
                    "cpu_count": os.cpu_count(),
                    **bench_limits_cost(),
                }
            )
        return
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with django_test_db("labeling", allowed_hosts="127.0.0.1,localhost", test_environment=True) as connection:
        bob, faces = make_data()
        http, service = bench_saves(bob, faces[0])
        page = bench_page(bob, faces[1:])
        print_json(
            {
                "benchmark": "labeling",
                "database": connection.vendor,
                "save_http": http,
                "save_service": service,
                "page_time_to_interactive": page,
                "target": "save p50 well under 11 ms (Label Studio: 112 ms)",
                "cpu_count": os.cpu_count(),
            }
        )


if __name__ == "__main__":
    main()
