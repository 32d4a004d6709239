"""BIWI benchmarks at full scale: the 13,219-frame protocol-1 list as ground
truth (image rows without files), a perturbed copy as predictions, through the
CLI and the upload endpoint; the expected errors are computed here from the
angles in the text file, not by the code under test."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotator.datasets.splits import build_standard_splits
from annotator.models import Annotation, Dataset, Face, Image
from evaluation.models import Benchmark, Entry
from evaluation.seeding import ensure_seed_benchmarks
from tests.conftest import require_shared, rows_for_module
from workers.core import geometry
from workers.core.formats.biwi import read_protocol1_list

pytestmark = pytest.mark.django_db

K = [517.679, 0, 320, 0, 517.679, 240.5, 0, 0, 1]


@pytest.fixture(scope="module")
def biwi_rows(django_db_setup, django_db_blocker):
    """13,219 frames with their labels, splits and benchmarks: built once for the module."""
    yield from rows_for_module(django_db_blocker, _build_biwi)


@pytest.fixture
def biwi(biwi_rows, db):
    return biwi_rows


def _build_biwi():
    names, euler = read_protocol1_list(require_shared("data", "biwi", "protocol1_annotations.txt"))
    ds = Dataset.objects.create(name="biwi", kind="biwi")
    images = Image.objects.bulk_create(
        (
            Image(
                dataset=ds, file=f"x/{n}", file_name=n, width=640, height=480, size_bytes=1, checksum=f"{i:064d}", K=K
            )
            for i, n in enumerate(names)
        ),
        batch_size=2000,
    )
    faces = Face.objects.bulk_create(
        (Face(image=im, index=0, box=[200, 100, 440, 380]) for im in images), batch_size=2000
    )
    R = geometry.euler_to_matrix(euler)
    Annotation.objects.bulk_create(
        (
            Annotation(
                face=f, dataset=ds, origin="ground_truth", status="ground_truth", R=r.reshape(9).tolist(), t=None
            )
            for f, r in zip(faces, R)
        ),
        batch_size=2000,
    )
    build_standard_splits(ds)
    ensure_seed_benchmarks(ds)
    return dict(zip(names, euler))


def _perturbed(gt, seed=1, sigma=3.0):
    rng = np.random.default_rng(seed)
    names = list(gt)
    pred = np.array([gt[n] for n in names]) + rng.normal(0, sigma, (len(names), 3))
    return names, pred


def _csv(names, pred) -> bytes:
    return (
        "id,yaw,pitch,roll\n" + "".join(f"{n},{y:.6f},{p:.6f},{r:.6f}\n" for n, (y, p, r) in zip(names, pred))
    ).encode()


def test_biwi_p1_full_scale_through_the_cli(biwi, tmp_path):
    b = Benchmark.objects.get(name="biwi-p1")
    assert len(b.sample_names) == 13219 and b.crop == "fsanet" and b.max_abs_angle is None
    assert max(abs(e[0]) for e in biwi.values()) < 90  # so the decomposition returns the file's own angles
    names, pred = _perturbed(biwi)
    path = tmp_path / "pred.csv"
    path.write_bytes(_csv(names, pred))
    out = io.StringIO()
    call_command("evaluate", benchmark="biwi-p1", predictions=str(path), json=True, stdout=out)
    m = json.loads(out.getvalue())
    gt = np.array([biwi[n] for n in names])
    err = np.abs(np.round(pred, 6) - gt)
    assert m["count"] == 13219 and m["coverage"]["missing"] == 0
    for k, a in enumerate(("yaw", "pitch", "roll")):
        assert m[f"mae_{a}"] == pytest.approx(err[:, k].mean(), abs=1e-5)
    assert m["mae_mean"] == pytest.approx(err.mean(), abs=1e-5)
    # independent geodesic: angle of R_pred^T R_gt from its trace
    Rp, Rg = geometry.euler_to_matrix(np.round(pred, 6)), geometry.euler_to_matrix(gt)
    tr = np.einsum("nij,nij->n", Rp, Rg)
    geo = np.degrees(np.arccos(np.clip((tr - 1) / 2, -1, 1)))
    assert m["geodesic_mean"] == pytest.approx(geo.mean(), abs=1e-4)
    assert m["geodesic_median"] == pytest.approx(np.median(geo), abs=1e-4)
    assert m["acc_10"] == pytest.approx(np.mean(geo <= 10), abs=1e-9)
    assert m["mae_mean_wrapped"] <= m["mae_mean_plain"] + 1e-9


def test_biwi_p2_test_through_the_upload_endpoint(biwi, client, carol):
    b = Benchmark.objects.get(name="biwi-p2-test")
    Dataset.objects.filter(pk=b.dataset_id).update(is_public=True)  # researchers: readable datasets only
    split_names = set(b.split.sample_names)
    assert set(b.sample_names) == split_names and 0 < len(split_names) < 13219
    names, pred = _perturbed({n: biwi[n] for n in b.sample_names}, seed=2, sigma=5.0)
    client.force_login(carol)
    f = io.BytesIO(_csv(names, pred))
    f.name = "p2.csv"
    r = client.post(
        reverse("api_benchmark_entries", args=[b.pk]), {"file": f, "name": "perturbed", "is_public": "true"}
    )
    assert r.status_code == 201, r.content[:1000]
    body = r.json()
    err = np.abs(np.round(pred, 6) - np.array([biwi[n] for n in names]))
    assert body["mae_mean"] == pytest.approx(err.mean(), abs=1e-5)
    assert body["coverage"] == {"matched": len(names), "expected": len(names)}
    assert body["split_version"] == b.split.version and body["protocol"]["split"] == "p2-test"
    entry = Entry.objects.get(pk=body["id"])
    assert len(entry.per_sample["geodesic"]) == len(names)
    # the page renders with 1/3 of BIWI per-sample points
    page = client.get(reverse("entry_detail", args=[entry.pk]))
    assert page.status_code == 200 and b"chart-scatter" in page.content
    # BIWI rows have no image files here: the drill-down still lists the numbers, the overlay is a clean 404
    worst = client.get(reverse("entry_worst", args=[entry.pk]) + "?n=5")
    assert worst.status_code == 200 and worst.content.count(b'class="worst-card"') == 5
    Dataset.objects.filter(name="biwi").update(is_public=True)
    assert client.get(reverse("entry_sample_overlay", args=[entry.pk, 0])).status_code == 404
