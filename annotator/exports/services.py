"""Label exports: who may export, the request's options, small exports written
in the request, large ones as a Job run by a worker (progress, download link).

Formats and their writers are plain Python in workers/core/exports; rows come
from selectors.label_rows. A failed export never leaves a half-written file
behind a 200: small ones are written completely before the response starts,
a job's file is attached only once it is complete."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from annotator.common import access, jobs, pipeline, poses
from annotator.common.models import Job
from annotator.datasets.models import Dataset, Face, Split
from annotator.exports.selectors import LABEL_CHOICES, LABEL_HELP, label_batches, label_rows
from annotator.quality.services import flush_consensus
from annotator.sequences.selectors import track_rows
from workers.core.exports import FORMATS, InvalidRow, InvalidRowsError, write_csv_export, write_export

# Formats whose rows carry landmarks as the `landmarks` option says; the others read none
# (they dominate the row size), but .mat, whose pt3d_68 is the face's own 3D landmarks when
# they match the pose, reads those whatever the option.
WITH_LANDMARKS = {"json", "jsonl", "coco"}
LANDMARK_COLUMNS = {"none": (), "2d": ("landmarks_2d",), "full": ("landmarks_2d", "landmarks_3d")}
LANDMARK_HELP = (
    "Landmarks in json, jsonl and coco (keypoints): 2d (default): landmarks_2d rounded to 0.01 px, "
    "landmarks_3d null; none: neither (COCO keypoints all 0); full: both at full float precision "
    "(about 8 KB a face in json instead of about 2 KB). The other formats ignore it (.mat always "
    "carries pt3d_68)."
)


def landmark_columns(options: dict) -> tuple[str, ...]:
    """The landmark columns an export reads."""
    if options["format"] == "aflw2000_mat":
        return ("landmarks_3d",)
    if options["format"] not in WITH_LANDMARKS:
        return ()
    return LANDMARK_COLUMNS[options.get("landmarks") or "2d"]


class ExportDenied(PermissionDenied):
    """The user sees the dataset but may not export its labels (a 403)."""


class ExportRequest(serializers.Serializer):
    """What to export; used by the API (query string or body) and the dataset page's form."""

    format = serializers.ChoiceField(
        choices=sorted(FORMATS),
        default="json",
        help_text="; ".join(f"{k}: {v.description}" for k, v in sorted(FORMATS.items())),
    )
    labels = serializers.ChoiceField(
        choices=list(LABEL_CHOICES), default="best", help_text="; ".join(f"{k}: {v}" for k, v in LABEL_HELP.items())
    )
    proposer = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only this proposer's proposals (labels=proposals or best)",
    )
    split = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Split id: only its images",
    )
    landmarks = serializers.ChoiceField(choices=list(LANDMARK_COLUMNS), default="2d", help_text=LANDMARK_HELP)
    skip_invalid = serializers.BooleanField(
        default=False,
        help_text="Leave out faces whose stored pose cannot be written (named in the X-Skipped-Faces "
        "header, a SKIPPED_FACES.json member of zips, or the job's result); by default "
        "such faces refuse the export with their list",
    )


def dataset_for_export(user, dataset_id: int) -> Dataset:
    """The dataset if `user` may export its labels. Dataset.DoesNotExist when
    they cannot see it (404), ExportDenied when they see it but may not read
    everyone's labels (annotators: 403)."""
    if dataset_id not in access.visible_dataset_ids(user):
        raise Dataset.DoesNotExist
    if not access.may_read_labels(user, dataset_id):
        raise ExportDenied("Exports are for reviewers, researchers and admins of this dataset.")
    return Dataset.objects.get(pk=dataset_id)


def resolve_split(dataset: Dataset, split_id: int | None) -> Split | None:
    if split_id is None:
        return None
    split = Split.objects.filter(pk=split_id, dataset=dataset).first()
    if split is None:
        raise serializers.ValidationError({"split": [f"No split {split_id} in dataset {dataset.name}."]})
    return split


def face_count(dataset: Dataset, split: Split | None) -> int:
    faces = Face.objects.filter(image__dataset=dataset)
    if split is not None:
        faces = faces.filter(image__in=split.images.values("pk"))
    return faces.count()


def file_name(dataset: Dataset, options: dict) -> str:
    fmt = FORMATS[options["format"]]
    return f"{dataset.name}-{options['labels']}-{options['format']}{fmt.extension}"


def download_name(job: Job) -> str:
    """The file name an export job's file is downloaded under (its stored name is unguessable)."""
    return job.result.get("file_name") or file_name(job.dataset, job.options)


def _meta(dataset: Dataset, options: dict, split: Split | None) -> dict:
    meta = {
        "dataset": dataset.name,
        "labels": options["labels"],
        "proposer": options.get("proposer") or None,
        "split": None if split is None else f"{split.name} v{split.version}",
        "exported_at": timezone.now().isoformat(),
    }
    if options["format"] in WITH_LANDMARKS:
        meta["landmarks"] = options.get("landmarks") or "2d"
    return meta


@dataclass
class Written:
    rows: int
    skipped: list = field(default_factory=list)  # InvalidRow, with options["skip_invalid"]

    def skipped_header(self) -> str:
        """The X-Skipped-Faces header: the count, then face ids (the first 200)."""
        ids = ",".join(str(r.face_id) for r in self.skipped[:200])
        return f"{len(self.skipped)}; face_ids={ids}" + (",..." if len(self.skipped) > 200 else "")


