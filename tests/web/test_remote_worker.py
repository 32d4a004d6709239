"""A worker on another host: its own network namespace (a veth pair to this one)
and its own mount namespace, where the web host's data folder (MEDIA_ROOT
included) and the dataset folder are empty read-only tmpfs mounts. It shares
only the database, the broker and the media bucket (moto's S3 server), reached
over the veth pair, and runs import -> propose -> mesh -> export.

PostgreSQL and Redis listen on 127.0.0.1 only: small forwarders of the test's
(tests/forwarder.py) listen on this side's veth address. Namespaces need root
(or CAP_SYS_ADMIN and CAP_NET_ADMIN); where they are refused the test skips
and says why. It needs PostgreSQL (CI runs it there) and skips on SQLite."""

import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse

from annotator.models import Dataset, FaceMesh, Image, Job, Proposal
from tests.conftest import REPO_ROOT
from tests.forwarder import tcp_forwarder
from tests.s3_server import s3_server, storages_setting, stored_keys
from tests.servers import server_env, stop
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    # the other host reaches the database over the network: the embedded SQLite file has no network
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="a worker on another host needs a database server (DATABASE_URL=postgres://...)",
    ),
]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _skip_or_fail(message: str):
    """Outside CI a machine without namespaces skips; CI (root, iproute2) must run it."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def network_namespace():
    """A fresh network namespace joined to this one by a veth pair; yields
    (namespace, this side's address, the namespace's address)."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"):
        _skip_or_fail("network and mount namespaces need root, iproute2 and unshare")
    tag = f"hp{os.getpid() % 100000}"
    ns, outer, inner = f"{tag}ns", f"{tag}a", f"{tag}b"
    octet = os.getpid() % 250 + 1
    here, there = f"10.213.{octet}.1", f"10.213.{octet}.2"
    try:
        _ip("netns", "add", ns)
    except subprocess.CalledProcessError as exc:
        _skip_or_fail(f"ip netns add refused here: {exc.stderr.strip()}")
    try:
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", ns)
        _ip("addr", "add", f"{here}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("-n", ns, "addr", "add", f"{there}/30", "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        yield ns, here, there
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _via(url: str, host: str, port: int) -> str:
    """`url` with its host and port replaced (user, path and query kept)."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}:{port}" if auth else f"{host}:{port}"))


@contextmanager
def remote_worker(log: Path, ns: str, env: dict, hidden: list[Path]):
    """A Celery worker on every queue, run in `ns` inside a private mount
    namespace where each of `hidden` is an empty read-only tmpfs."""
    mounts = " && ".join(f'mount -t tmpfs -o ro,size=1m hidden "${i + 1}"' for i in range(len(hidden)))
    script = (
        f'{mounts} && cd "${len(hidden) + 1}" && exec "${len(hidden) + 2}" -m celery -A workers worker '
        f"-Q default,gpu,cpu -P solo -n remote-{os.getpid()}@%h --without-gossip --without-mingle "
        f"--without-heartbeat -l INFO"
    )
    cmd = [
        "ip",
        "netns",
        "exec",
        ns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        *map(str, hidden),
        str(REPO_ROOT),
        sys.executable,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: b"ready." in log.read_bytes() or proc.poll() is not None,
            seconds=120,
            why=lambda: log.read_text()[-3000:],
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        yield proc
    finally:
        stop(proc)


@contextmanager
def local_workers_paused():
    """Workers of this test session (the shared worker fixture) stop taking
    tasks, so only the remote worker can run them; they resume afterwards."""
    from workers.celery import app

    names = [name for reply in app.control.ping(timeout=1.0) for name in reply]
    queues = ("default", "gpu", "cpu")
    for queue in queues:
        if names:
            app.control.cancel_consumer(queue, destination=names, reply=True, timeout=5)
    try:
        yield
    finally:
        for queue in queues:
            if names:
                app.control.add_consumer(queue, destination=names, reply=True, timeout=5)


def test_a_worker_without_the_web_hosts_files_runs_import_propose_mesh_export(
    tmp_path, settings, aflw_samples_dir, admin_client, admin_user
):
    with ExitStack() as stack:
        ns, here, _there = stack.enter_context(network_namespace())
        stack.enter_context(local_workers_paused())
        s3_env = stack.enter_context(s3_server(tmp_path / "moto.log", host=here))
        settings.STORAGES = storages_setting(s3_env)  # this process is the web host

        env = server_env(**s3_env, HEADPOSE_AUTO_PROPOSE=1, HEADPOSE_AUTO_MESH=1, HEADPOSE_PROPOSER="landmarks-fit")
        forwarded = {}
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL"):
            target = urlsplit(env[name])
            key = (target.hostname, target.port or {"redis": 6379, "postgres": 5432}[target.scheme])
            if key not in forwarded:
                forwarded[key] = stack.enter_context(tcp_forwarder(here, key))
            env[name] = _via(env[name], here, forwarded[key])
        media = Path(django_settings.MEDIA_ROOT)
        media_before = sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []
        data_dir = Path(os.environ["HEADPOSE_DATA_DIR"])
        assert Path(django_settings.MEDIA_ROOT).is_relative_to(data_dir)
        hidden = [data_dir, aflw_samples_dir]
        stack.enter_context(remote_worker(tmp_path / "worker.log", ns, env, hidden))

        # The web host queues an import of a folder only it can see.
        call_command("import_aflw2000", str(aflw_samples_dir), dataset="remote", queue=True, verbosity=0)
        imported = Job.objects.get(kind=Job.Kind.IMPORT_AFLW2000)
        assert (imported.state, imported.succeeded, imported.errors) == ("done", 10, [])
        dataset = Dataset.objects.get(name="remote")
        faces = 10
        why = lambda: (tmp_path / "worker.log").read_text()[-3000:]  # noqa: E731
        wait_for(lambda: Job.objects.filter(kind=Job.Kind.PROPOSE, state="done").exists(), seconds=300, why=why)
        assert Proposal.objects.filter(face__image__dataset=dataset, proposer="landmarks-fit").count() == faces
        wait_for(
            lambda: FaceMesh.objects.filter(face__image__dataset=dataset, state="done").count() == faces,
            seconds=300,
            why=why,
        )

        response = admin_client.post(
            reverse("api-exports"),
            {"dataset": dataset.pk, "format": "json", "labels": "proposals", "proposer": "landmarks-fit"},
            content_type="application/json",
        )
        assert response.status_code == 202, response.content[:500]
        export = Job.objects.get(pk=response.json()["id"])
        wait_for(lambda: Job.objects.get(pk=export.pk).is_finished, seconds=120, why=why)
        export.refresh_from_db()
        assert export.state == "done", export.errors

        download = admin_client.get(reverse("api-export-download", args=[export.pk]))
        assert download.status_code == 302
        exported = json.loads(requests.get(download["Location"], timeout=10).content)
        assert exported["format"] == "headpose-studio-labels"
        assert sorted(f["face_id"] for f in exported["faces"]) == sorted(
            Proposal.objects.filter(face__image__dataset=dataset).values_list("face_id", flat=True)
        )

        # Every file the worker wrote is in the bucket: images, the uploaded
        # folder, the meshes and the export; none under the web host's MEDIA_ROOT.
        keys = set(stored_keys(s3_env))
        assert {i.file.name for i in Image.objects.filter(dataset=dataset)} <= keys
        assert {m.glb.name for m in FaceMesh.objects.filter(face__image__dataset=dataset)} <= keys
        assert imported.upload.name in keys and export.result_file.name in keys
        assert (sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []) == media_before
