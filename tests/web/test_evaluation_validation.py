"""Every way a prediction file can be wrong, through the upload API, the page
and the CLI: a 4xx (or a non-zero exit) that names the problem, never a 500,
and nothing stored. Runs on a small synthetic benchmark (no ../shared needed)."""

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.datasets.splits import save_split
from annotator.models import Annotation, Dataset, Face, Image
from evaluation import benchmarks
from evaluation.models import Entry
from workers.core import geometry

pytestmark = pytest.mark.django_db

K = [500.0, 0, 319.5, 0, 500.0, 239.5, 0, 0, 1]


def make_benchmark(n=12, seed=0, name="synth"):
    """A dataset of n image rows (no files) with ground truth, a split, a benchmark."""
    rng = np.random.default_rng(seed)
    euler = rng.uniform([-80, -50, -40], [80, 50, 40], (n, 3))
    ds = Dataset.objects.create(name=name, kind="images", is_public=True)
    names = [f"img{k:03d}.jpg" for k in range(n)]
    images = Image.objects.bulk_create(
        Image(
            dataset=ds,
            file=f"x/{nm}",
            file_name=nm,
            width=640,
            height=480,
            size_bytes=1,
            checksum=f"{name}{k:0{64 - len(name)}d}",
            K=K,
        )
        for k, nm in enumerate(names)
    )
    faces = Face.objects.bulk_create(Face(image=im, index=0, box=[200, 120, 440, 360]) for im in images)
    R = geometry.euler_to_matrix(euler)
    Annotation.objects.bulk_create(
        Annotation(
            face=f, dataset=ds, origin="ground_truth", status="ground_truth", R=r.reshape(9).tolist(), t=[0, 0, 600]
        )
        for f, r in zip(faces, R)
    )
    split = save_split(ds, "test", names, {"rule": "all"})
    b = benchmarks.save_benchmark(name=f"{name}-test", dataset=ds, split=split, title="Synthetic", crop="detector")
    return b, dict(zip(names, euler))


