"""Uploaded prediction files: validated against a benchmark, scored, stored as an entry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from evaluation.errors import EvaluationRequestError
from evaluation.models import Benchmark, CropRule, Entry
from evaluation.scoring import GroundTruth, compute_metrics, load_ground_truth, store_metrics
from workers.core.predictions import ParsedPredictions, parse_predictions


@dataclass
class FileEvaluation:
    benchmark: Benchmark
    parsed: ParsedPredictions
    result: dict

    def as_json(self) -> dict:
        """The CLI's output: every scalar metric, coverage, protocol, warnings."""
        out = dict(self.result["summary"])
        out["yaw_bins"] = self.result["details"].get("yaw_bins", [])
        out["protocol"] = self.benchmark.protocol
        out["missing_ids_sample"] = self.parsed.missing_ids[:10]
        out["warnings"] = list(self.parsed.warnings)
        return out


def read_prediction_upload(f) -> bytes:
    """An uploaded file's bytes, at most one byte past HEADPOSE_MAX_PREDICTION_BYTES
    (parse_predictions then refuses it naming the limit): a huge upload is never read whole."""
    return f.read(settings.HEADPOSE_MAX_PREDICTION_BYTES + 1)


def evaluate_file(
    benchmark: Benchmark,
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    *,
    allow_unknown_ids: bool = False,
    gt: GroundTruth | None = None,
) -> FileEvaluation:
    """Parse and validate a prediction file against the benchmark and compute
    its metrics. Raises PredictionFileError (a ValueError) listing the problems."""

    gt = gt or load_ground_truth(benchmark)
    parsed = parse_predictions(
        data,
        filename,
        content_type,
        gt.names,
        allow_unknown_ids=allow_unknown_ids,
        max_bytes=settings.HEADPOSE_MAX_PREDICTION_BYTES,
        max_rows=settings.HEADPOSE_MAX_PREDICTION_ROWS,
    )
    result = compute_metrics(benchmark, gt, parsed.expected_index, parsed.R)
    return FileEvaluation(benchmark, parsed, result)


def create_upload_entry(
    *,
    benchmark: Benchmark,
    data: bytes,
    filename: str,
    content_type: str | None = None,
    user=None,
    name: str = "",
    description: str = "",
    is_public: bool = False,
    crop_used: str = "",
    allow_unknown_ids: bool = False,
) -> Entry:
    """Evaluate an uploaded prediction file at once and store it as an entry."""
    ev = evaluate_file(benchmark, data, filename, content_type, allow_unknown_ids=allow_unknown_ids)
    crop_used = crop_used or benchmark.crop
    if crop_used not in CropRule.values and crop_used != "other":
        raise EvaluationRequestError(f"crop_used must be one of {', '.join(CropRule.values)} or 'other'")
    entry = Entry(
        benchmark=benchmark,
        benchmark_version=benchmark.version,
        split_version=benchmark.split.version,
        protocol=benchmark.protocol,
        kind=Entry.Kind.UPLOAD,
        name=(name or filename or "predictions")[:200],
        description=description,
        crop_used=crop_used,
        owner=user,
        is_public=is_public,
        upload_name=(filename or "")[:300],
        upload_sha256=hashlib.sha256(data).hexdigest(),
        state=Entry.State.DONE,
        total=len(benchmark.sample_names),
        processed=len(benchmark.sample_names),
        warnings=list(ev.parsed.warnings),
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    store_metrics(entry, benchmark, ev.result, ev.parsed.missing_ids)
    with transaction.atomic():
        entry.upload.save(
            f"{benchmark.name}-{entry.upload_sha256[:12]}.{ev.parsed.format}", ContentFile(data), save=False
        )
        entry.save()
    return entry
