"""Leaderboard figures on a throw-away database (PostgreSQL when DATABASE_URL names it).

- metrics for 13,219 predictions (BIWI protocol 1 from ../shared, else synthetic):
  metrics.evaluate alone; evaluate_file (parse + ground truth from the DB +
  evaluate); create_upload_entry (the same + storing the entry)
- server time of the leaderboard page with 50 entries of that size, and of one
  entry page (13,219-point scatter), through Django's test client

Prints one JSON object. Usage: .venv/bin/python bench/bench_leaderboard.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import median_min_s, print_json, shared_dir, timings
from bench._django import django_test_db


def timed(fn, repeats):
    return median_min_s(timings(fn, repeats))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--entries", type=int, default=50)
    args = ap.parse_args()
    with django_test_db("leaderboard") as connection:
        import numpy as np
        from django.contrib.auth.models import Group, User
        from django.test import Client
        from django.urls import reverse

        from annotator.datasets.splits import build_standard_splits
        from annotator.models import Annotation, Dataset, Face, Image
        from evaluation import seeding, uploads
        from evaluation.models import Benchmark, Entry
        from workers.core import geometry
        from workers.core.metrics import evaluate

        path = shared_dir() / "data" / "biwi" / "protocol1_annotations.txt"
        if path.exists():
            from workers.core.formats.biwi import read_protocol1_list

            names, euler = read_protocol1_list(path)
            ground_truth = "biwi_protocol1"
        else:
            rng = np.random.default_rng(0)
            euler = rng.uniform([-75, -60, -45], [75, 60, 45], (13219, 3))
            names = [f"{1 + k // 600:02d}/frame_{k:05d}_rgb.png" for k in range(len(euler))]
            ground_truth = "synthetic"
        K = [517.679, 0, 320, 0, 517.679, 240.5, 0, 0, 1]
        ds = Dataset.objects.create(name="biwi", kind="biwi", is_public=True)
        images = Image.objects.bulk_create(
            (
                Image(
                    dataset=ds,
                    file=f"x/{n}",
                    file_name=n,
                    width=640,
                    height=480,
                    size_bytes=1,
                    checksum=f"{i:064d}",
                    K=K,
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
                Annotation(face=f, dataset=ds, origin="ground_truth", status="ground_truth", R=r.reshape(9).tolist())
                for f, r in zip(faces, R)
            ),
            batch_size=2000,
        )
        build_standard_splits(ds)
        seeding.ensure_seed_benchmarks(ds)
        bench = Benchmark.objects.get(name="biwi-p1")

        rng = np.random.default_rng(1)
        pred = euler + rng.normal(0, 3, euler.shape)
        csv = (
            "id,yaw,pitch,roll\n" + "".join(f"{n},{y:.5f},{p:.5f},{r:.5f}\n" for n, (y, p, r) in zip(names, pred))
        ).encode()
        Rp = geometry.euler_to_matrix(pred)
        out = {"database": connection.vendor, "ground_truth": ground_truth, "samples": len(names)}
        out["metrics_evaluate_only"] = timed(lambda: evaluate(Rp, R, per_sample=True), args.repeats)
        out["metrics_evaluate_file"] = timed(lambda: uploads.evaluate_file(bench, csv, "p.csv"), args.repeats)
        user = User.objects.create_user("r", password="x")
        user.groups.add(Group.objects.get_or_create(name="researcher")[0])
        out["metrics_upload_entry_stored"] = timed(
            lambda: uploads.create_upload_entry(
                benchmark=bench, data=csv, filename="p.csv", user=user, name="p", is_public=True
            ),
            args.repeats,
        )
        # fill the board to N entries of full size by cloning a stored one
        template = Entry.objects.filter(benchmark=bench).first()
        have = Entry.objects.filter(benchmark=bench).count()
        clones = []
        for k in range(max(args.entries - have, 0)):
            e = Entry.objects.get(pk=template.pk)
            e.pk = None
            e.name = f"model-{k:02d}"
            e.mae_mean = float(template.mae_mean + rng.uniform(-1, 1))
            clones.append(e)
        Entry.objects.bulk_create(clones)
        client = Client()
        client.force_login(user)
        url = reverse("leaderboard", args=[bench.pk])
        assert client.get(url).status_code == 200
        n_rows = client.get(url).content.count(b'href="/benchmarks/entries/')
        out["leaderboard_entries"] = Entry.objects.filter(benchmark=bench).count()
        out["leaderboard_rows_rendered"] = n_rows
        out["leaderboard_page"] = timed(lambda: client.get(url), max(args.repeats, 10))
        entry_url = reverse("entry_detail", args=[template.pk])
        out["entry_page_13219_points"] = timed(lambda: client.get(entry_url), args.repeats)
        out["entry_page_bytes"] = len(client.get(entry_url).content)
        api = reverse("api_benchmark_entries", args=[bench.pk])
        out["api_entries_list"] = timed(lambda: client.get(api), args.repeats)
    print_json(out)


if __name__ == "__main__":
    main()
