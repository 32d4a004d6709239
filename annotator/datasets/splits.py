"""Benchmark splits of a dataset: named, versioned, with their recipe recorded.

Building a split whose contents did not change keeps the current version; a
change (more images imported, a new seed) makes the next version."""

from django.db import transaction

from annotator.common import pipeline
from annotator.datasets.models import Dataset, Image, Split
from annotator.labeling.models import AnnotationOrigin
from workers.core import geometry
from workers.core.formats import biwi
from workers.core.formats import splits as recipes

BIWI_P2_SEED = 0


def save_split(dataset: Dataset, name: str, names: list[str], definition: dict) -> Split:
    names = sorted(names)
    with transaction.atomic():
        current = Split.objects.filter(dataset=dataset, name=name).order_by("-version").first()
        if current is not None and current.sample_names == names and current.definition == definition:
            return current
        split = Split.objects.create(
            dataset=dataset,
            name=name,
            version=(current.version + 1) if current else 1,
            definition=definition,
            sample_names=names,
        )
        split.images.set(Image.objects.filter(dataset=dataset, file_name__in=names))
    return split


def custom_split(dataset: Dataset, name: str, names: list[str]) -> Split:
    known = set(Image.objects.filter(dataset=dataset).values_list("file_name", flat=True))
    chosen = recipes.custom_split(sorted(known), names).test
    return save_split(dataset, name, chosen, {"rule": "custom list of file names", "count": len(chosen)})


def _ground_truth_euler(dataset: Dataset):
    rows = list(
        Image.objects.filter(dataset=dataset, faces__annotations__origin=AnnotationOrigin.GROUND_TRUTH)
        .values_list("file_name", "faces__annotations__R")
        .order_by("file_name")
    )
    names = [name for name, _ in rows]
    euler = geometry.matrix_to_euler([[r[0:3], r[3:6], r[6:9]] for _, r in rows]) if rows else []
    return names, euler


def _biwi_p2(dataset: Dataset, names: list[str]) -> list[Split]:
    """70/30 by sequence for original-layout frames; for FSA-Net's preprocessed
    files, their own BIWI_train.npz / BIWI_test.npz division."""
    frames = [n for n in names if biwi.frame_key(n)]
    if len({biwi.sequence_of(n) for n in frames}) >= 2:
        by_sequence = recipes.biwi_p2([biwi.sequence_of(n) for n in frames], seed=BIWI_P2_SEED)
        train, test = recipes.frames_by_sequence(frames, by_sequence, biwi.sequence_of)
        definition = {
            "rule": "BIWI protocol 2: 70/30 by sequence",
            "seed": by_sequence.seed,
            "train_sequences": by_sequence.train,
            "test_sequences": by_sequence.test,
        }
    else:
        train = [n for n in names if "train" in n.split("#")[0].lower()]
        test = [n for n in names if "test" in n.split("#")[0].lower()]
        if not train or not test:
            return []
        definition = {"rule": "BIWI protocol 2 as preprocessed by FSA-Net (BIWI_train.npz / BIWI_test.npz)"}
    return [save_split(dataset, "p2-train", train, definition), save_split(dataset, "p2-test", test, definition)]


def build_standard_splits(dataset: Dataset) -> list[Split]:
    all_names = list(Image.objects.filter(dataset=dataset).values_list("file_name", flat=True))
    if not all_names:
        return []
    made = [save_split(dataset, "all", all_names, {"rule": "all images"})]
    if dataset.kind == Dataset.Kind.AFLW2000:
        names, euler = _ground_truth_euler(dataset)
        kept = recipes.aflw2000_p1(names, euler).test if names else []
        rule = f"AFLW2000 protocol 1: drop a sample if any |angle| > {recipes.P1_MAX_ABS_DEG:g} deg"
        made.append(save_split(dataset, "p1", kept, {"rule": rule}))
    elif dataset.kind == Dataset.Kind.BIWI:
        made.append(save_split(dataset, "p1", all_names, {"rule": "BIWI protocol 1: all frames"}))
        made += _biwi_p2(dataset, all_names)
    return made


@pipeline.step("import_finished", "splits")
def _standard_splits(outcome: pipeline.ImportOutcome) -> None:
    if not outcome.failed:
        build_standard_splits(outcome.dataset)
