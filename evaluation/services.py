"""Writes of the evaluation app: benchmarks, entries and their metrics.

Metrics come from workers.core.metrics.evaluate on the benchmark's ground
truth (the dataset's own labels, Annotation source=dataset). Per-angle errors
compare the Euler angles of both rotations decomposed the same way
(geometry.matrix_to_euler, yaw in [-90, 90]); for |yaw| < 90 these are the
dataset's own angles. Samples without a prediction are counted as missing
(coverage) and never enter an average silently."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from annotator.models import Annotation, AnnotationSource, Dataset, Face, Split
from evaluation.models import Benchmark, CropRule, Entry, ErrorDefinition, SamplePrediction
from workers.core import geometry

PROPOSER_BATCH = 16
MAX_MISSING_LISTED = 50

# Published MAE (yaw, pitch, roll, mean), degrees, from ../shared/docs/DATA.md.
PUBLISHED = {
    "aflw2000-p1": [
        ("HopeNet", 6.47, 6.56, 5.44, 6.16), ("FSA-Net", 4.50, 6.08, 4.64, 5.07),
        ("WHENet-V", 4.44, 5.75, 4.31, 4.83), ("img2pose", 3.43, 5.03, 3.28, 3.91),
        ("6DRepNet", 3.63, 4.91, 3.37, 3.97), ("WQuatNet (2025)", 3.39, 4.62, 3.23, 3.75),
    ],
    "biwi-p1": [
        ("HopeNet", 4.81, 6.61, 3.27, 4.90), ("FSA-Net", 4.27, 4.96, 2.76, 4.00),
        ("WHENet-V", 3.60, 4.10, 2.73, 3.48), ("img2pose", 4.57, 3.55, 3.24, 3.79),
        ("6DRepNet", 3.24, 4.48, 2.68, 3.47), ("WQuatNet (2025)", 3.91, 4.20, 2.64, 3.58),
    ],
    "biwi-p2": [
        ("HopeNet", 3.29, 3.39, 3.00, 3.23), ("FSA-Net", 2.89, 4.29, 3.60, 3.60),
        ("6DRepNet", 2.69, 2.92, 2.36, 2.66), ("WQuatNet (2025)", 2.39, 2.37, 2.08, 2.28),
    ],
}


@dataclass(frozen=True)
class SeedSpec:
    split: str
    title: str
    max_abs_angle: float | None
    crop: str
    published: str
    note: str
    description: str


SEEDS = {
    Dataset.Kind.AFLW2000: [
        SeedSpec("p1", "AFLW2000-3D protocol 1", 99.0, CropRule.HOPENET, "aflw2000-p1",
                 "Published on the full 2000-image set with the HopeNet crop; a smaller import is not comparable.",
                 "Train elsewhere (300W-LP), test on AFLW2000-3D; a sample is dropped if any |angle| > 99 deg."),
    ],
    Dataset.Kind.BIWI: [
        SeedSpec("p1", "BIWI protocol 1", None, CropRule.FSANET, "biwi-p1",
                 "Published on the 13,219-frame protocol-1 list (FSA-Net's preprocessed crops).",
                 "Train elsewhere (300W-LP), test on all BIWI frames."),
        SeedSpec("p2-test", "BIWI protocol 2 (70/30), test part", None, CropRule.FSANET, "biwi-p2",
                 "Published 70/30 splits were unseeded permutations: another sequence list than ours, "
                 "so these numbers are indicative only.",
                 "Train on 70% of the BIWI sequences, test on the other 30% (seeded, sequences recorded in the split)."),
    ],
}


class EvaluationRequestError(ValueError):
    """A request that cannot be carried out; the message says why."""


# ---- benchmarks --------------------------------------------------------------

def ground_truth_by_name(dataset: Dataset) -> dict[str, dict]:
    """file_name -> the dataset label of the image's first labelled face:
    {'image_id', 'face_id', 'R' (9 floats), 't'}."""
    rows = (
        Annotation.objects.filter(source=AnnotationSource.DATASET, dataset=dataset)
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
        keep = (np.abs(euler) <= max_abs_angle).all(axis=1)
        excluded[f"an |angle| over {max_abs_angle:g} deg"] = int((~keep).sum())
        names = [n for n, k in zip(names, keep) if k]
    return sorted(names), {k: v for k, v in excluded.items() if v}


def save_benchmark(*, name: str, dataset: Dataset, split: Split, title: str, max_abs_angle: float | None = None,
                   crop: str = CropRule.DETECTOR, error_definition: str = ErrorDefinition.PLAIN,
                   description: str = "", reference_results=None, reference_note: str = "",
                   is_seed: bool = False) -> Benchmark:
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
            current.dataset_id == dataset.pk and current.split_id == split.pk and current.max_abs_angle == max_abs_angle
            and current.crop == crop and current.error_definition == error_definition
            and current.sample_names == names
        )
        if same:
            return current
        return Benchmark.objects.create(
            name=name, version=current.version + 1 if current else 1, title=title, description=description,
            dataset=dataset, split=split, max_abs_angle=max_abs_angle, crop=crop, error_definition=error_definition,
            sample_names=names, excluded=excluded, reference_results=reference_results or [],
            reference_note=reference_note, is_seed=is_seed,
        )


def ensure_seed_benchmarks(dataset: Dataset) -> list[Benchmark]:
    """The standard benchmarks of an AFLW2000 or BIWI dataset (idempotent):
    AFLW2000 p1; BIWI p1 and p2-test. Called after each import."""
    made = []
    for spec in SEEDS.get(dataset.kind, []):
        split = Split.objects.filter(dataset=dataset, name=spec.split).order_by("-version").first()
        if split is None or not split.sample_names:
            continue
        refs = [{"method": m, "mae_yaw": y, "mae_pitch": p, "mae_roll": r, "mae_mean": mean}
                for m, y, p, r, mean in PUBLISHED[spec.published]]
        made.append(save_benchmark(
            name=f"{dataset.name}-{spec.split}", dataset=dataset, split=split, title=f"{spec.title} ({dataset.name})",
            max_abs_angle=spec.max_abs_angle, crop=spec.crop, description=spec.description,
            reference_results=refs, reference_note=spec.note, is_seed=True,
        ))
    return made


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


# ---- metrics -----------------------------------------------------------------

@dataclass
class GroundTruth:
    names: list[str]
    R: np.ndarray  # (N, 3, 3)


def load_ground_truth(benchmark: Benchmark) -> GroundTruth:
    gt = ground_truth_by_name(benchmark.dataset)
    missing = [n for n in benchmark.sample_names if n not in gt]
    if missing:
        raise EvaluationRequestError(
            f"the ground truth of {len(missing)} benchmark sample(s) is gone (e.g. {missing[0]!r}); "
            "rebuild the benchmark")
    R = np.array([gt[n]["R"] for n in benchmark.sample_names], dtype=np.float64).reshape(-1, 3, 3)
    return GroundTruth(list(benchmark.sample_names), R)


def compute_metrics(benchmark: Benchmark, gt: GroundTruth, index, pred_R) -> dict:
    """Metrics of predictions for the samples at `index` (positions in the
    benchmark's sample list). -> {'summary', 'details', 'per_sample', 'coverage'}."""
    from workers.core.metrics import evaluate

    index = np.asarray(index, dtype=np.int64)
    pred_R = np.asarray(pred_R, dtype=np.float64).reshape(-1, 3, 3)
    order = np.argsort(index, kind="stable")
    index, pred_R = index[order], pred_R[order]
    expected = len(gt.names)
    coverage = {"matched": int(index.size), "expected": expected, "missing": expected - int(index.size),
                "fraction": index.size / expected if expected else 0.0}
    if index.size == 0:
        return {"summary": {"count": 0, "coverage": coverage}, "details": {}, "per_sample": {}, "coverage": coverage}
    m = evaluate(pred_R, gt.R[index], benchmark.error_definition, per_sample=True)
    per_sample = m.pop("per_sample")
    per_sample["index"] = index.tolist()
    details = {"yaw_bins": m.pop("yaw_bins"), "curves": m.pop("curves")}
    m["coverage"] = coverage
    return {"summary": m, "details": details, "per_sample": per_sample, "coverage": coverage}


def _store_metrics(entry: Entry, benchmark: Benchmark, result: dict, missing_names: list[str]) -> None:
    s = result["summary"]
    entry.summary, entry.details, entry.per_sample = s, result["details"], result["per_sample"]
    entry.expected, entry.matched = result["coverage"]["expected"], result["coverage"]["matched"]
    entry.missing_sample = missing_names[:MAX_MISSING_LISTED]
    for key in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean"):
        setattr(entry, key, s.get(key))


# ---- uploaded predictions ----------------------------------------------------

@dataclass
class FileEvaluation:
    benchmark: Benchmark
    parsed: object  # ParsedPredictions
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


def evaluate_file(benchmark: Benchmark, data: bytes, filename: str | None = None, content_type: str | None = None,
                  *, allow_unknown_ids: bool = False, gt: GroundTruth | None = None) -> FileEvaluation:
    """Parse and validate a prediction file against the benchmark and compute
    its metrics. Raises PredictionFileError (a ValueError) listing the problems."""
    from workers.core.predictions import parse_predictions

    gt = gt or load_ground_truth(benchmark)
    parsed = parse_predictions(data, filename, content_type, gt.names, allow_unknown_ids=allow_unknown_ids,
                               max_bytes=settings.HEADPOSE_MAX_PREDICTION_BYTES,
                               max_rows=settings.HEADPOSE_MAX_PREDICTION_ROWS)
    result = compute_metrics(benchmark, gt, parsed.expected_index, parsed.R)
    return FileEvaluation(benchmark, parsed, result)


def create_upload_entry(*, benchmark: Benchmark, data: bytes, filename: str, content_type: str | None = None,
                        user=None, name: str = "", description: str = "", is_public: bool = False,
                        crop_used: str = "", allow_unknown_ids: bool = False) -> Entry:
    """Evaluate an uploaded prediction file at once and store it as an entry."""
    ev = evaluate_file(benchmark, data, filename, content_type, allow_unknown_ids=allow_unknown_ids)
    crop_used = crop_used or benchmark.crop
    if crop_used not in CropRule.values and crop_used != "other":
        raise EvaluationRequestError(f"crop_used must be one of {', '.join(CropRule.values)} or 'other'")
    entry = Entry(
        benchmark=benchmark, benchmark_version=benchmark.version, split_version=benchmark.split.version,
        protocol=benchmark.protocol, kind=Entry.Kind.UPLOAD, name=(name or filename or "predictions")[:200],
        description=description, crop_used=crop_used, owner=user, is_public=is_public,
        upload_name=(filename or "")[:300], upload_sha256=hashlib.sha256(data).hexdigest(),
        state=Entry.State.DONE, total=len(benchmark.sample_names), processed=len(benchmark.sample_names),
        warnings=list(ev.parsed.warnings), started_at=timezone.now(), finished_at=timezone.now(),
    )
    _store_metrics(entry, benchmark, ev.result, ev.parsed.missing_ids)
    with transaction.atomic():
        entry.upload.save(f"{benchmark.name}-{entry.upload_sha256[:12]}.{ev.parsed.format}", ContentFile(data),
                          save=False)
        entry.save()
    return entry


# ---- proposer runs -----------------------------------------------------------

def start_proposer_entry(*, benchmark: Benchmark, proposer: str, user=None, is_public: bool = False,
                         name: str = "") -> Entry:
    """Queue a registered proposer over the benchmark's samples (queue gpu)."""
    from annotator.proposing import ProposeRequestError, check_proposer
    from workers.core.proposers import registry

    try:
        check_proposer(proposer)
    except ProposeRequestError as exc:
        raise EvaluationRequestError(str(exc)) from None
    config = registry.get_config(proposer)
    if not benchmark.sample_names:
        raise EvaluationRequestError(f"benchmark {benchmark} has no samples")
    with transaction.atomic():
        entry = Entry.objects.create(
            benchmark=benchmark, benchmark_version=benchmark.version, split_version=benchmark.split.version,
            protocol=benchmark.protocol, kind=Entry.Kind.PROPOSER, name=name or f"{proposer} {config.version}",
            description=config.description, proposer=proposer, proposer_version=config.version,
            crop_used=CropRule.DETECTOR, owner=user, is_public=is_public, total=len(benchmark.sample_names),
            expected=len(benchmark.sample_names),
        )
        _queue(entry)
    return entry


def _queue(entry: Entry) -> None:
    def send():
        from workers.tasks import evaluate_entry

        evaluate_entry.delay(entry.pk)

    transaction.on_commit(send)


def resume_entry(entry: Entry) -> Entry:
    """Queue an unfinished (or failed) proposer run again; done samples are kept."""
    if entry.kind != Entry.Kind.PROPOSER:
        raise EvaluationRequestError("only proposer runs can be resumed")
    if entry.state == Entry.State.DONE:
        raise EvaluationRequestError("this run is finished")
    with transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(state=Entry.State.QUEUED, message="")
        _queue(entry)
    entry.refresh_from_db()
    return entry


def run_proposer_entry(entry_id: int) -> Entry:
    """Run (or continue) a proposer entry: predict the samples not yet stored,
    then compute the metrics. Called by the worker task."""
    from annotator.proposing import get_proposer

    entry = Entry.objects.select_related("benchmark__dataset", "benchmark__split").get(pk=entry_id)
    if entry.state == Entry.State.DONE:
        return entry
    Entry.objects.filter(pk=entry.pk).update(state=Entry.State.RUNNING, started_at=entry.started_at or timezone.now())
    try:
        proposer = get_proposer(entry.proposer)
        if proposer.config.version != entry.proposer_version:
            raise EvaluationRequestError(
                f"proposer {entry.proposer} is now version {proposer.config.version}, this run started with "
                f"{entry.proposer_version}; start a new entry")
        if entry.weights_sha256 and entry.weights_sha256 != proposer.weights_sha256:
            raise EvaluationRequestError("the proposer's weights changed since this run started; start a new entry")
        if not entry.weights_sha256:
            Entry.objects.filter(pk=entry.pk).update(weights_sha256=proposer.weights_sha256)
        done = set(entry.predictions.values_list("sample_name", flat=True))
        todo = [n for n in entry.benchmark.sample_names if n not in done]
        faces = _ground_truth_faces(entry.benchmark.dataset, set(todo))
        for i in range(0, len(todo), PROPOSER_BATCH):
            batch = todo[i:i + PROPOSER_BATCH]
            rows = _predict_batch(proposer, [faces.get(n) for n in batch], batch)
            SamplePrediction.objects.bulk_create([SamplePrediction(entry=entry, **r) for r in rows],
                                                 ignore_conflicts=True)
            Entry.objects.filter(pk=entry.pk).update(processed=entry.predictions.count())
        return finish_proposer_entry(entry.pk)
    except Exception as exc:
        Entry.objects.filter(pk=entry.pk).update(
            state=Entry.State.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now())
        raise


def _ground_truth_faces(dataset: Dataset, names: set[str]) -> dict[str, Face]:
    gt = ground_truth_by_name(dataset)
    ids = [gt[n]["face_id"] for n in names if n in gt]
    faces = {}
    for i in range(0, len(ids), 500):  # SQLite caps the number of query parameters
        for f in Face.objects.filter(pk__in=ids[i:i + 500]).select_related("image"):
            faces[f.image.file_name] = f
    return faces


def _predict_batch(proposer, faces: list[Face | None], names: list[str]) -> list[dict]:
    from annotator.proposing import match_faces, read_image_bgr

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
            matched = match_faces([face], [p.box for p in proposals])
            hit = next((p for p, f in zip(proposals, matched) if f is not None), None)
            if hit is None:
                why = "no face detected" if not proposals else "no detection overlaps the ground-truth face"
                rows[name] = {"sample_name": name, "R": None, "message": why}
            else:
                rows[name] = {"sample_name": name, "R": [float(v) for v in np.asarray(hit.R).reshape(9)],
                              "t": None if hit.t is None else [float(v) for v in np.asarray(hit.t).reshape(3)]}
    return [rows[n] for n in names]


def finish_proposer_entry(entry_id: int) -> Entry:
    with transaction.atomic():
        entry = Entry.objects.select_for_update().select_related("benchmark__dataset", "benchmark__split").get(
            pk=entry_id)
        if entry.state == Entry.State.DONE:
            return entry
        benchmark = entry.benchmark
        preds = dict(entry.predictions.values_list("sample_name", "R"))
        entry.processed = len(preds)
        if len(preds) < len(benchmark.sample_names):
            entry.state = Entry.State.FAILED
            entry.message = f"only {len(preds)} of {len(benchmark.sample_names)} samples were processed; resume it"
            entry.save()
            return entry
        gt = load_ground_truth(benchmark)
        position = {n: k for k, n in enumerate(gt.names)}
        found = [(position[n], R) for n, R in preds.items() if R is not None]
        index = [k for k, _ in found]
        pred_R = np.array([R for _, R in found], dtype=np.float64).reshape(-1, 3, 3)
        missing = sorted(n for n, R in preds.items() if R is None)
        result = compute_metrics(benchmark, gt, index, pred_R)
        _store_metrics(entry, benchmark, result, missing)
        reasons: dict[str, int] = {}
        for msg in entry.predictions.filter(R__isnull=True).values_list("message", flat=True):
            reasons[msg] = reasons.get(msg, 0) + 1
        entry.summary["missing_reasons"] = reasons
        if missing:
            entry.warnings = [f"{len(missing)} of {len(gt.names)} samples have no prediction (the model found no "
                              "face matching the ground-truth face); the averages are over the rest"]
        entry.state = Entry.State.DONE
        entry.finished_at = timezone.now()
        entry.message = ""
        entry.save()
    return entry


# ---- moderation --------------------------------------------------------------

def set_hidden(entry: Entry, hidden: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_hidden=hidden)
    entry.is_hidden = hidden
    return entry


def set_public(entry: Entry, public: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_public=public)
    entry.is_public = public
    return entry


def set_baseline(entry: Entry, baseline: bool) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(is_baseline=baseline)
    entry.is_baseline = baseline
    return entry
