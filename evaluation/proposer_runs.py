"""Proposer runs: a registered proposer over a benchmark's samples on the
`gpu` workers, one stored prediction per sample so a stopped run resumes where
it stopped; the metrics once every sample has one."""

from __future__ import annotations

import numpy as np
from django.db import transaction

from annotator.common import jobs, pipeline
from annotator.common.poses import clean_pose
from annotator.datasets.models import Dataset, Face
from annotator.proposals.services import ProposeRequestError, check_proposer, get_proposer, read_image_bgr
from evaluation.benchmarks import ground_truth_by_name
from evaluation.errors import EvaluationRequestError
from evaluation.models import Benchmark, CropRule, Entry, SamplePrediction
from evaluation.scoring import compute_metrics, load_ground_truth, store_metrics
from workers.core.matching import match_one

PROPOSER_BATCH = 16


def start_proposer_entry(
    *, benchmark: Benchmark, proposer: str, user=None, is_public: bool = False, name: str = ""
) -> Entry:
    """Queue a registered proposer over the benchmark's samples (queue gpu)."""
    from workers.core.proposers import get_config  # heavy (torch, cv2): not imported by the web process

    try:
        check_proposer(proposer)
    except ProposeRequestError as exc:
        raise EvaluationRequestError(str(exc)) from None
    config = get_config(proposer)
    if not benchmark.sample_names:
        raise EvaluationRequestError(f"benchmark {benchmark} has no samples")
    with transaction.atomic():
        entry = Entry.objects.create(
            benchmark=benchmark,
            benchmark_version=benchmark.version,
            split_version=benchmark.split.version,
            protocol=benchmark.protocol,
            kind=Entry.Kind.PROPOSER,
            name=name or f"{proposer} {config.version}",
            description=config.description,
            proposer=proposer,
            proposer_version=config.version,
            crop_used=CropRule.DETECTOR,
            owner=user,
            is_public=is_public,
            total=len(benchmark.sample_names),
            expected=len(benchmark.sample_names),
        )
        pipeline.enqueue("evaluate_entry", entry.pk, job=entry)
    return entry


def resume_entry(entry: Entry) -> Entry:
    """Queue an unfinished (or failed) proposer run again; done samples are kept."""
    if entry.kind != Entry.Kind.PROPOSER:
        raise EvaluationRequestError("only proposer runs can be resumed")
    if entry.state == Entry.State.DONE:
        raise EvaluationRequestError("this run is finished")
    with transaction.atomic():
        jobs.requeue(entry)
        pipeline.enqueue("evaluate_entry", entry.pk, job=entry)
    entry.refresh_from_db()
    return entry


def resend_entry(entry: Entry) -> None:
    """The reaper's re-send of a stranded entry (queued or running without a live task)."""
    if entry.kind != Entry.Kind.PROPOSER:  # an upload is scored in its request: nothing to send
        jobs.fail(entry, "scoring was interrupted; upload the predictions again")
        return
    jobs.requeue(entry)
    pipeline.enqueue("evaluate_entry", entry.pk)


def base_version(version: str) -> str:
    """The code version of a proposer version ('2.0+1a2b3c4d' -> '2.0'; fused appends its members' hash)."""
    return version.split("+", 1)[0]


def run_proposer_entry(entry_id: int) -> Entry:
    """Run (or continue) a proposer entry: predict the samples not yet stored,
    then compute the metrics. Called by the worker task."""

    entry = Entry.objects.select_related("benchmark__dataset", "benchmark__split").get(pk=entry_id)
    if entry.state == Entry.State.DONE:
        return entry
    jobs.start(entry, resume=True)
    try:
        proposer = get_proposer(entry.proposer)
        if entry.proposer_version == base_version(proposer.config.version) and not entry.weights_sha256:
            # started from the registry's code version: a fused run's version also names its members
            Entry.objects.filter(pk=entry.pk).update(proposer_version=proposer.config.version)
            entry.proposer_version = proposer.config.version
        if proposer.config.version != entry.proposer_version:
            raise EvaluationRequestError(
                f"proposer {entry.proposer} is now version {proposer.config.version}, this run started with "
                f"{entry.proposer_version}; start a new entry"
            )
        if entry.weights_sha256 and entry.weights_sha256 != proposer.weights_sha256:
            raise EvaluationRequestError("the proposer's weights changed since this run started; start a new entry")
        if not entry.weights_sha256:
            Entry.objects.filter(pk=entry.pk).update(
                weights_sha256=proposer.weights_sha256, proposer_provenance=proposer.provenance()
            )
        done = set(entry.predictions.values_list("sample_name", flat=True))
        todo = [n for n in entry.benchmark.sample_names if n not in done]
        faces = _ground_truth_faces(entry.benchmark.dataset, set(todo))
        for i in range(0, len(todo), PROPOSER_BATCH):
            batch = todo[i : i + PROPOSER_BATCH]
            rows = _predict_batch(proposer, [faces.get(n) for n in batch], batch)
            SamplePrediction.objects.bulk_create(
                [SamplePrediction(entry=entry, **r) for r in rows], ignore_conflicts=True
            )
            entry.processed = entry.predictions.count()
            jobs.advance(entry)
        return finish_proposer_entry(entry.pk)
    except Exception as exc:
        jobs.fail(entry, f"{type(exc).__name__}: {exc}")
        raise