def write(dataset: Dataset, options: dict, out, on_progress=None) -> Written:
    """Write the export to a binary stream. Faces whose stored pose breaks the
    rules refuse it (InvalidRowsError, listing them all) unless
    options["skip_invalid"]: then they are left out and listed in the result."""
    split = resolve_split(dataset, options.get("split"))
    if options["labels"] == "consensus":
        flush_consensus(dataset.pk)  # rows lagging behind their labels: up to date first
    skipped: list[InvalidRow] | None = [] if options.get("skip_invalid") else None
    if options["format"] == "csv" and options["labels"] not in ("consensus", "track"):
        # a batch at a time, formatted as columns (label_columns): the same bytes, several times faster
        batches = label_batches(
            dataset,
            labels=options["labels"],
            proposer=options.get("proposer") or None,
            split=split,
            with_landmarks=(),
            lean_csv=True,
        )
        n = write_csv_export(batches, out, on_progress, skipped=skipped, limits=poses.limits())
        return Written(n, skipped or [])
    rows = label_rows(
        dataset,
        labels=options["labels"],
        proposer=options.get("proposer") or None,
        split=split,
        with_landmarks=landmark_columns(options),
    )
    n = write_export(
        options["format"],
        rows,
        out,
        _meta(dataset, options, split),
        on_progress,
        skipped=skipped,
        limits=poses.limits(),
    )
    return Written(n, skipped or [])


def sequence_csv(sequence) -> bytes:
    """One sequence's labels=track CSV (the sequence page's download): a frame
    whose label breaks the pose rules refuses it, as every export does."""
    import io

    out = io.BytesIO()
    options = {"format": "csv", "labels": "track"}
    write_export(
        "csv",
        track_rows(sequence.dataset, sequence=sequence),
        out,
        {**_meta(sequence.dataset, options, None), "sequence": sequence.name},
        limits=poses.limits(),
    )
    return out.getvalue()


def stream_limit() -> int:
    return int(getattr(settings, "HEADPOSE_EXPORT_STREAM_MAX_FACES", 20000))


def fits_in_request(dataset: Dataset, options: dict) -> tuple[bool, int]:
    """(whether the export is small enough to answer directly, its face count)."""
    n = face_count(dataset, resolve_split(dataset, options.get("split")))
    return n <= stream_limit(), n


def export_to_temp(dataset: Dataset, options: dict):
    """A small export written completely to a temporary file (rewound), with what was written."""
    # returned open on purpose (the response streams it, then closes it)
    tmp = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115
    try:
        written = write(dataset, options, tmp)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return tmp, written


# --- jobs (services) -------------------------------------------------------------


def create_export_job(*, user, dataset: Dataset, options: dict) -> Job:
    resolve_split(dataset, options.get("split"))  # a bad split is a 400 now, not a failed job later
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.EXPORT, dataset=dataset, options=dict(options), created_by=user)
        pipeline.enqueue("run_export_job", job.pk, job=job)
    return job


def run_export_job(job_id: int) -> Job:
    job = Job.objects.select_related("dataset").get(pk=job_id)
    options = job.options
    jobs.start(job, total=face_count(job.dataset, resolve_split(job.dataset, options.get("split"))))
    throttle = jobs.Throttle()

    def progress(n: int) -> None:
        if throttle.due():
            job.processed = min(n, job.total or n)
            jobs.advance(job)

    try:
        with tempfile.TemporaryFile() as tmp:
            written = write(job.dataset, options, tmp, progress)
            tmp.seek(0)
            job.result_file.save(file_name(job.dataset, options), File(tmp), save=False)
        n = written.rows
        job.processed = job.succeeded = n
        job.total = max(job.total, n)
        job.result = {
            "rows": n,
            "format": options["format"],
            "labels": options["labels"],
            "file_name": file_name(job.dataset, options),
            "bytes": job.result_file.size,
            "skipped": [r.to_dict() for r in written.skipped],
        }
        jobs.finish(job, fields=None)
    except InvalidRowsError as exc:
        # every face that cannot be written, each with its id (no generic line on top)
        job.errors = [
            {"name": f"{r.image} face {r.face_index}", "message": str(r), "face_id": r.face_id} for r in exc.invalid
        ]
        job.result = {
            "invalid_faces": len(exc.invalid),
            "hint": "export again with skip_invalid to write the other faces",
        }
        job.state, job.finished_at = jobs.FAILED, timezone.now()
        job.save()
    except Exception as exc:  # the job must end visibly failed, never stay "running"
        jobs.fail(job, str(exc), fields=None)
    return job


def export_jobs_of(user):
    qs = Job.objects.filter(kind=Job.Kind.EXPORT).select_related("dataset")
    return qs if access.is_admin(user) else qs.filter(created_by=user)


def job_for_download(user, job_id: int) -> Job:
    """The user's finished export job (admins: any), still readable by them."""
    job = export_jobs_of(user).filter(pk=job_id).first()
    if job is None or not access.may_read_labels(user, job.dataset_id):
        raise Job.DoesNotExist
    return job
