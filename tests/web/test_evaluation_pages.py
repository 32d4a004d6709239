"""Leaderboard pages and API: who sees what, hiding, sorting, publishing."""

import numpy as np
import pytest
from django.urls import reverse

from evaluation import benchmarks, uploads
from evaluation.models import Entry
from tests.web.conftest import _user
from tests.web.test_evaluation_validation import make_benchmark

pytestmark = pytest.mark.django_db


def _upload(b, gt, user, name, noise, public):
    rng = np.random.default_rng(int(noise * 10))
    rows = "".join(f"{n},{e[0] + rng.normal(0, noise):.5f},{e[1]:.5f},{e[2]:.5f}\n" for n, e in gt.items())
    return uploads.create_upload_entry(
        benchmark=b,
        data=("id,yaw,pitch,roll\n" + rows).encode(),
        filename="p.csv",
        user=user,
        name=name,
        is_public=public,
    )


@pytest.fixture
def board(alice, carol, django_user_model):
    b, gt = make_benchmark(n=30)
    dave = _user(django_user_model, "dave", "researcher")
    entries = {
        "good": _upload(b, gt, carol, "good", 1.0, True),
        "bad": _upload(b, gt, carol, "bad", 9.0, True),
        "carol-private": _upload(b, gt, carol, "carol-private", 3.0, False),
        "alice-private": _upload(b, gt, alice, "alice-private", 2.0, False),
    }
    return b, gt, entries, dave


def _names(client, b, sort=None):
    url = reverse("api_benchmark_entries", args=[b.pk])
    return [e["name"] for e in client.get(url, {"sort": sort} if sort else {}).json()]


