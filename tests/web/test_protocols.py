"""evaluation/protocols.py: each benchmark protocol described once, as data,
and the seeded benchmarks made from exactly that description."""

import pytest

from annotator.datasets.splits import build_standard_splits
from annotator.models import Annotation, Dataset, Face, Image
from evaluation.models import Benchmark, CropRule, ErrorDefinition
from evaluation.protocols import AFLW2000_P1, PROTOCOLS, protocols_for
from evaluation.seeding import ensure_seed_benchmarks
from workers.core import geometry
from workers.core.formats.splits import P1_MAX_ABS_DEG

pytestmark = pytest.mark.django_db


def test_every_protocol_is_complete_and_frozen():
    assert set(PROTOCOLS) == {"aflw2000-p1", "biwi-p1", "biwi-p2"}
    assert [p.split for p in protocols_for(Dataset.Kind.BIWI)] == ["p1", "p2-test"]
    for p in PROTOCOLS.values():
        assert p.crop in CropRule.values and p.error_definition in ErrorDefinition.values
        assert p.published and p.published_note and p.description
        assert all(r.mae_mean > 0 for r in p.published)
    assert AFLW2000_P1.max_abs_angle == P1_MAX_ABS_DEG == 99.0
    with pytest.raises(AttributeError):
        AFLW2000_P1.crop = "detector"


def _aflw_dataset(euler_by_name: dict) -> Dataset:
    ds = Dataset.objects.create(name="aflw", kind=Dataset.Kind.AFLW2000)
    for k, (name, euler) in enumerate(euler_by_name.items()):
        image = Image.objects.create(
            dataset=ds,
            file=f"x/{name}",
            file_name=name,
            width=450,
            height=450,
            size_bytes=1,
            checksum=f"{k:064d}",
            K=[4500, 0, 224.5, 0, 4500, 224.5, 0, 0, 1],
        )
        face = Face.objects.create(image=image, index=0, box=[100, 100, 300, 300])
        Annotation.objects.create(
            face=face,
            dataset=ds,
            origin="ground_truth",
            status="ground_truth",
            R=geometry.euler_to_matrix(euler).reshape(9).tolist(),
            t=[0, 0, 900],
        )
    return ds


def test_the_seeded_benchmark_is_the_protocol_and_shares_the_splits_angle_filter():
    euler = {"a.jpg": [10, 20, 30], "b.jpg": [0, 0, 98.5], "c.jpg": [0, 0, 99.5], "d.jpg": [0, 0, -120]}
    ds = _aflw_dataset(euler)
    split = {s.name: s for s in build_standard_splits(ds)}["p1"]
    (benchmark,) = ensure_seed_benchmarks(ds)
    assert split.sample_names == benchmark.sample_names == ["a.jpg", "b.jpg"]
    p = AFLW2000_P1
    assert (benchmark.name, benchmark.title, benchmark.split) == ("aflw-p1", "AFLW2000-3D protocol 1 (aflw)", split)
    assert (benchmark.max_abs_angle, benchmark.crop, benchmark.error_definition) == (
        p.max_abs_angle,
        p.crop,
        p.error_definition,
    )
    assert benchmark.description == p.description and benchmark.reference_note == p.published_note
    assert benchmark.reference_results == [r.as_dict() for r in p.published] and benchmark.is_seed
    assert benchmark.reference_results[0] == {
        "method": "HopeNet",
        "mae_yaw": 6.47,
        "mae_pitch": 6.56,
        "mae_roll": 5.44,
        "mae_mean": 6.16,
    }
    # seeding again changes nothing
    assert ensure_seed_benchmarks(ds) == [benchmark] and Benchmark.objects.count() == 1


def test_the_benchmark_filter_drops_what_the_split_would():
    """A benchmark made over the unfiltered `all` split with the protocol's
    filter keeps the same samples as the p1 split recipe."""
    from evaluation.benchmarks import save_benchmark

    ds = _aflw_dataset({"a.jpg": [5, -5, 0], "b.jpg": [0, 0, 99.5], "c.jpg": [0, 0, 98.5]})
    splits = {s.name: s for s in build_standard_splits(ds)}
    b = save_benchmark(
        name="aflw-all", dataset=ds, split=splits["all"], title="t", max_abs_angle=AFLW2000_P1.max_abs_angle
    )
    assert b.sample_names == splits["p1"].sample_names == ["a.jpg", "c.jpg"]
    assert b.excluded == {"an |angle| over 99 deg": 1}
