"""Benchmarks: a split plus a protocol, versioned. Which samples a benchmark
evaluates (those with ground truth that pass its angle filter), saving a new
version when the definition changed, and finding one by name."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from annotator.datasets.models import Dataset, Split
from annotator.labeling.models import Annotation, AnnotationOrigin
from evaluation.errors import EvaluationRequestError
from evaluation.models import Benchmark, CropRule, ErrorDefinition
from workers.core import geometry
from workers.core.formats.splits import within_max_abs_angle


def ground_truth_by_name(dataset: Dataset) -> dict[str, dict]:
    """file_name -> the dataset label of the image's first labelled face:
    {'image_id', 'face_id', 'R' (9 floats), 't'}."""
    rows = (
        Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH, dataset=dataset)
        .order_by("face__image__file_name", "-face__index")
        .values_list("face__image__file_name", "face__image_id", "face_id", "R", "t")
    )
    # ordered by descending index so the lowest index wins the dict slot
    return {name: {"image_id": iid, "face_id": fid, "R": R, "t": t} for name, iid, fid, R, t in rows}


def select_samples(split: Split, gt: dict[str, dict], max_abs_angle: float | None) -> tuple[list[str], dict]:
    """The split's samples that have ground truth and pass the angle filter."""
    names = [n for n in split.sample_names if n in gt]
    excluded = {"no ground truth": len(split.sample_names) - len(names)}
    if max_abs_angle is not None and names:
        euler = geometry.matrix_to_euler(np.array([gt[n]["R"] for n in names], dtype=np.float64).reshape(-1, 3, 3))
        keep = within_max_abs_angle(euler, max_abs_angle)
        excluded[f"an |angle| over {max_abs_angle:g} deg"] = int((~keep).sum())
        names = [n for n, k in zip(names, keep) if k]
    return sorted(names), {k: v for k, v in excluded.items() if v}


def save_benchmark(
    *,
    name: str,
    dataset: Dataset,
    split: Split,
    title: str,
    max_abs_angle: float | None = None,
    crop: str = CropRule.DETECTOR,
    error_definition: str = ErrorDefinition.PLAIN,
    description: str = "",
    reference_results=None,
    reference_note: str = "",
    is_seed: bool = False,
) -> Benchmark:
    """Create a benchmark, or its next version when the split or protocol
    changed; the same definition again returns the current version."""
    if crop not in CropRule.values:
        raise EvaluationRequestError(f"unknown crop rule {crop!r}; one of {', '.join(CropRule.values)}")
    if error_definition not in ErrorDefinition.values:
        raise EvaluationRequestError(f"unknown error definition {error_definition!r}")
    names, excluded = select_samples(split, ground_truth_by_name(dataset), max_abs_angle)
    with transaction.atomic():
        current = Benchmark.objects.select_for_update().filter(name=name).order_by("-version").first()
        same = current is not None and (
            current.dataset_id == dataset.pk
            and current.split_id == split.pk
            and current.max_abs_angle == max_abs_angle
            and current.crop == crop
            and current.error_definition == error_definition
            and current.sample_names == names
        )
        if same:
            return current
        return Benchmark.objects.create(
            name=name,
            version=current.version + 1 if current else 1,
            title=title,
            description=description,
            dataset=dataset,
            split=split,
            max_abs_angle=max_abs_angle,
            crop=crop,
            error_definition=error_definition,
            sample_names=names,
            excluded=excluded,
            reference_results=reference_results or [],
            reference_note=reference_note,
            is_seed=is_seed,
        )


def find_benchmark(spec: str) -> Benchmark:
    """'name' (latest version), 'name@N' / 'name@vN', or a numeric id."""
    name, _, version = str(spec).partition("@")
    qs = Benchmark.objects.select_related("dataset", "split")
    if name.isdigit() and not version:
        found = qs.filter(pk=int(name)).first()
    elif version:
        found = qs.filter(name=name, version=int(version.lstrip("v")) if version.lstrip("v").isdigit() else -1).first()
    else:
        found = qs.filter(name=name).order_by("-version").first()
    if found is None:
        known = sorted(set(Benchmark.objects.values_list("name", flat=True)))
        raise EvaluationRequestError(f"no benchmark {spec!r}; known: {', '.join(known) or 'none (import a dataset)'}")
    return found
