"""Reads. Views call these; they never write."""
import json

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case, Count, Exists, IntegerField, Min, OuterRef, Subquery, TextField, Value, When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from annotator import access
from annotator.access import visible_dataset_ids
from annotator.models import (
    Annotation, AnnotationOrigin, AnnotationStatus, Dataset, Face, FaceConsensus, Image, Proposal, ReviewClaim,
    ReviewState, Split,
)


def visible_datasets(user):
    """Datasets a user may see (the rule lives in annotator.access)."""
    return Dataset.objects.filter(pk__in=visible_dataset_ids(user))


def _count(queryset, dataset_path: str):
    # One correlated sub-query per figure: joining all tables at once would
    # multiply rows (images x faces x proposals) before counting.
    sub = (
        queryset.filter(**{dataset_path: OuterRef("pk")})
        .order_by()
        .values(dataset_path)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def with_counts(datasets):
    return datasets.annotate(
        n_images=_count(Image.objects.all(), "dataset"),
        n_faces=_count(Face.objects.all(), "image__dataset"),
        n_ground_truth=_count(Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH), "dataset"),
        n_proposals=_count(Proposal.objects.all(), "face__image__dataset"),
        n_annotations=_count(Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR), "dataset"),
    )


LABEL_CHOICES = ("best", "ground_truth", "accepted", "annotations", "proposals", "track", "consensus")
LABEL_HELP = {
    "best": "per face: the latest accepted/corrected annotation (not rejected by a reviewer), else the ground truth, "
            "else the newest proposal",
    "ground_truth": "the dataset's own labels",
    "accepted": "per face: the latest accepted or corrected annotation by any annotator (not rejected by a reviewer)",
    "annotations": "every annotator's accepted or corrected annotation (several rows per face)",
    "proposals": "the newest proposal per face (of `proposer` if given)",
    "track": ("per frame of each sequence: its keyframe, else its interpolated pose, else its smoothed proposal "
              "(track_label says which); images outside a sequence: as best"),
    "consensus": "per face: the robust consensus of its annotators' accepted/corrected labels, with member_count "
                 "and dispersion_deg (faces nobody labeled are left out)",
}


