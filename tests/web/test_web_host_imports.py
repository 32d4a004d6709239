"""A web-only host installs requirements/web.txt: no torch, onnxruntime,
mediapipe. So the web process must never import them (nor OpenCV, except the
leaderboard's drill-down drawing) at startup or while serving pages and the API."""

import json
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from tests.browser.data import add_proposal, make_dataset
from tests.conftest import REPO_ROOT
from tests.servers import server_env

HEAVY = ("torch", "onnxruntime", "mediapipe", "cv2")
NOT_ON_A_WEB_HOST = {
    "torch",
    "onnxruntime",
    "mediapipe",
    "jax",
    "jaxlib",
    "pytest",
    "playwright",
    "schemathesis",
    "hypothesis",
    "trimesh",
    "scikit-image",
}

# Runs in a fresh interpreter: a meta-path finder refuses the heavy modules, then
# the WSGI application is loaded and pages / API calls are served through Django's
# test client. Prints {path: status} and the heavy modules that got imported.
SCRIPT = r"""
import importlib.abc, json, sys
HEAVY = set(sys.argv[1].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(f"{name} is not installed on a web host")
sys.meta_path.insert(0, Refuse())
import config.wsgi  # noqa: F401  (what gunicorn loads)
from django.test import Client
from annotator.models import Dataset, Face
ds = Dataset.objects.get(name="webhost")
face = Face.objects.filter(image__dataset=ds).order_by("pk").first()
client = Client()
statuses = {"/accounts/login/": client.get("/accounts/login/").status_code}
statuses["login"] = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-long"}).status_code
for path in ["/", f"/datasets/{ds.name}/", f"/faces/{face.pk}/", f"/label/datasets/{ds.name}/",
             f"/label/faces/{face.pk}/", "/benchmarks/", "/account/tokens/", "/admin/", "/admin/annotator/job/",
             "/api/v1/me/", "/api/v1/datasets/", f"/api/v1/faces/?dataset={ds.pk}",
             f"/api/v1/annotations/?dataset={ds.pk}", f"/api/v1/proposals/?dataset={ds.pk}", "/api/v1/schema/",
             f"/api/v1/datasets/{ds.pk}/export/?format=csv&labels=proposals",
             f"/api/v1/datasets/{ds.pk}/export/?format=aflw2000_mat&labels=proposals",
             f"/api/label/faces/{face.pk}/"]:
    statuses[path] = client.get(path).status_code
save = client.post("/api/v1/annotations/", {"face": face.pk, "R": [1, 0, 0, 0, 1, 0, 0, 0, 1], "t": [0, 0, 600],
                                            "status": "accepted", "expected_version": 0}, content_type="application/json")
statuses["POST /api/v1/annotations/"] = save.status_code
print(json.dumps({"statuses": statuses, "heavy": sorted({m.split(".")[0] for m in sys.modules} & HEAVY)}))
"""


@pytest.mark.django_db(transaction=True)
def test_web_process_serves_without_heavy_libraries(django_user_model, real_password_hasher):
    django_user_model.objects.create_superuser("alice", "a@example.com", "pw-alice-long")
    dataset = make_dataset("webhost", n_faces=2, with_files=True)
    for face in dataset.images.first().faces.all():
        add_proposal(face, "landmarks-fit")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(HEAVY)],
        cwd=REPO_ROOT,
        env=server_env(ALLOWED_HOSTS="testserver"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    statuses = report["statuses"]
    assert statuses.pop("login") == 302
    assert statuses.pop("POST /api/v1/annotations/") == 201
    assert statuses == dict.fromkeys(statuses, 200), statuses


def _pins(path) -> dict[str, str]:
    names = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            names[re.sub(r"[-_.]+", "-", req.name).lower()] = str(req.specifier)
    return names


def test_web_requirements_name_no_heavy_package_and_are_complete():
    web = _pins(REPO_ROOT / "requirements" / "web.txt")
    assert not NOT_ON_A_WEB_HOST & set(web)
    assert all(spec.startswith("==") for spec in web.values())  # pinned
    # complete: every dependency of a pinned package is pinned too, so the file installs alone
    missing = set()
    for name in web:
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            applies = req.marker is None or req.marker.evaluate({"extra": ""})
            if applies and re.sub(r"[-_.]+", "-", req.name).lower() not in web:
                missing.add(f"{name} -> {req.name}")
    assert not missing


def test_requirements_layers_add_up():
    text = {name: (REPO_ROOT / "requirements" / f"{name}.txt").read_text() for name in ("worker", "dev")}
    assert "-r web.txt" in text["worker"] and "-r worker.txt" in text["dev"]
    assert "-r requirements/dev.txt" in (REPO_ROOT / "requirements.txt").read_text()
    worker = _pins(REPO_ROOT / "requirements" / "worker.txt")
    assert {"torch", "onnxruntime", "trimesh"} <= set(worker)
    assert "mediapipe" in _pins(REPO_ROOT / "requirements" / "mediapipe.txt")