def _ground_truth_faces(dataset: Dataset, names: set[str]) -> dict[str, Face]:
    gt = ground_truth_by_name(dataset)
    ids = [gt[n]["face_id"] for n in names if n in gt]
    faces = {}
    for i in range(0, len(ids), 500):  # SQLite caps the number of query parameters
        for f in Face.objects.filter(pk__in=ids[i : i + 500]).select_related("image"):
            faces[f.image.file_name] = f
    return faces


def _predict_batch(proposer, faces: list[Face | None], names: list[str]) -> list[dict]:
    rows: dict[str, dict] = {}
    loaded = []
    for name, face in zip(names, faces):
        if face is None:
            rows[name] = {"sample_name": name, "R": None, "message": "no ground-truth face"}
            continue
        try:
            loaded.append((name, face, read_image_bgr(face.image)))
        except (OSError, ValueError) as exc:
            rows[name] = {"sample_name": name, "R": None, "message": f"image unreadable: {exc}"[:300]}
    if loaded:
        results = proposer.propose([bgr for _, _, bgr in loaded], [f.image.K_matrix for _, f, _ in loaded])
        for (name, face, _), proposals in zip(loaded, results):
            k = match_one(face.box, [p.box for p in proposals])
            hit = None if k is None else proposals[k]
            if hit is None:
                why = "no face detected" if not proposals else "no detection overlaps the ground-truth face"
                rows[name] = {"sample_name": name, "R": None, "message": why}
            else:
                rows[name] = _checked_row(name, hit)
    return [rows[n] for n in names]


def _checked_row(name: str, hit) -> dict:
    """A prediction row through the pose rules (annotator/poses.py), like every
    other stored pose: a proposer's non-sane output counts as no prediction, with why."""

    try:
        R, t = clean_pose(
            np.asarray(hit.R, dtype=np.float64).reshape(9),
            None if hit.t is None else np.asarray(hit.t, dtype=np.float64).reshape(3),
        )
    except ValueError as exc:  # PoseError included
        return {"sample_name": name, "R": None, "message": f"proposal not stored: {exc}"[:300]}
    return {"sample_name": name, "R": R, "t": t}


def finish_proposer_entry(entry_id: int) -> Entry:
    with transaction.atomic():
        entry = (
            Entry.objects.select_for_update().select_related("benchmark__dataset", "benchmark__split").get(pk=entry_id)
        )
        if entry.state == Entry.State.DONE:
            return entry
        benchmark = entry.benchmark
        preds = dict(entry.predictions.values_list("sample_name", "R"))
        entry.processed = len(preds)
        if len(preds) < len(benchmark.sample_names):
            jobs.fail(
                entry,
                f"only {len(preds)} of {len(benchmark.sample_names)} samples were processed; resume it",
                fields=None,
            )
            return entry
        gt = load_ground_truth(benchmark)
        position = {n: k for k, n in enumerate(gt.names)}
        found = [(position[n], R) for n, R in preds.items() if R is not None]
        index = [k for k, _ in found]
        pred_R = np.array([R for _, R in found], dtype=np.float64).reshape(-1, 3, 3)
        missing = sorted(n for n, R in preds.items() if R is None)
        result = compute_metrics(benchmark, gt, index, pred_R)
        store_metrics(entry, benchmark, result, missing)
        reasons: dict[str, int] = {}
        for msg in entry.predictions.filter(R__isnull=True).values_list("message", flat=True):
            reasons[msg] = reasons.get(msg, 0) + 1
        entry.summary["missing_reasons"] = reasons
        if missing:
            entry.warnings = [
                f"{len(missing)} of {len(gt.names)} samples have no prediction (the model found no "
                "face matching the ground-truth face); the averages are over the rest"
            ]
        jobs.finish(entry, fields=None)
    return entry