def _csv(header, rows):
    return (header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n").encode()


def _good_rows(gt):
    return [(n, *np.round(e + 1.0, 4)) for n, e in gt.items()]


CASES = {
    "unknown id": (
        lambda gt: _csv("id,yaw,pitch,roll", _good_rows(gt) + [("nope.jpg", 1, 2, 3)]),
        "unknown id 'nope.jpg'",
    ),
    "duplicate id": (lambda gt: _csv("id,yaw,pitch,roll", _good_rows(gt) + [_good_rows(gt)[0]]), "duplicate id"),
    "NaN": (
        lambda gt: _csv("id,yaw,pitch,roll", [("img000.jpg", "nan", 1, 2)] + _good_rows(gt)[1:]),
        "NaN or infinite",
    ),
    "inf": (
        lambda gt: _csv("id,yaw,pitch,roll", [("img000.jpg", 1, "inf", 2)] + _good_rows(gt)[1:]),
        "NaN or infinite",
    ),
    "out of range": (
        lambda gt: _csv("id,yaw,pitch,roll", [("img000.jpg", 270, 1, 2)] + _good_rows(gt)[1:]),
        "out of range",
    ),
    "wrong columns": (lambda gt: _csv("id,a,b,c", _good_rows(gt)), "missing pose columns"),
    "no id column": (lambda gt: _csv("name,yaw,pitch,roll", _good_rows(gt)), "missing id column"),
    "missing roll": (lambda gt: _csv("id,yaw,pitch", [r[:3] for r in _good_rows(gt)]), "missing column(s) roll"),
    "not a number": (lambda gt: _csv("id,yaw,pitch,roll", [("img000.jpg", "abc", 1, 2)]), "is not a number"),
    "no id matches": (lambda gt: _csv("id,yaw,pitch,roll", [("zzz.jpg", 1, 2, 3)]), "none of the 1 ids match"),
    "empty": (lambda gt: b"", "file is empty"),
    "binary": (lambda gt: b"\xff\xfe\x00\x01garbage", "not UTF-8"),
    "bad json": (lambda gt: b'[{"id": "img000.jpg", "yaw": 1,', "invalid JSON"),
    "not a rotation": (
        lambda gt: json.dumps([{"id": "img000.jpg", "R": [1, 0, 0, 0, 1, 0, 0, 0, 2]}]).encode(),
        "R is not a rotation",
    ),
}


@pytest.fixture
def bench():
    return make_benchmark()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_files_are_refused_by_the_api_with_the_problem(case, bench, client, carol):
    b, gt = bench
    make, message = CASES[case]
    client.force_login(carol)
    f = io.BytesIO(make(gt))
    f.name = "pred.json" if case in ("bad json", "not a rotation") else "pred.csv"
    r = client.post(reverse("api_benchmark_entries", args=[b.pk]), {"file": f, "name": "x"})
    assert r.status_code == 400, (case, r.status_code, r.content[:500])
    body = r.json()
    assert message in body["detail"], body
    assert body["problems"] and body["problem_count"] >= len(body["problems"])
    assert not Entry.objects.exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_files_make_the_cli_exit_non_zero_with_the_reason(case, bench, tmp_path):
    b, gt = bench
    make, message = CASES[case]
    path = tmp_path / ("pred.json" if case in ("bad json", "not a rotation") else "pred.csv")
    path.write_bytes(make(gt))
    with pytest.raises(CommandError, match="prediction file rejected") as caught:
        call_command("evaluate", benchmark=b.name, predictions=str(path), json=True, stdout=io.StringIO())
    assert message in str(caught.value)


def test_bad_file_through_the_page_lists_the_problems(bench, client, carol):
    b, _gt = bench
    client.force_login(carol)
    f = io.BytesIO(
        _csv("id,yaw,pitch,roll", [("a.jpg", 1, 2, 3), ("img001.jpg", "nan", 0, 0), ("img002.jpg", 1, 2, 3)])
    )
    f.name = "pred.csv"
    r = client.post(reverse("leaderboard_upload", args=[b.pk]), {"file": f, "name": "x", "crop_used": "detector"})
    assert r.status_code == 400
    page = r.content.decode()
    assert "unknown id &#x27;a.jpg&#x27;" in page and "NaN or infinite" in page
    assert not Entry.objects.exists()


def test_api_request_errors_are_400s(bench, client, carol):
    b, _ = bench
    client.force_login(carol)
    r = client.post(reverse("api_benchmark_entries", args=[b.pk]), {"name": "no file"})
    assert r.status_code == 400 and "file" in r.json()["detail"]
    f = io.BytesIO(b"id,yaw,pitch,roll\nimg000.jpg,1,2,3\n")
    f.name = "p.csv"
    r = client.post(reverse("api_benchmark_entries", args=[b.pk]), {"file": f, "crop_used": "banana"})
    assert r.status_code == 400 and "crop_used" in r.json()["detail"]


def test_cli_refuses_an_unknown_benchmark_and_a_missing_file(bench, tmp_path):
    b, _ = bench
    with pytest.raises(CommandError, match="no benchmark 'nope'; known: synth-test"):
        call_command("evaluate", benchmark="nope", predictions=str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("evaluate", benchmark=b.name, predictions=str(tmp_path / "x.csv"))


def test_partial_coverage_is_reported_not_silently_averaged(bench, tmp_path):
    b, gt = bench
    rows = _good_rows(gt)[:9]  # 9 of 12
    path = tmp_path / "p.csv"
    path.write_bytes(_csv("id,yaw,pitch,roll", rows))
    out = io.StringIO()
    call_command("evaluate", benchmark=b.name, predictions=str(path), json=True, stdout=out)
    m = json.loads(out.getvalue())
    assert m["count"] == 9 and m["coverage"] == {"matched": 9, "expected": 12, "missing": 3, "fraction": 0.75}
    assert any("partial coverage" in w for w in m["warnings"])
    assert m["missing_ids_sample"] == ["img009.jpg", "img010.jpg", "img011.jpg"]
    err = np.abs(np.array([r[1:] for r in rows], float) - np.array([gt[r[0]] for r in rows]))
    assert m["mae_mean"] == pytest.approx(err.mean(), abs=1e-6)


def test_unknown_ids_may_be_ignored_on_request(bench, tmp_path):
    b, gt = bench
    path = tmp_path / "p.csv"
    path.write_bytes(_csv("id,yaw,pitch,roll", _good_rows(gt) + [("extra.jpg", 1, 2, 3)]))
    out = io.StringIO()
    call_command("evaluate", benchmark=b.name, predictions=str(path), json=True, allow_unknown_ids=True, stdout=out)
    m = json.loads(out.getvalue())
    assert m["count"] == 12 and any("not in the benchmark were ignored" in w for w in m["warnings"])


# ---- bounded and tolerant parsing, through every channel -------------------------


def _good_text(gt, header="id,yaw,pitch,roll", newline="\n", name=lambda n: n):
    return header + newline + newline.join(",".join(str(v) for v in (name(r[0]), *r[1:])) for r in _good_rows(gt))


def _submit(channel, b, client, user, data: bytes, filename: str, tmp_path):
    """(ok, message) of one prediction file sent through the API, the page or the CLI."""
    if channel == "cli":
        path = tmp_path / filename
        path.write_bytes(data)
        out = io.StringIO()
        try:
            call_command("evaluate", benchmark=b.name, predictions=str(path), json=True, save=True, stdout=out)
        except CommandError as exc:
            return False, str(exc)
        return True, out.getvalue()
    client.force_login(user)
    f = io.BytesIO(data)
    f.name = filename
    if channel == "api":
        r = client.post(reverse("api_benchmark_entries", args=[b.pk]), {"file": f, "name": "x"})
        assert r.status_code in (201, 400), r.content[:300]
        return r.status_code == 201, r.content.decode()
    r = client.post(reverse("leaderboard_upload", args=[b.pk]), {"file": f, "name": "x", "crop_used": "detector"})
    assert r.status_code in (302, 400), r.content[:300]
    return r.status_code == 302, r.content.decode().replace("&#x27;", "'")


REFUSED = {
    "field over 131,072 characters": (
        lambda gt: ("id,yaw,pitch,roll\nimg000.jpg," + "1" * 140_000 + ",0,0\n").encode(),
        "p.csv",
        "a field is longer than 131,072 characters (the limit)",
    ),
    "JSON 50,000 deep": (
        lambda gt: b"[" * 50_000 + b"]" * 50_000,
        "p.json",
        "JSON nested deeper than 64 levels (the limit)",
    ),
    "UTF-16 without BOM": (lambda gt: _good_text(gt).encode("utf-16-le"), "p.csv", "UTF-16 without a byte-order mark"),
    "Latin-1": (lambda gt: _good_text(gt, name=lambda n: n + "é").encode("latin-1"), "p.csv", "not UTF-8 text"),
    "over the size limit": (lambda gt: _good_text(gt).encode(), "p.csv", "the limit is 100 bytes"),
    "over the row limit": (lambda gt: _good_text(gt).encode(), "p.csv", "the limit is 5 rows"),
}


@pytest.mark.parametrize("channel", ["api", "page", "cli"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unbounded_or_undecodable_files_are_refused_naming_the_limit(
    case, channel, bench, client, carol, tmp_path, settings
):
    b, gt = bench
    make, filename, message = REFUSED[case]
    if case == "over the size limit":
        settings.HEADPOSE_MAX_PREDICTION_BYTES = 100
    if case == "over the row limit":
        settings.HEADPOSE_MAX_PREDICTION_ROWS = 5
    ok, text = _submit(channel, b, client, carol, make(gt), filename, tmp_path)
    assert not ok and message in text, text[:2000]
    assert not Entry.objects.exists()


ACCEPTED = {
    "CR-only lines": lambda gt: _good_text(gt, newline="\r").encode(),
    "CRLF lines": lambda gt: _good_text(gt, newline="\r\n").encode(),
    "UTF-8 BOM": lambda gt: _good_text(gt).encode("utf-8-sig"),
    "UTF-16 with BOM": lambda gt: _good_text(gt).encode("utf-16"),
    "image column with a folder": lambda gt: _good_text(
        gt, "image,yaw,pitch,roll", name=lambda n: "AFLW/" + n
    ).encode(),
    "filename column without extension": lambda gt: _good_text(
        gt, "filename,yaw,pitch,roll", name=lambda n: n[:-4]
    ).encode(),
    "file column": lambda gt: _good_text(gt, "file,yaw,pitch,roll").encode(),
}


@pytest.mark.parametrize("channel", ["api", "page", "cli"])
@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_researchers_files_are_accepted(case, channel, bench, client, carol, tmp_path):
    b, gt = bench
    ok, text = _submit(channel, b, client, carol, ACCEPTED[case](gt), "p.csv", tmp_path)
    assert ok, text[:2000]
    entry = Entry.objects.get()
    assert entry.matched == 12 and entry.mae_mean == pytest.approx(1.0, abs=1e-3)
