"""Pose proposals: run registered proposers over images and store what they find.

Runs inside Celery workers (queue `gpu`); the web process only queues work, so
it never loads a model or mediapipe (whose graphs must not cross a fork)."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction

from annotator.common import jobs, pipeline
from annotator.common.models import Job
from annotator.common.poses import clean_pose
from annotator.datasets.models import Dataset, Face, Image
from annotator.labeling import queue_entries
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import preferred_proposers
from workers.core.matching import match_boxes
from workers.device import configure_torch_threads, torch_device

BATCH_SIZE = 32
_cache: dict[tuple[str, str], object] = {}


class ProposeRequestError(ValueError):
    pass


def preferred_proposer_name() -> str:
    """The proposer that runs when none is named: the first of
    selectors.preferred_proposers() (HEADPOSE_PROPOSER, or with 'auto' the fused
    one) that can run here, else the pip-only default."""
    from workers.core.proposers import DEFAULT_PROPOSER, registry  # heavy (torch, cv2): not imported by the web process

    preferred = preferred_proposers()
    if (settings.HEADPOSE_PROPOSER or "auto") != "auto":
        return preferred[0]
    available = set(registry.available_proposers(settings.HEADPOSE_WEIGHTS_DIR))
    with_weights = {n for n in available if registry.get_config(n).weights_file}
    # fused combines the models whose weights are present: with none it adds nothing to the default
    runnable = available if with_weights else available - {"fused"}
    return next((name for name in preferred if name in runnable), DEFAULT_PROPOSER)


def check_proposer(name: str) -> None:
    """Refuse unknown proposers and missing weights before anything is queued."""
    from workers.core.proposers import DEFAULT_PROPOSER, registry  # heavy (torch, cv2): not imported by the web process

    try:
        config = registry.get_config(name)
    except registry.ProposerError as exc:
        raise ProposeRequestError(f"{exc}; known proposers: {', '.join(registry.list_proposers())}") from None
    # Every file (a companion file too), or the worker would fail building it.
    missing = registry.missing_weights(config, settings.HEADPOSE_WEIGHTS_DIR)
    if missing:
        raise ProposeRequestError(
            f"proposer {name!r} needs its weights file {', '.join(missing)}; set HEADPOSE_WEIGHTS_DIR to the folder "
            f"holding {', '.join(map(repr, config.weights_files))}. "
            f"The default proposer {DEFAULT_PROPOSER!r} needs no weights."
        )


def get_proposer(name: str):
    """One instance per worker process and device, built on first use."""
    from workers.core.proposers import registry  # heavy (torch, cv2): not imported by the web process

    key = (name, torch_device())
    if key not in _cache:
        configure_torch_threads()
        _cache[key] = registry.create_proposer(name, weights_dir=settings.HEADPOSE_WEIGHTS_DIR, device=key[1])
    return _cache[key]


def start_proposals(*, dataset: Dataset, proposer: str | None = None, user=None, image_ids=None) -> Job:
    """Queue proposals for a dataset's images (all, or `image_ids`) as a Job."""
    proposer = proposer or preferred_proposer_name()
    check_proposer(proposer)
    ids = list(
        (Image.objects.filter(pk__in=image_ids) if image_ids is not None else dataset.images.all())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        # the work list is kept so the reaper can re-send the batches not yet stored
        job = Job.objects.create(
            kind=Job.Kind.PROPOSE,
            dataset=dataset,
            created_by=user,
            total=len(ids),
            options={"proposer": proposer, "image_ids": ids, "batch_size": BATCH_SIZE},
            state=Job.State.QUEUED if ids else Job.State.DONE,
        )

        for i in range(0, len(ids), BATCH_SIZE):
            pipeline.enqueue("propose_images", ids[i : i + BATCH_SIZE], proposer, job.pk, job=job)
    return job


def store_proposals(image: Image, proposals, proposer, errors: list | None = None) -> list[Proposal]:
    """Idempotent: the same proposer version on the same face updates in place.
    A proposal whose pose breaks the rules (annotator/poses.py) is not stored;
    it is reported in `errors` ({name, message}) instead."""
    stored = []
    tag = f"{proposer.config.name}@{proposer.config.version}"
    proposals = _sane_proposals(image, proposals, tag, errors if errors is not None else [])
    with transaction.atomic():
        faces = list(image.faces.select_for_update(no_key=True).order_by("index"))
        # a proposal lands on the known face (e.g. ground truth) its detection overlaps
        matched = [
            None if k is None else faces[k]
            for k in match_boxes([f.box for f in faces], [p.box for p, _, _ in proposals])
        ]
        next_index = max((f.index for f in faces), default=-1) + 1
        for (proposal, R, t), face in zip(proposals, matched):
            if face is None:
                face = Face.objects.create(image=image, index=next_index, box=[float(v) for v in proposal.box])
                next_index += 1
            landmarks_2d = None if proposal.landmarks_2d is None else np.asarray(proposal.landmarks_2d)[:, :2].tolist()
            if face.landmarks_2d is None and landmarks_2d is not None:
                face.landmarks_2d = landmarks_2d
                face.landmarks_3d = (
                    None if proposal.landmarks_3d is None else np.asarray(proposal.landmarks_3d).tolist()
                )
                face.landmark_scheme = proposal.landmark_scheme or ""
                face.landmarks_provenance = tag
                face.save(update_fields=["landmarks_2d", "landmarks_3d", "landmark_scheme", "landmarks_provenance"])
            row, _ = Proposal.objects.update_or_create(
                face=face,
                proposer=proposer.config.name,
                proposer_version=proposer.config.version,
                weights_sha256=proposer.weights_sha256,
                defaults={
                    "R": R,
                    "t": t,
                    "score": float(proposal.score),
                    "confidence": proposal.confidence,
                    "provenance": proposal.provenance or {},
                    "landmarks_2d": landmarks_2d,
                    "landmark_scheme": (proposal.landmark_scheme or "") if landmarks_2d is not None else "",
                },
            )
            stored.append(row)
        # a new preferred proposal can change a face's "low confidence" tier in the queue
        queue_entries.refresh(image.dataset_id, {row.face_id for row in stored})
    return stored


def _sane_proposals(image: Image, proposals, tag: str, errors: list) -> list:
    """(proposal, R, t) of the sane proposals, R and t as stored; the others reported."""
    kept = []
    for k, proposal in enumerate(proposals):
        try:
            R, t = clean_pose(proposal.R, None if proposal.t is None else np.asarray(proposal.t, dtype=np.float64))
        except ValueError as exc:  # PoseError included
            errors.append({"name": image.file_name, "message": f"{tag} proposal {k} not stored: {exc}"})
            continue
        kept.append((proposal, R, t))
    return kept


def read_image_bgr(image: Image) -> np.ndarray:
    import cv2

    with image.file.open("rb") as fh:
        data = np.frombuffer(fh.read(), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{image.file_name}: the stored image cannot be decoded")
    return bgr


def batch_key(image_ids: list[int]) -> str:
    """A batch's name in its Job's result["done_batches"] (batches never overlap)."""
    return str(image_ids[0]) if image_ids else ""


def batch_done(job_id: int, image_ids: list[int]) -> bool:
    """This batch of a proposal Job was already stored (a re-sent batch), or the job is over."""
    job = Job.objects.filter(pk=job_id).only("state", "result").first()
    return job is None or jobs.is_finished(job) or batch_key(image_ids) in job.result.get("done_batches", [])


def propose_images(image_ids: list[int], proposer_name: str, job_id: int | None = None) -> dict:
    """Run one proposer over a batch of images and store the proposals."""
    proposer = get_proposer(proposer_name)
    images = list(Image.objects.filter(pk__in=image_ids).order_by("pk"))
    errors, found, face_ids = [], 0, []
    loaded = []
    for image in images:
        try:
            loaded.append((image, read_image_bgr(image)))
        except (OSError, ValueError) as exc:
            errors.append({"name": image.file_name, "message": str(exc)})
    if loaded:
        results = proposer.propose([bgr for _, bgr in loaded], [img.K_matrix for img, _ in loaded])
        for (image, _), proposals in zip(loaded, results):
            rows = store_proposals(image, proposals, proposer, errors)
            found += len(rows)
            face_ids += [r.face_id for r in rows]
    if job_id is not None:
        jobs.advance_shared(
            Job, job_id, processed=len(image_ids), succeeded=len(loaded), errors=errors, batch=batch_key(image_ids)
        )
    pipeline.proposals_stored(face_ids)
    return {"images": len(images), "faces": found, "errors": errors}


@pipeline.step("import_finished", "proposals")
def _propose_new_images(outcome: pipeline.ImportOutcome) -> None:
    if outcome.new_image_ids and settings.HEADPOSE_AUTO_PROPOSE:
        start_proposals(dataset=outcome.dataset, image_ids=outcome.new_image_ids, user=outcome.job.created_by)