def label_rows(dataset: Dataset, labels: str = "best", proposer: str | None = None, split=None,
               with_landmarks: bool = True):
    """LabelRows (workers.core.label_rows) of a dataset's faces, in image-name order.

    Reads plain values, not model instances, in three queries (faces, annotations,
    proposals): an export of 100k faces would otherwise spend most of its time
    building objects. `split` limits to the split's images; with_landmarks=False
    skips the heavy landmark columns for formats that do not write them."""
    from workers.core.label_rows import LabelRow

    if labels not in LABEL_CHOICES:
        raise ValueError(f"labels must be one of {LABEL_CHOICES}")
    track = labels == "track"
    if track:  # frames of sequences from their tracks (below); the other images as best
        labels = "best"
    faces = Face.objects.filter(image__dataset=dataset)
    if track:
        faces = faces.filter(image__sequence__isnull=True)
    if split is not None:
        faces = faces.filter(image__in=split.images.values("pk"))
    face_fields = ["pk", "index", "image_id", "image__file_name", "image__width", "image__height", "landmark_scheme",
                   "image__sequence__name", "image__frame_index"]
    face_json = ["box", "image__K"] + (["landmarks_2d", "landmarks_3d"] if with_landmarks else [])
    if split is not None:
        scope = ann_scope = {"face__in": faces.values("pk")}
    else:  # annotations carry their dataset; proposals reach it through the face
        scope, ann_scope = {"face__image__dataset": dataset}, {"dataset": dataset}

    gt, accepted = {}, {}
    ann_fields = ["face_id", "status", "version", "updated_text", "author__username", "proposal__proposer",
                  "proposal__proposer_version"]
    updated_text = {"updated_text": Cast("updated_at", TextField())}
    if labels in ("best", "ground_truth"):
        truth = Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH, **ann_scope).annotate(**updated_text)
        for a in _values_json(truth, ann_fields, ["R", "t"]):
            gt[a["face_id"]] = a
    if labels in ("best", "accepted", "annotations"):
        # a label a reviewer rejected is not exported until its annotator saves it again
        done = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, **ann_scope,
                                         status__in=[AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]
                                         ).exclude(review_state=ReviewState.REJECTED).annotate(**updated_text)
        for a in _values_json(done.order_by("updated_at", "pk"), ann_fields, ["R", "t", "landmark_pins"]):
            accepted.setdefault(a["face_id"], []).append(a)
    agreed = {}
    if labels == "consensus":
        from annotator.models import FaceConsensus

        for c in _values_json(FaceConsensus.objects.filter(**ann_scope),
                              ["face_id", "member_count", "dispersion_deg", "computed_at"], ["R", "t"]):
            agreed[c["face_id"]] = c
    props = {}
    if labels in ("best", "proposals"):
        pq = Proposal.objects.filter(**scope).order_by("created_at", "pk")
        if proposer:
            pq = pq.filter(proposer=proposer)
        for p in _values_json(pq, ["face_id", "proposer", "proposer_version", "weights_sha256", "score", "created_at"],
                              ["R", "t"]):
            props[p["face_id"]] = p

    def row(f, pose, origin, detail, provenance, matches):
        return LabelRow(
            f["image__file_name"], f["index"], pose["R"], pose["t"], origin, detail,
            image_id=f["image_id"], face_id=f["pk"], width=f["image__width"], height=f["image__height"],
            K=f["image__K"], box=f["box"], landmarks_2d=f.get("landmarks_2d"), landmarks_3d=f.get("landmarks_3d"),
            landmark_scheme=f["landmark_scheme"], landmarks_match_pose=matches,
            provenance={"dataset": dataset.name, **provenance}, landmark_pins=pose.get("landmark_pins") or [],
            sequence=f["image__sequence__name"] or "", frame_index=f["image__frame_index"],
        )

    def annotation_row(f, a):
        who = a["author__username"]
        prov = {"origin": "annotator", "author": who, "status": a["status"], "version": a["version"],
                "updated_at": _iso_text(a["updated_text"])}
        if a["proposal__proposer"]:
            prov["started_from"] = f'{a["proposal__proposer"]}@{a["proposal__proposer_version"]}'
        return row(f, a, "annotator", who, prov, False)

    for f in _values_json(faces.order_by("image__file_name", "index"), face_fields, face_json):
        fid = f["pk"]
        if labels == "consensus":
            if fid in agreed:
                c = agreed[fid]
                r = row(f, c, "consensus", f'{c["member_count"]} annotators', {
                    "origin": "consensus", "member_count": c["member_count"], "dispersion_deg": c["dispersion_deg"],
                    "computed_at": c["computed_at"].isoformat()}, False)
                r.member_count, r.dispersion_deg = c["member_count"], c["dispersion_deg"]
                yield r
        elif labels == "annotations":
            for a in accepted.get(fid, []):
                yield annotation_row(f, a)
        elif labels in ("best", "accepted") and fid in accepted:
            yield annotation_row(f, accepted[fid][-1])
        elif labels in ("best", "ground_truth") and fid in gt:
            a = gt[fid]
            yield row(f, a, "ground_truth", dataset.name, {"origin": "ground_truth", "status": "ground_truth",
                                                           "version": a["version"]}, True)
        elif labels in ("best", "proposals") and fid in props:
            p = props[fid]
            detail = f'{p["proposer"]}@{p["proposer_version"]}'
            yield row(f, p, "proposal", detail, {
                "origin": "proposal", "proposer": p["proposer"], "proposer_version": p["proposer_version"],
                "weights_sha256": p["weights_sha256"], "score": p["score"], "created_at": p["created_at"].isoformat()},
                False)
    if track:
        from annotator.selectors_sequences import track_rows

        yield from track_rows(dataset, split)


def _values_json(queryset, fields: list[str], json_fields: list[str], chunk: int = 5000):
    """queryset.values(*fields, *json_fields), streamed, with the JSON columns
    read as text and decoded a chunk at a time: one json.loads per few thousand
    values instead of one per value (per-value decoding was most of the time of
    a 100k-face export)."""
    aliases = {f"{name.replace('__', '_')}_as_json": name for name in json_fields}
    rows = queryset.annotate(**{a: Cast(name, TextField()) for a, name in aliases.items()}).values(*fields, *aliases)
    batch = []
    for row in rows.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) >= chunk:
            yield from _decode_json(batch, aliases)
            batch = []
    if batch:
        yield from _decode_json(batch, aliases)


