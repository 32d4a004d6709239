"""BIWI split definitions at full scale: the 13,219-frame protocol-1 list."""

import pytest

from annotator.datasets.splits import build_standard_splits
from annotator.models import Dataset, Image
from tests.conftest import require_shared
from workers.core.formats.biwi import read_protocol1_list, sequence_of

pytestmark = pytest.mark.django_db


def test_the_protocol1_list_builds_p1_and_p2_at_full_scale():
    names, _ = read_protocol1_list(require_shared("data", "biwi", "protocol1_annotations.txt"))
    assert len(names) == 13219
    ds = Dataset.objects.create(name="biwi", kind="biwi")
    Image.objects.bulk_create(
        Image(
            dataset=ds,
            file=f"x/{n}",
            file_name=n,
            width=640,
            height=480,
            size_bytes=1,
            checksum=f"{i:064d}",
            K=[517.679, 0, 320, 0, 517.679, 240.5, 0, 0, 1],
        )
        for i, n in enumerate(names)
    )
    splits = {s.name: s for s in build_standard_splits(ds)}
    assert len(splits["p1"].sample_names) == 13219
    train, test = splits["p2-train"], splits["p2-test"]
    sequences = sorted({sequence_of(n) for n in names})
    assert len(sequences) == 24
    assert len(train.definition["train_sequences"]) == 16 and len(train.definition["test_sequences"]) == 8
    assert {sequence_of(n) for n in test.sample_names} == set(train.definition["test_sequences"])
    assert len(train.sample_names) + len(test.sample_names) == 13219
    # same data, same seed: rebuilding keeps the versions
    again = {s.name: s for s in build_standard_splits(ds)}
    assert again["p2-test"].pk == test.pk and again["p2-test"].version == 1
