"""Reads of the evaluation app, with who-may-see-what in one place.

Researchers and admins read the leaderboards, each only the benchmarks of
datasets whose labels they read (entries show ground-truth angles). An entry is
visible to its owner and to admins; to other researchers only when public and
not hidden."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.http import Http404

from annotator.common.access import is_admin, leaderboard_dataset_ids, may_use_leaderboards
from annotator.datasets.models import Image
from annotator.datasets.selectors import visible_datasets
from evaluation.models import Benchmark, Entry

SORT_KEYS = ("mae_mean", "mae_yaw", "mae_pitch", "mae_roll", "geodesic_mean", "coverage", "created_at", "name")


# Who reads the leaderboards and who is an admin: annotator/access.py decides.
can_read = may_use_leaderboards


def require_reader(user) -> None:
    if not can_read(user):
        raise PermissionDenied("The leaderboard is for researchers and admins.")


def _entry_filter(user) -> Q:
    readable = Q(benchmark__dataset_id__in=leaderboard_dataset_ids(user))
    if is_admin(user):
        return readable
    return readable & (Q(owner=user) | Q(is_public=True, is_hidden=False))


def visible_benchmarks(user):
    return Benchmark.objects.filter(dataset_id__in=leaderboard_dataset_ids(user))


def visible_entries(user, benchmark: Benchmark | None = None):
    # the benchmark rides along for its crop rule only: its sample list can be 13k names
    qs = (
        Entry.objects.filter(_entry_filter(user))
        .select_related("owner", "benchmark")
        .defer(*Entry.HEAVY_FIELDS, "summary", "benchmark__sample_names", "benchmark__reference_results")
    )
    return qs.filter(benchmark=benchmark) if benchmark is not None else qs


def benchmarks_overview(user) -> list[Benchmark]:
    """The latest version of each benchmark, with its visible entry count and best mean MAE."""
    done = Q(entries__state=Entry.State.DONE)
    vis = Q()
    if not is_admin(user):
        vis = Q(entries__owner=user) | Q(entries__is_public=True, entries__is_hidden=False)
    qs = (
        visible_benchmarks(user)
        .select_related("dataset", "split")
        .defer("sample_names")
        .annotate(n_entries=Count("entries", filter=done & vis), best=Min("entries__mae_mean", filter=done & vis))
        .order_by("name", "-version")
    )
    latest: dict[str, Benchmark] = {}
    versions: dict[str, int] = {}
    for b in qs:
        latest.setdefault(b.name, b)
        versions[b.name] = versions.get(b.name, 0) + 1
    for b in latest.values():
        b.n_versions = versions[b.name]
    return list(latest.values())


def get_benchmark(user, pk: int) -> Benchmark:
    require_reader(user)
    b = visible_benchmarks(user).select_related("dataset", "split").filter(pk=pk).first()
    if b is None:
        raise Http404("No such benchmark.")
    return b


def benchmark_versions(user, benchmark: Benchmark):
    return (
        visible_benchmarks(user)
        .filter(name=benchmark.name)
        .only("pk", "name", "version", "created_at")
        .order_by("-version")
    )


def leaderboard(user, benchmark: Benchmark, sort: str = "mae_mean") -> list[Entry]:
    """Finished entries first by `sort` (ascending; coverage descending), then
    the unfinished ones."""
    entries = list(visible_entries(user, benchmark))
    key = sort.lstrip("-") if sort.lstrip("-") in SORT_KEYS else "mae_mean"
    reverse = sort.startswith("-")

    def value(e):
        v = e.coverage if key == "coverage" else getattr(e, key)
        return v if v is not None else float("inf")

    done = [e for e in entries if e.state == Entry.State.DONE and e.mae_mean is not None]
    rest = [e for e in entries if e not in done]
    if key == "coverage":
        reverse = not reverse
    done.sort(key=value, reverse=reverse)
    # only entries that cover every sample are ranked: an average over an easier subset is not comparable
    full = [e for e in done if not e.is_partial]
    for rank, e in enumerate(sorted(full, key=lambda e: e.mae_mean), start=1):
        e.rank = rank
    return done + sorted(rest, key=lambda e: e.created_at, reverse=True)


def get_entry(user, pk: int, *, full: bool = False) -> Entry:
    require_reader(user)
    qs = Entry.objects.select_related("benchmark__dataset", "benchmark__split", "owner")
    if not full:
        qs = qs.defer("per_sample")
    entry = qs.filter(pk=pk).first()
    if entry is None or not Entry.objects.filter(_entry_filter(user), pk=pk).exists():
        raise Http404("No such entry.")
    return entry


def can_manage(user, entry: Entry) -> bool:
    """Publish / resume: the owner and admins."""
    return is_admin(user) or (entry.owner_id is not None and entry.owner_id == user.pk)


def can_see_images(user, benchmark: Benchmark) -> bool:
    """Drill-down images and ground-truth poses follow the dataset's visibility."""
    return visible_datasets(user).filter(pk=benchmark.dataset_id).exists()


def curves_for_overlay(user, benchmark: Benchmark, limit: int = 12) -> list[dict]:
    """Cumulative error curves of the visible finished entries of a benchmark."""
    rows = (
        Entry.objects.filter(_entry_filter(user), benchmark=benchmark, state=Entry.State.DONE, mae_mean__isnull=False)
        .order_by("mae_mean")
        .only("pk", "name", "details", "matched", "expected")[:limit]
    )
    return [
        {
            "id": e.pk,
            "name": e.name,
            "coverage": e.matched / e.expected if e.expected else 0,
            "curves": e.details.get("curves", {}),
        }
        for e in rows
    ]


def sample_image(benchmark: Benchmark, name: str) -> Image | None:
    return Image.objects.filter(dataset=benchmark.dataset, file_name=name).first()


def worst_samples(entry: Entry, by: str = "geodesic", n: int = 24) -> list[dict]:
    """The n samples with the largest error `by` (geodesic or err_mean), from the
    entry's per-sample results."""
    ps = entry.per_sample or {}
    if not ps.get("index"):
        return []
    key = by if by in ("geodesic", "err_mean", "err_yaw", "err_pitch", "err_roll") else "geodesic"
    values = ps[key]
    order = sorted(range(len(values)), key=lambda k: values[k], reverse=True)[:n]
    names = entry.benchmark.sample_names
    out = []
    for k in order:
        row = {"k": k, "name": names[ps["index"][k]]}
        for field in (
            "yaw_gt",
            "pitch_gt",
            "roll_gt",
            "yaw_pred",
            "pitch_pred",
            "roll_pred",
            "err_yaw",
            "err_pitch",
            "err_roll",
            "err_mean",
            "geodesic",
        ):
            row[field] = ps[field][k]
        out.append(row)
    return out
