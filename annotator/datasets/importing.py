"""Dataset imports: a Job per import, run by a Celery task or a command.

Each sample is stored in its own transaction (image file, faces, ground truth),
so a failure never leaves a half-imported sample; per-file problems are kept on
the Job, and re-running an import skips what is already there (checksums)."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from annotator.common import job_tmp, jobs, pipeline
from annotator.common.models import Job
from annotator.common.poses import flat
from annotator.datasets.models import IMPORTED_LANDMARKS, Dataset, Face, Image
from annotator.datasets.services import refresh_summary
from annotator.labeling.services import set_ground_truth
from annotator.sequences import services as sequences
from workers.core.formats.archive import Limits, pack_folder
from workers.core.formats.records import FormatError
from workers.core.formats.video import check_thinning

READERS = {
    Job.Kind.IMPORT_AFLW2000: ("workers.core.formats.aflw2000", Dataset.Kind.AFLW2000),
    Job.Kind.IMPORT_BIWI: ("workers.core.formats.biwi", Dataset.Kind.BIWI),
    Job.Kind.IMPORT_IMAGES: ("workers.core.formats.images", Dataset.Kind.IMAGES),
    Job.Kind.IMPORT_VIDEO: ("workers.core.formats.video", Dataset.Kind.VIDEO),
}


class ImportRequestError(ValueError):
    """The import cannot start (bad dataset name, missing path ...)."""


def create_import_job(
    *,
    kind: str,
    dataset_name: str,
    server_path: str = "",
    upload=None,
    user=None,
    every: int = 1,
    max_frames: int | None = None,
) -> Job:
    """Validate the request, create (or reuse) the dataset, record a queued Job
    reading `server_path` (a folder or .zip on the server) or `upload`.
    `every` / `max_frames` thin a video import (every N-th frame, at most N)."""
    if kind not in READERS:
        raise ImportRequestError(f"unknown import kind {kind!r}; one of {sorted(READERS)}")
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", dataset_name or ""):
        raise ImportRequestError("dataset name: letters, digits, '-' and '_' only.")
    if not server_path and upload is None:
        raise ImportRequestError("name a folder or .zip on the server, or upload a .zip.")
    try:  # 1..10,000 and 1..2^31 (workers/core/formats/records.py): never a job that fails later
        check_thinning(every, max_frames)
    except FormatError as exc:
        raise ImportRequestError(f"{exc}.") from None
    if server_path and not Path(server_path).exists():
        raise ImportRequestError(f"{server_path}: no such file or folder on the server.")
    dataset_kind = READERS[kind][1]
    with transaction.atomic():
        dataset, created = Dataset.objects.get_or_create(name=dataset_name, defaults={"kind": dataset_kind})
        if not created and dataset.kind != dataset_kind:
            raise ImportRequestError(f"dataset {dataset_name!r} holds {dataset.kind} data, not {dataset_kind}.")
        job = Job(kind=kind, dataset=dataset, created_by=user)
        job.input_name = server_path or getattr(upload, "name", "upload.zip")  # what the user named
        if kind == Job.Kind.IMPORT_VIDEO:  # what workers/core/formats/video.py is called with
            job.options = {"reader": {"every": every, "max_frames": max_frames, "name": Path(job.input_name).name}}
        if upload is not None:
            job.upload.save(job.input_name, upload, save=False)
        job.save()
    return job


def check_server_path_size(server_path: str) -> None:
    """Refuse a server folder or file larger than HEADPOSE_MAX_IMPORT_UPLOAD_BYTES,
    the most the admin's import page accepts as an upload. Regular files only
    (links are never followed by the readers)."""
    cap = settings.HEADPOSE_MAX_IMPORT_UPLOAD_BYTES
    path, total = Path(server_path), 0
    if path.is_file():
        total = path.stat().st_size
    elif path.is_dir():
        for folder, _dirs, files in os.walk(path):
            for name in files:
                entry = Path(folder, name)
                if not entry.is_symlink() and entry.is_file():
                    total += entry.stat().st_size
            if total > cap:
                break
    if total > cap:
        raise ImportRequestError(
            f"{server_path}: more than {cap:,} bytes, the most the import page accepts "
            f"(HEADPOSE_MAX_IMPORT_UPLOAD_BYTES); import it with the command instead."
        )


def queue_import_job(job: Job, *, upload_server_path: bool = True) -> None:
    """Queue the import for the workers. A worker may run on another host that
    sees the media storage but not this host's files, so a server path is
    uploaded into storage first (a folder as a zip) and the job reads that
    (`import_* PATH --queue`). The admin's import page passes
    `upload_server_path=False`: a web request copies nothing, and the worker
    that runs the import reads the server path where it runs."""
    if not job.upload and upload_server_path:
        _upload_server_path(job, Path(job.input_name))
    pipeline.enqueue("run_import_job", job.pk, job=job)


def _upload_server_path(job: Job, path: Path) -> None:
    if path.is_dir():
        with tempfile.TemporaryFile() as packed:
            pack_folder(path, packed)
            packed.seek(0)
            job.upload.save(f"{path.name}.zip", File(packed), save=False)
    else:
        with open(path, "rb") as fh:
            job.upload.save(path.name, File(fh), save=False)
    job.save(update_fields=["upload"])


def _local_copy(job: Job) -> Path:
    """The job's stored upload copied to this host, in the job's own temporary
    folder (annotator/common/job_tmp.py; removed when the run ends, and by the
    next run or a reaper when this one is killed): the readers seek around a
    zip, and object storage cannot seek."""
    local = job_tmp.fresh_folder(job.pk) / f"upload{Path(job.upload.name).suffix}"
    with job.upload.storage.open(job.upload.name, "rb") as stored, open(local, "wb") as out:
        shutil.copyfileobj(stored, out, 1 << 20)
    return local


def _storage_name(dataset: Dataset, name: str) -> str:
    safe = re.sub(r"[^-a-zA-Z0-9_./]", "_", name).lstrip("./")
    return f"datasets/{dataset.name}/{safe}"


def store_sample(dataset: Dataset, sample) -> tuple[Image, bool]:
    """One sample -> Image + Faces + ground truth, atomically. Returns (image, created)."""
    checksum = hashlib.sha256(sample.image_bytes).hexdigest()
    frame_fields = {}
    if sample.frame is not None:
        sequence = sequences.stored_sequence(dataset, sample.frame)
        existing = sequences.stored_frame(sequence, sample.frame.frame_index, checksum)
        if existing is not None:
            return existing, False
        frame_fields = {
            "sequence": sequence,
            "frame_index": sample.frame.frame_index,
            "timestamp_s": sample.frame.timestamp_s,
        }
    existing = Image.objects.filter(dataset=dataset, checksum=checksum, sequence__isnull=True).first()
    if existing is not None and existing.file_name == sample.name:
        if frame_fields:  # stored before sequences existed (an older BIWI import): now a frame
            Image.objects.filter(pk=existing.pk).update(**frame_fields)
        return existing, False
    if existing is not None and not frame_fields:  # two frames may show the same picture; two images may not
        raise ValueError(f"same content as {existing.file_name}, already in the dataset; skipped.")
    if Image.objects.filter(dataset=dataset, file_name=sample.name).exists():
        raise ValueError("a different file with this name is already in the dataset (checksums differ).")
    stored = default_storage.save(_storage_name(dataset, sample.name), ContentFile(sample.image_bytes))
    try:
        with transaction.atomic():
            image = Image.objects.create(
                dataset=dataset,
                file=stored,
                file_name=sample.name,
                width=sample.width,
                height=sample.height,
                size_bytes=len(sample.image_bytes),
                checksum=checksum,
                K=flat(sample.K),
                **frame_fields,
            )
            for index, label in enumerate(sample.faces):
                face = Face.objects.create(
                    image=image,
                    index=index,
                    box=[float(v) for v in label.box],
                    landmarks_2d=None if label.landmarks_2d is None else label.landmarks_2d.tolist(),
                    landmarks_3d=None if label.landmarks_3d is None else label.landmarks_3d.tolist(),
                    landmark_scheme="ibug68"
                    if label.landmarks_2d is not None and len(label.landmarks_2d) == 68
                    else "",
                    landmarks_provenance=IMPORTED_LANDMARKS if label.landmarks_2d is not None else "",
                )
                if label.R is not None:
                    set_ground_truth(face=face, R=label.R, t=None if label.t is None else label.t)
    except Exception:
        default_storage.delete(stored)
        raise
    return image, True


def run_import_job(job_id: int, on_progress: Callable[[Job], None] | None = None) -> Job:
    """Run a queued (or failed, for a retry) import to the end, then what follows an import."""
    job = Job.objects.select_related("dataset").get(pk=job_id)
    module = importlib.import_module(READERS[job.kind][0])

    limits = Limits(max_total_bytes=settings.HEADPOSE_IMPORT_MAX_BYTES)
    jobs.start(job)
    throttle = jobs.Throttle()
    new_ids: list[int] = []
    counters = ("processed", "succeeded", "unchanged", "errors")
    local = None
    try:
        local = _local_copy(job) if job.upload else None
        source = str(local) if local else job.input_name
        if local is None and not Path(source).exists():
            raise FileNotFoundError(
                f"{source} is not on this worker's host: a server path is read where the import runs "
                f"(`import_* PATH --queue` on the host that has it uploads it first)"
            )
        reader_options = job.options.get("reader", {})
        job.total = module.count(source, limits, **reader_options)
        jobs.advance(job, ["total"])
        for record in module.iter_samples(source, limits, **reader_options):
            if not record.ok:
                jobs.add_error(job, record.name, record.message)
            else:
                try:
                    image, created = store_sample(job.dataset, record)
                    # stored by an earlier, interrupted run of this same job (the
                    # reaper re-sent it): this job's work, counted once
                    created = created or image.created_at >= job.created_at
                    if created:
                        job.succeeded += 1
                        new_ids.append(image.pk)
                    else:
                        job.unchanged += 1
                except Exception as exc:  # one bad sample never stops the import
                    jobs.add_error(job, record.name, str(exc) or exc.__class__.__name__)
            job.processed += 1
            if throttle.due():
                jobs.advance(job, counters)
                if on_progress:
                    on_progress(job)
        job.total = max(job.total, job.processed)
        jobs.finish(job, ["total", *counters])
    except Exception as exc:
        # The source itself is unreadable (not a zip, a bomb ...): the job fails
        # visibly; samples stored so far stay and a retry skips them.
        jobs.fail(
            job,
            f"import stopped: {exc}",
            name=job.input_name or (job.upload.name if job.upload else ""),
            fields=["total", *counters],
        )
    finally:
        job_tmp.remove(job.pk)
    sequences.count_frames(job.dataset)
    # the pages' figures counted here, in the worker: the dataset's first page view counts nothing
    refresh_summary(job.dataset)
    if on_progress:
        on_progress(job)
    pipeline.import_finished(job, new_ids)
    return job
