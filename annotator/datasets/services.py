"""Writes to a dataset's own rows (imports, splits: importing.py, splits.py): its
queue settings, its counted figures (DatasetSummary)."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotator.common import pipeline
from annotator.common.access import label_reader_dataset_ids
from annotator.datasets.models import Dataset, DatasetSummary, Face, Image
from annotator.labeling.models import Annotation, AnnotationOrigin
from annotator.labeling.selectors import LABEL_STATES, label_state_counts, label_state_counts_by_author
from annotator.proposals.models import Proposal
from annotator.proposals.selectors import proposers_of
from annotator.quality.models import FaceConsensus


def change_settings(dataset: Dataset, values: dict) -> Dataset:
    """Service: set the dataset's queue settings (checked by the caller's serializer)."""
    for name, value in values.items():
        setattr(dataset, name, value)
    dataset.save(update_fields=list(values))
    return dataset


# --- a dataset's figures, counted off the request's path (issue 27) --------------------------


def summary_settings() -> tuple[int, float]:
    """(faces under which a dataset is counted on the request, seconds a summary is shown before a refresh)."""
    return settings.HEADPOSE_SUMMARY_INLINE_FACES, settings.HEADPOSE_SUMMARY_MAX_AGE_S


def count_figures(dataset: Dataset) -> dict:
    """Every figure the home and dataset pages show, counted now: a few grouped
    queries over the dataset's rows (a worker's work at scale)."""
    faces = Face.objects.filter(image__dataset=dataset).count()
    authors: dict[str, dict] = {}
    ground_truth = annotations = 0
    per_author = (
        Annotation.objects.filter(dataset=dataset).order_by().values_list("origin", "author_id").annotate(n=Count("pk"))
    )
    for origin, author_id, n in per_author:
        if origin == AnnotationOrigin.GROUND_TRUTH:
            ground_truth += n
        elif author_id is not None:
            annotations += n
            authors[str(author_id)] = {"annotations": n, "states": dict.fromkeys(LABEL_STATES, 0)}
    for author_id, states in label_state_counts_by_author(dataset, faces).items():
        authors.setdefault(str(author_id), {"annotations": 0})["states"] = states
    return {
        "images": Image.objects.filter(dataset=dataset).count(),
        "faces": faces,
        "proposals": Proposal.objects.filter(face__image__dataset=dataset).count(),
        "ground_truth": ground_truth,
        "annotations": annotations,
        "states": label_state_counts(dataset, n_faces=faces),
        "needs_review": FaceConsensus.objects.filter(dataset=dataset, needs_review=True).count(),
        "proposers": list(proposers_of(dataset)),  # the export form's choices (a DISTINCT over the proposals)
        "authors": authors,
    }


def refresh_summary(dataset: Dataset, *, store: bool = True) -> DatasetSummary:
    """Service: count the dataset's figures now and (with `store`) keep them (the
    worker's task `refresh_dataset_summary`; a small dataset's page)."""
    started = time.perf_counter()
    summary = DatasetSummary(
        dataset=dataset,
        figures=count_figures(dataset),
        computed_at=timezone.now(),
        compute_s=time.perf_counter() - started,
    )
    if store:  # an upsert: two pages counting a new dataset at once both succeed
        DatasetSummary.objects.bulk_create(
            [summary],
            update_conflicts=True,
            unique_fields=["dataset"],
            update_fields=["figures", "computed_at", "compute_s"],
        )
    return summary


def refresh_summary_of(dataset_id: int) -> dict:
    """The worker's side of a refresh: {dataset, faces, seconds}."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:  # deleted since: nothing to count
        return {"dataset": dataset_id, "faces": None}
    summary = refresh_summary(dataset)
    return {"dataset": dataset_id, "faces": summary.figures["faces"], "seconds": round(summary.compute_s, 3)}


def current_summaries(datasets) -> dict[int, DatasetSummary]:
    """Service: each dataset's figures as a page shows them, in one read of the
    stored summaries. A dataset under HEADPOSE_SUMMARY_INLINE_FACES faces (or not
    counted yet) is counted on the request, exact; a larger one shows its stored
    figures, and one older than HEADPOSE_SUMMARY_MAX_AGE_S is sent to a worker to
    be counted again (once per that age; the page shows how old its figures are)."""
    inline_faces, max_age_s = summary_settings()
    now = timezone.now()
    datasets = list(datasets)
    stored = {s.dataset_id: s for s in DatasetSummary.objects.filter(dataset__in=datasets)}
    out = {}
    for dataset in datasets:
        summary = stored.get(dataset.pk)
        old = summary is None or summary.computed_at < now - timedelta(seconds=max_age_s)
        if summary is None or summary.figures.get("faces", 0) < inline_faces:
            summary = refresh_summary(dataset, store=old)
        elif old:
            _request_refresh(dataset.pk, now, max_age_s)
        out[dataset.pk] = summary
    return out


def _request_refresh(dataset_id: int, now, max_age_s: float) -> None:
    """Send the dataset's count to a worker, unless one was sent within max_age_s
    (one conditional UPDATE decides, so many pages send one task)."""
    due = Q(requested_at__isnull=True) | Q(requested_at__lt=now - timedelta(seconds=max_age_s))
    if DatasetSummary.objects.filter(Q(pk=dataset_id) & due).update(requested_at=now):
        # a broker that is down only delays the count: robust, the page still answers
        transaction.on_commit(lambda: pipeline.enqueue("refresh_dataset_summary", dataset_id), robust=True)


def summary_states(figures: dict, author=None) -> dict[str, int]:
    """{state: faces} of a summary's figures: everyone's labels, or with `author`
    only theirs (every face unlabeled for one without a label)."""
    if author is None:
        return figures["states"]
    states = figures["authors"].get(str(author.pk), {}).get("states")
    return states or {**dict.fromkeys(LABEL_STATES, 0), "unlabeled": figures["faces"]}


def with_summary_counts(datasets, user) -> list:
    """Service: set each dataset's figures (n_images, n_faces, n_ground_truth, n_proposals,
    n_annotations) from its summary, as selectors.with_counts names them: where the
    user may not read every label, no ground-truth count and only their own labels."""
    summaries = current_summaries(datasets)
    readers = label_reader_dataset_ids(user)
    for dataset in datasets:
        figures = summaries[dataset.pk].figures
        reads = dataset.pk in readers
        dataset.n_images, dataset.n_faces, dataset.n_proposals = (
            figures["images"],
            figures["faces"],
            figures["proposals"],
        )
        dataset.n_ground_truth = figures["ground_truth"] if reads else None
        own = figures["authors"].get(str(user.pk), {}).get("annotations", 0)
        dataset.n_annotations = figures["annotations"] if reads else own
        dataset.counted_at = summaries[dataset.pk].computed_at
    return datasets