def test_annotators_and_strangers_are_kept_out(board, client, bob):
    b, _, entries, _ = board
    assert client.get(reverse("leaderboard_index")).status_code == 302  # to the login page
    client.force_login(bob)
    for url in (
        reverse("leaderboard_index"),
        reverse("leaderboard", args=[b.pk]),
        reverse("entry_detail", args=[entries["good"].pk]),
        reverse("api_benchmarks"),
        reverse("api_benchmark_entries", args=[b.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert b"Leaderboard</a>" not in client.get(reverse("home")).content


def test_private_entries_only_for_their_owner_and_admins(board, client, alice, carol):
    b, _, entries, dave = board
    client.force_login(dave)
    assert _names(client, b) == ["good", "bad"]
    assert client.get(reverse("entry_detail", args=[entries["carol-private"].pk])).status_code == 404
    assert client.get(reverse("api_entry", args=[entries["alice-private"].pk])).status_code == 404
    client.force_login(carol)
    assert sorted(_names(client, b)) == ["bad", "carol-private", "good"]
    page = client.get(reverse("leaderboard", args=[b.pk])).content.decode()
    assert "carol-private" in page and "alice-private" not in page and 'class="tag private"' in page
    client.force_login(alice)
    assert sorted(_names(client, b)) == ["alice-private", "bad", "carol-private", "good"]


def test_admins_hide_entries_and_others_cannot(board, client, alice, carol):
    b, _, entries, dave = board
    client.force_login(dave)
    assert client.post(reverse("entry_hide", args=[entries["bad"].pk]), {"hidden": "1"}).status_code == 403
    client.force_login(alice)
    r = client.post(reverse("entry_hide", args=[entries["bad"].pk]), {"hidden": "1"})
    assert r.status_code == 302 and Entry.objects.get(pk=entries["bad"].pk).is_hidden
    assert 'class="tag hidden"' in client.get(reverse("leaderboard", args=[b.pk])).content.decode()
    client.force_login(dave)
    assert _names(client, b) == ["good"]
    assert client.get(reverse("entry_detail", args=[entries["bad"].pk])).status_code == 404


@pytest.mark.parametrize(
    "next_url, followed",
    [
        ("/benchmarks/?page=2", True),
        ("https://evil.example/", False),
        ("//evil.example/x", False),
        ("http://evil.example", False),
        ("javascript:alert(1)", False),
        ("https:///evil.example", False),
        ("/\\evil.example", False),
    ],
)
def test_hiding_follows_a_next_only_on_this_site(board, client, alice, next_url, followed):
    b, _, entries, _ = board
    client.force_login(alice)
    r = client.post(reverse("entry_hide", args=[entries["bad"].pk]), {"hidden": "1", "next": next_url})
    assert r.status_code == 302
    assert r["Location"] == (next_url if followed else reverse("leaderboard", args=[b.pk]))


def test_ranking_sorting_and_nav(board, client):
    b, _, _entries, dave = board
    client.force_login(dave)
    page = client.get(reverse("leaderboard", args=[b.pk])).content.decode()
    assert page.index(">good<") < page.index(">bad<")  # lower MAE first
    assert b"Leaderboard</a>" in client.get(reverse("home")).content
    page = client.get(reverse("leaderboard", args=[b.pk]) + "?sort=-mae_mean").content.decode()
    assert page.index(">bad<") < page.index(">good<")
    index = client.get(reverse("leaderboard_index")).content.decode()
    assert "synth-test" in index and f'href="{reverse("leaderboard", args=[b.pk])}"' in index


def test_owner_publishes_and_others_cannot(board, client, carol):
    b, _, entries, dave = board
    e = entries["carol-private"]
    client.force_login(carol)
    assert client.post(reverse("entry_publish", args=[e.pk]), {"public": "1"}).status_code == 302
    client.force_login(dave)
    assert "carol-private" in _names(client, b)
    assert client.post(reverse("entry_publish", args=[e.pk]), {"public": "0"}).status_code == 403


def test_entry_page_worst_samples_and_overlay_permissions(board, client, carol):
    from annotator.models import Dataset

    b, _gt, entries, dave = board
    e = entries["bad"]
    client.force_login(dave)
    page = client.get(reverse("entry_detail", args=[e.pk])).content.decode()
    assert "MAE mean" in page and "By ground-truth |yaw|" in page and "Cumulative error" in page
    worst = client.get(reverse("entry_worst", args=[e.pk]), {"by": "err_yaw", "n": 3}).content.decode()
    geo = np.array(Entry.objects.get(pk=e.pk).per_sample["err_yaw"])
    top = [b.sample_names[Entry.objects.get(pk=e.pk).per_sample["index"][k]] for k in np.argsort(-geo)[:3]]
    positions = [worst.index(f'<div class="file">{n}</div>') for n in top]
    assert positions == sorted(positions) and worst.count('class="worst-card"') == 3
    # once the dataset is not readable, its benchmark's entries show nothing of it (ground-truth angles included)
    Dataset.objects.filter(pk=b.dataset_id).update(is_public=False)
    for name in ("entry_detail", "entry_worst"):
        assert client.get(reverse(name, args=[e.pk])).status_code == 404, name
    assert client.get(reverse("entry_sample_overlay", args=[e.pk, 0])).status_code == 404


def test_the_benchmark_is_versioned_and_entries_keep_theirs(board):
    from annotator.datasets.splits import save_split

    b, _, entries, _ = board
    names = b.split.sample_names[:-1]
    split2 = save_split(b.dataset, "test", names, {"rule": "all but one"})
    b2 = benchmarks.save_benchmark(name=b.name, dataset=b.dataset, split=split2, title=b.title, crop=b.crop)
    assert (b2.version, split2.version) == (2, 2) and len(b2.sample_names) == 29
    assert benchmarks.save_benchmark(name=b.name, dataset=b.dataset, split=split2, title=b.title, crop=b.crop) == b2
    assert benchmarks.find_benchmark(b.name) == b2 and benchmarks.find_benchmark(f"{b.name}@1") == b
    e = Entry.objects.get(pk=entries["good"].pk)
    assert (e.benchmark_id, e.benchmark_version, e.split_version) == (b.pk, 1, 1)
    assert e.protocol["samples"] == 30