def _decode_json(batch: list[dict], aliases: dict) -> list[dict]:
    for alias, name in aliases.items():
        texts = [row.pop(alias) or "null" for row in batch]  # SQL NULL -> JSON null
        unique = list(dict.fromkeys(texts))
        if len(unique) < len(texts) // 2:
            # e.g. K: every image of a camera has the same one; the rows share the decoded list (read-only)
            decoded = dict(zip(unique, json.loads("[" + ",".join(unique) + "]")))
            for row, text in zip(batch, texts):
                row[name] = decoded[text]
        else:
            for row, value in zip(batch, json.loads("[" + ",".join(texts) + "]")):
                row[name] = value
    return batch


def _iso_text(text: str) -> str:
    """A timestamp cast to text by the database -> ISO 8601 (UTC, as Django stores it):
    much cheaper than building datetime objects for every exported row."""
    text = text.replace(" ", "T", 1)
    if text.endswith("+00"):
        return text + ":00"
    return text if text.endswith("Z") or "+" in text[19:] else text + "+00:00"


def proposal_accuracy(dataset: Dataset, proposer: str | None = None) -> list[dict]:
    """Per proposer version: MAE against the ground truth of the faces its own
    detections were matched to, and how many ground-truth faces it found."""
    import numpy as np

    from workers.core.metrics import evaluate
    from workers.core.proposers.confidence import curve

    gt = {
        a.face_id: a.R
        for a in Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.GROUND_TRUTH).only(
            "face_id", "R"
        )
    }
    proposals = Proposal.objects.filter(face_id__in=list(gt))
    if proposer:
        proposals = proposals.filter(proposer=proposer)
    groups: dict[tuple, list] = {}
    for p in proposals.only("face_id", "R", "proposer", "proposer_version", "confidence"):
        groups.setdefault((p.proposer, p.proposer_version), []).append(p)
    rows = []
    for (name, version), items in sorted(groups.items()):
        pred = np.array([p.R for p in items], dtype=np.float64).reshape(-1, 3, 3)
        true = np.array([gt[p.face_id] for p in items], dtype=np.float64).reshape(-1, 3, 3)
        m = evaluate(pred, true, per_sample=True)
        rated = [(p.confidence, e) for p, e in zip(items, m["per_sample"]["err_mean"]) if p.confidence is not None]
        rows.append({
            "proposer": name, "version": version, "found": len(items), "ground_truth_faces": len(gt),
            **{k: m[k] for k in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean")},
            # by ground-truth |yaw| (wide: the back of the head is past 90)
            "yaw_bins": [{k: b[k] for k in ("label", "count", "mae_yaw", "mae_pitch", "mae_roll", "mae_mean")}
                         for b in m["yaw_bins"]],
            # calibrated when the mean error falls from the low-confidence third to the high one
            "confidence_curve": curve(*zip(*rated)) if rated else [],
        })
    return rows


def faces_needing_review(dataset: Dataset):
    """Faces whose annotators disagree: their consensus (annotator/quality.py) spread
    over HEADPOSE_CONSENSUS_REVIEW_DEG or left a member out as an outlier. Most spread first."""
    return (Face.objects.filter(consensus__dataset=dataset, consensus__needs_review=True)
            .select_related("consensus").order_by("-consensus__dispersion_deg", "pk"))


def dataset_faces(dataset: Dataset, *, state: str | None = None, author=None):
    """Faces of a dataset with their image and `label_rank` (the index of their
    state in LABEL_STATES; `with_label_states` names it), for listing pages;
    `state` keeps only faces in that state. With `author`, the state is computed
    from that user's labels only (an annotator never learns what others did with
    a face)."""
    faces = (
        Face.objects.filter(image__dataset=dataset)
        .select_related("image", "mesh")
        .annotate(label_rank=label_rank(author))
        .order_by("image__file_name", "index")
    )
    # Filtered per face, in name order: a page needs only as many faces as it shows
    # (its count comes from label_state_counts, one pass over the labels).
    return faces.filter(label_rank=STATE_NAMES.index(state)) if state else faces


def with_label_states(faces):
    """Set `label_state` (the LABEL_STATES word) on faces from dataset_faces."""
    for face in faces:
        face.label_state = STATE_NAMES[face.label_rank]
    return faces


# Labels a reviewer looks at: finished ones with a pose or a flag (drafts and skips are not labels).
REVIEWABLE = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED, AnnotationStatus.FLAGGED]

