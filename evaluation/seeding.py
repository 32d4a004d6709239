"""The standard benchmarks of an imported dataset, made from the protocol
descriptions (evaluation/protocols.py). Runs as the `benchmarks` step after
each import (annotator/pipeline.py; registered in EvaluationConfig.ready)."""

from __future__ import annotations

from annotator.datasets.models import Dataset, Split
from evaluation.benchmarks import save_benchmark
from evaluation.models import Benchmark
from evaluation.protocols import protocols_for


def ensure_seed_benchmarks(dataset: Dataset) -> list[Benchmark]:
    """One benchmark per protocol of the dataset's kind whose split has samples
    (AFLW2000 p1; BIWI p1 and p2-test); idempotent."""
    made = []
    for protocol in protocols_for(dataset.kind):
        split = Split.objects.filter(dataset=dataset, name=protocol.split).order_by("-version").first()
        if split is None or not split.sample_names:
            continue
        made.append(
            save_benchmark(
                name=protocol.benchmark_name(dataset.name),
                dataset=dataset,
                split=split,
                title=protocol.benchmark_title(dataset.name),
                max_abs_angle=protocol.max_abs_angle,
                crop=protocol.crop,
                error_definition=protocol.error_definition,
                description=protocol.description,
                reference_results=[r.as_dict() for r in protocol.published],
                reference_note=protocol.published_note,
                is_seed=True,
            )
        )
    return made


def after_import(outcome) -> None:
    """The pipeline's `benchmarks` step: seed once the splits of a successful import exist."""
    if not outcome.failed:
        ensure_seed_benchmarks(outcome.dataset)
