"""The AFLW2000 p1 benchmark on the 10 real samples: seeded by the import,
evaluated through the CLI, the page upload and the API, against angles read
straight from the .mat files (independent of the importer and the database)."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from django.core.management import call_command
from django.urls import reverse

from annotator.models import Dataset
from evaluation.models import Benchmark, Entry

pytestmark = pytest.mark.django_db


def _mat_angles(folder: Path) -> dict[str, np.ndarray]:
    """image file name -> [yaw, pitch, roll] degrees, from Pose_Para [pitch, yaw, roll] radians."""
    out = {}
    for mat in sorted(folder.glob("*.mat")):
        pp = scipy.io.loadmat(mat)["Pose_Para"].reshape(-1)
        out[mat.with_suffix(".jpg").name] = np.rad2deg([pp[1], pp[0], pp[2]])
    return out


@pytest.fixture
def aflw(aflw_samples_dir):
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    return _mat_angles(aflw_samples_dir)


def _csv(rows) -> bytes:
    lines = ["id,yaw,pitch,roll"] + [f"{n},{y:.6f},{p:.6f},{r:.6f}" for n, (y, p, r) in rows]
    return ("\n".join(lines) + "\n").encode()


def test_the_import_seeds_aflw2000_p1_once(aflw, aflw_samples_dir):
    b = Benchmark.objects.get(name="aflw-p1")
    assert (b.version, b.crop, b.error_definition, b.max_abs_angle) == (1, "hopenet", "plain", 99.0)
    kept = sorted(n for n, e in aflw.items() if np.all(np.abs(e) <= 99))
    assert b.sample_names == kept and len(kept) >= 9
    assert b.split.name == "p1"
    assert {r["method"] for r in b.reference_results} >= {"HopeNet", "6DRepNet"}
    call_command("import_aflw2000", str(aflw_samples_dir), dataset="aflw", verbosity=0)
    assert Benchmark.objects.filter(name="aflw-p1").count() == 1  # idempotent


def test_cli_metrics_match_a_known_perturbation(aflw, tmp_path):
    names = Benchmark.objects.get(name="aflw-p1").sample_names
    # +3 deg of yaw only: R' = Rx(-p) Ry(y+3) Rz(r), so the relative rotation is 3 deg
    # (Rz(r)^T Ry(3) Rz(r)); plain yaw error 3, pitch and roll 0.
    rows = [(n, aflw[n] + [3.0, 0, 0]) for n in names]
    path = tmp_path / "pred.csv"
    path.write_bytes(_csv(rows))
    out = io.StringIO()
    call_command("evaluate", benchmark="aflw-p1", predictions=str(path), json=True, stdout=out)
    m = json.loads(out.getvalue())
    assert m["count"] == len(names) and m["coverage"]["fraction"] == 1.0
    assert m["mae_yaw"] == pytest.approx(3.0, abs=1e-4)
    assert m["mae_pitch"] == pytest.approx(0.0, abs=1e-4) and m["mae_roll"] == pytest.approx(0.0, abs=1e-4)
    assert m["mae_mean"] == pytest.approx(1.0, abs=1e-4)
    assert m["geodesic_mean"] == pytest.approx(3.0, abs=1e-4) and m["geodesic_median"] == pytest.approx(3.0, abs=1e-4)
    assert m["acc_5"] == 1.0 and m["acc_euler_5"] == 1.0
    assert m["protocol"]["split_version"] == 1 and m["protocol"]["benchmark_version"] == 1
    bins = {b["label"]: b["count"] for b in m["yaw_bins"]}
    expected_bins = np.histogram(np.abs([aflw[n][0] for n in names]), [0, 30, 60, 90, 1e9])[0]
    assert list(bins.values()) == expected_bins.tolist()


def test_upload_through_the_page_then_charts_and_drill_down(aflw, client, carol):
    from annotator.models import Dataset

    Dataset.objects.filter(name="aflw").update(is_public=True)
    client.force_login(carol)
    b = Benchmark.objects.get(name="aflw-p1")
    rng = np.random.default_rng(0)
    rows = [(n, aflw[n] + rng.normal(0, 4, 3)) for n in b.sample_names[:-1]]  # one sample left out
    upload = io.BytesIO(_csv(rows))
    upload.name = "noisy.csv"
    r = client.post(
        reverse("leaderboard_upload", args=[b.pk]),
        {"file": upload, "name": "noisy", "crop_used": "hopenet", "is_public": "on"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    entry = Entry.objects.get(name="noisy")
    assert (entry.matched, entry.expected) == (len(b.sample_names) - 1, len(b.sample_names))
    assert entry.is_partial and entry.missing_sample == [b.sample_names[-1]]
    # independent plain errors (all |yaw| < 90 here, so the decomposition returns the .mat angles)
    err = np.abs(np.array([e for _, e in rows]) - np.array([aflw[n] for n, _ in rows]))
    assert entry.mae_yaw == pytest.approx(err[:, 0].mean(), abs=1e-4)
    assert entry.mae_mean == pytest.approx(err.mean(), abs=1e-4)

    page = client.get(reverse("entry_detail", args=[entry.pk])).content.decode()
    assert "Partial coverage" in page and "vendor/plotly/plotly.min.js" in page and 'id="chart-data"' in page
    board = client.get(reverse("leaderboard", args=[b.pk])).content.decode()
    assert "noisy" in board and "Published, not computed here" in board and "6DRepNet" in board
    worst = client.get(reverse("entry_worst", args=[entry.pk])).content.decode()
    k_worst = int(np.argmax(entry.per_sample["geodesic"]))
    assert reverse("entry_sample_overlay", args=[entry.pk, k_worst]) in worst
    img = client.get(reverse("entry_sample_overlay", args=[entry.pk, k_worst]))
    assert img.status_code == 200 and img["Content-Type"] == "image/jpeg"
    import cv2

    decoded = cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (450, 450)  # the native image size, not a thumbnail


def test_api_upload_with_a_token(aflw, carol):
    from rest_framework.test import APIClient

    from annotator.accounts.tokens import create_token

    b = Benchmark.objects.get(name="aflw-p1")
    Dataset.objects.filter(pk=b.dataset_id).update(is_public=True)  # researchers: readable datasets only
    _, key = create_token(user=carol, name="upload")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    from workers.core import geometry

    doc = [{"id": n, "R": geometry.euler_to_matrix(aflw[n]).tolist()} for n in b.sample_names]
    f = io.BytesIO(json.dumps(doc).encode())
    f.name = "exact.json"
    r = api.post(reverse("api_benchmark_entries", args=[b.pk]), {"file": f, "name": "exact"}, format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["mae_mean"] == pytest.approx(0.0, abs=1e-6) and body["metrics"]["geodesic_mean"] < 1e-4
    assert body["benchmark_version"] == 1 and body["split_version"] == 1 and not body["is_public"]
    listing = api.get(reverse("api_benchmark_entries", args=[b.pk])).json()
    assert [e["name"] for e in listing] == ["exact"]