# A face's label state on the dataset page, from its annotators' labels. The first
# that holds wins: a face needing someone's attention shows as such.
LABEL_STATES = {
    "rejected": "a reviewer sent a label back to its annotator",
    "flagged": "an annotator flagged it (no face, occluded, not a head, ...)",
    "in_review": "a reviewer has it open on the review page",
    "labeled": "labeled, waiting for a review",
    "approved": "every label approved or corrected by a reviewer",
    "unlabeled": "no finished label yet (drafts and skips do not count)",
}
STATE_NAMES = list(LABEL_STATES)


def _label_rank_of_annotation():
    """Each label's rank: the index in LABEL_STATES of the state it alone would
    give its face (its own verdict is its review_state)."""
    return Case(
        When(review_state=ReviewState.REJECTED, then=Value(0)),
        When(status=AnnotationStatus.FLAGGED, review_state=ReviewState.PENDING, then=Value(1)),
        # a join, not an EXISTS per label: the claim is one-to-one with its annotation
        When(review_claim__expires_at__gt=timezone.now(), review_state=ReviewState.PENDING, then=Value(2)),
        When(review_state=ReviewState.PENDING, then=Value(3)),
        default=Value(4), output_field=IntegerField(),
    )


def _labels(author, **scope):
    labels = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, status__in=REVIEWABLE, **scope)
    return labels if author is None else labels.filter(author=author)


def label_rank(author=None):
    """Per face, the index in LABEL_STATES of its state (the smallest rank of its
    labels, else "unlabeled"), as one correlated sub-query: for a page of faces."""
    best = (_labels(author, face=OuterRef("pk")).annotate(rank=_label_rank_of_annotation())
            .order_by("rank").values("rank")[:1])
    return Coalesce(Subquery(best, output_field=IntegerField()), Value(STATE_NAMES.index("unlabeled")))


def _face_ranks(dataset: Dataset, author=None):
    """{face_id, rank} of every labeled face of the dataset, in one pass over its labels."""
    return (_labels(author, dataset=dataset).annotate(label=_label_rank_of_annotation())
            .order_by().values("face_id").annotate(rank=Min("label")))


def label_state_counts(dataset: Dataset, author=None) -> dict[str, int]:
    """{state: number of faces} for every LABEL_STATES word (zeros included):
    one pass over the dataset's labels, counted by the database."""
    from django.db import connection

    counts = dict.fromkeys(LABEL_STATES, 0)
    sql, params = _face_ranks(dataset, author).values("rank").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT per_face.rank, COUNT(*) FROM ({sql}) AS per_face GROUP BY per_face.rank", params)
        for rank, n in cursor.fetchall():
            counts[STATE_NAMES[rank]] = n
    counts["unlabeled"] = Face.objects.filter(image__dataset=dataset).count() - sum(counts.values())
    return counts


def review_queue(dataset: Dataset, reviewer):
    """Annotations of `dataset` awaiting `reviewer`'s verdict, in the order the
    review page hands them out: the oldest label first. Excluded: their own
    labels, and labels another reviewer holds. Labels of faces whose annotators
    disagree (faces_needing_review: consensus spread over the setting, or an
    outlier) come first. The one place this order is decided
    (reviewing.next_for_review first gives back a label the reviewer already
    holds). Walks the partial index annotation_review_pending."""
    claims = ReviewClaim.objects.filter(annotation=OuterRef("pk"), expires_at__gt=timezone.now())
    disputed = FaceConsensus.objects.filter(face=OuterRef("face_id"), needs_review=True)
    return (
        Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.ANNOTATOR, status__in=REVIEWABLE,
                                  review_state=ReviewState.PENDING)
        .exclude(author=reviewer)
        .exclude(Exists(claims.exclude(reviewer=reviewer)))
        .annotate(disputed=Exists(disputed))
        .order_by("-disputed", "updated_at", "pk")
    )


# --- the API's lists: what the caller may see, filtered ------------------------------
# `filters` is the parsed query string (annotator.api.filters): only the given keys.

def visible_images(user):
    return Image.objects.filter(dataset_id__in=visible_dataset_ids(user))


def visible_faces(user):
    return Face.objects.filter(image__dataset_id__in=visible_dataset_ids(user)).select_related("image")


def visible_proposals(user):
    return Proposal.objects.filter(face__image__dataset_id__in=visible_dataset_ids(user))


def readable_annotations(user):
    """Annotations whose labels the user may read (annotator.access decides)."""
    qs = Annotation.objects.select_related("author", "reviewed_by")
    return qs if access.is_admin(user) else qs.filter(access.annotation_filter(user))


def annotation_for_review(user, annotation_id: int) -> Annotation:
    """The annotation if `user` may review it. Annotation.DoesNotExist when they
    cannot read it (a 404), PermissionDenied when they read it but may not review it."""
    annotation = readable_annotations(user).get(pk=annotation_id)
    if annotation.dataset_id not in access.reviewer_dataset_ids(user):
        raise PermissionDenied("You are not a reviewer of this dataset.")
    if annotation.origin != AnnotationOrigin.ANNOTATOR:
        raise PermissionDenied("Ground truth from the dataset is not reviewed.")
    return annotation


def _split_images(dataset_ids: set[int], split_id: int):
    """The images of a split of these datasets; Split.DoesNotExist (a 404) otherwise."""
    split = Split.objects.filter(pk=split_id, dataset_id__in=dataset_ids).first()
    if split is None:
        raise Split.DoesNotExist("No such split.")
    return split.images.values("pk")


def _scoped(queryset, user, filters: dict, dataset_path: str, image_path: str):
    """The caller's visible datasets (narrowed to `dataset`), then `split` and `image`."""
    datasets = visible_dataset_ids(user)
    if "dataset" in filters:
        datasets = datasets & {filters["dataset"]}
    queryset = queryset.filter(**{f"{dataset_path}__in": datasets})
    if "split" in filters:
        queryset = queryset.filter(**{f"{image_path}__in": _split_images(datasets, filters["split"])})
    if "image" in filters:
        queryset = queryset.filter(**{image_path: filters["image"]})
    return queryset


def image_list(user, filters: dict):
    images = _scoped(Image.objects.all(), user, filters, "dataset_id", "pk")
    return images.filter(sequence_id=filters["sequence"]) if "sequence" in filters else images


def face_list(user, filters: dict):
    return _scoped(Face.objects.select_related("image"), user, filters, "image__dataset_id", "image_id")


def proposal_list(user, filters: dict):
    qs = _scoped(Proposal.objects.all(), user, filters, "face__image__dataset_id", "face__image_id")
    for name, lookup in (("face", "face_id"), ("proposer", "proposer"), ("created_since", "created_at__gte")):
        if name in filters:
            qs = qs.filter(**{lookup: filters[name]})
    return qs


def annotation_list(user, filters: dict):
    if "dataset" in filters and filters["dataset"] in access.label_reader_dataset_ids(user):
        # the whole dataset is readable: no per-author OR, so the page is one
        # range of the (dataset, id) index
        qs = Annotation.objects.filter(dataset_id=filters["dataset"]).select_related("author", "reviewed_by")
    else:
        qs = readable_annotations(user)
        if "dataset" in filters:
            qs = qs.filter(dataset_id=filters["dataset"])
    if "split" in filters:
        qs = qs.filter(face__image_id__in=_split_images(visible_dataset_ids(user), filters["split"]))
    for name, lookup in (("image", "face__image_id"), ("face", "face_id"), ("origin", "origin"),
                         ("author", "author__username"), ("proposer", "proposal__proposer"),
                         ("updated_since", "updated_at__gte")):
        if name in filters:
            qs = qs.filter(**{lookup: filters[name]})
    if filters.get("status"):
        qs = qs.filter(status__in=sorted(filters["status"]))
    if "review_state" in filters:
        qs = qs.filter(review_state="" if filters["review_state"] == "pending" else filters["review_state"])
    return qs
