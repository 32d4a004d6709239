from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Count, IntegerField, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotator.common import access
from annotator.common.access import visible_dataset_ids
from annotator.common.roles import Role, has_role
from annotator.common.rows import UPDATED_TEXT, RowScope, values_json
from annotator.datasets.models import Assignment, Dataset, Face, Image
from annotator.datasets.selectors import _split_images, visible_datasets
from annotator.labeling.models import Annotation, AnnotationOrigin, AnnotationStatus, FaceClaim, ReviewState


def dataset_faces(
    dataset: Dataset, *, state: str | None = None, author=None, needs_review: bool = False, sparse: bool = True
):
    """Faces of a dataset with their image and `label_rank` (the index of their
    state in LABEL_STATES; `with_label_states` names it), for listing pages;
    `state` keeps only faces in that state. With `author`, the state is computed
    from that user's labels only (an annotator never learns what others did with
    a face). `needs_review`: only faces whose consensus needs a review (their
    labels disagree; for those who see the dataset's quality)."""
    faces = (
        Face.objects.filter(image__dataset=dataset)
        .select_related("image", "mesh")
        .annotate(label_rank=label_rank(author))
        .order_by("image__file_name", "index")
    )
    # Filtered per face, in name order: a page needs only as many faces as it shows
    # (its count comes from the dataset's summary, never from these rows).
    if needs_review:
        faces = faces.filter(consensus__needs_review=True)
    if not state:
        return faces
    # a rare state starts from the labels in it (a range of an index, then the page's faces sorted);
    # a common one walks the faces in name order, most of them in it (`sparse`: the caller's guess)
    candidates = _state_candidates(dataset, state, author) if sparse else None
    if candidates is not None:
        faces = faces.filter(pk__in=candidates)
    return faces.filter(label_rank=STATE_NAMES.index(state))


def _state_candidates(dataset: Dataset, state: str, author=None):
    """The face ids whose labels could put them in `state` (a superset; label_rank
    decides), read from the (dataset, review_state, status) index of the labels;
    None for "unlabeled" (no label to start from)."""
    labels = _labels(author, dataset=dataset)
    if state == "rejected":
        labels = labels.filter(review_state=ReviewState.REJECTED)
    elif state == "flagged":
        labels = labels.filter(review_state=ReviewState.PENDING, status=AnnotationStatus.FLAGGED)
    elif state == "in_review":
        labels = labels.filter(review_state=ReviewState.PENDING, review_claim__expires_at__gt=timezone.now())
    elif state == "labeled":
        labels = labels.filter(review_state=ReviewState.PENDING)
    elif state == "approved":
        labels = labels.filter(review_state__in=[ReviewState.APPROVED, ReviewState.AMENDED])
    else:
        return None
    return labels.values("face_id")


def face_page_query(
    dataset: Dataset,
    *,
    state: str | None = None,
    author=None,
    needs_review: bool = False,
    after: int | None = None,
    before: int | None = None,
    size: int = 48,
    sparse: bool = True,
):
    """The query of one page of dataset_faces in name order, keyset-paginated: the
    size + 1 faces after the face `after` (or before the face `before`, in reverse
    order), and whether a cursor applied. A cursor that is not a face of the
    dataset gives the first page."""
    faces = dataset_faces(dataset, state=state, author=author, needs_review=needs_review, sparse=sparse)
    anchor_id = after or before
    anchor = None
    if anchor_id:
        anchor = (
            Face.objects.filter(pk=anchor_id, image__dataset=dataset).values_list("image__file_name", "index").first()
        )
    if anchor is not None:
        name, index = anchor
        if after:
            faces = faces.filter(image__file_name__gte=name).filter(Q(image__file_name__gt=name) | Q(index__gt=index))
        else:
            faces = faces.filter(image__file_name__lte=name).filter(Q(image__file_name__lt=name) | Q(index__lt=index))
            faces = faces.order_by("-image__file_name", "-index")
    return faces[: size + 1], anchor is not None


def dataset_face_page(
    dataset: Dataset, *, after: int | None = None, size: int = 48, **filters
) -> tuple[list, bool, bool]:
    """(faces, has_previous, has_next): one page of face_page_query with their
    label_state. No OFFSET, no count: a deep page costs what the first does."""
    query, anchored = face_page_query(dataset, after=after, size=size, **filters)
    rows = list(query)
    more = len(rows) > size
    rows = rows[:size]
    if anchored and not after:  # read backwards from `before`
        rows.reverse()
        has_previous, has_next = more, True
    else:
        has_previous, has_next = anchored, more
    return with_label_states(rows), has_previous, has_next


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
        default=Value(4),
        output_field=IntegerField(),
    )


def _labels(author, **scope):
    labels = Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, status__in=REVIEWABLE, **scope)
    return labels if author is None else labels.filter(author=author)


def label_rank(author=None):
    """Per face, the index in LABEL_STATES of its state (the smallest rank of its
    labels, else "unlabeled"), as one correlated sub-query: for a page of faces."""
    best = (
        _labels(author, face=OuterRef("pk"))
        .annotate(rank=_label_rank_of_annotation())
        .order_by("rank")
        .values("rank")[:1]
    )
    return Coalesce(Subquery(best, output_field=IntegerField()), Value(STATE_NAMES.index("unlabeled")))


def _face_ranks(dataset: Dataset, author=None):
    """{face_id, rank} of every labeled face of the dataset, in one pass over its labels."""
    return (
        _labels(author, dataset=dataset)
        .annotate(label=_label_rank_of_annotation())
        .order_by()
        .values("face_id")
        .annotate(rank=Min("label"))
    )


def label_state_counts(dataset: Dataset, author=None, n_faces: int | None = None) -> dict[str, int]:
    """{state: number of faces} for every LABEL_STATES word (zeros included):
    one pass over the dataset's labels, counted by the database (`n_faces`: the
    dataset's faces, when the caller counted them already). Pages read these
    figures from the dataset's summary (datasets/services.current_summaries)."""
    from django.db import connection

    counts = dict.fromkeys(LABEL_STATES, 0)
    sql, params = _face_ranks(dataset, author).values("rank").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT per_face.rank, COUNT(*) FROM ({sql}) AS per_face GROUP BY per_face.rank", params)
        for rank, n in cursor.fetchall():
            counts[STATE_NAMES[rank]] = n
    if n_faces is None:
        n_faces = Face.objects.filter(image__dataset=dataset).count()
    counts["unlabeled"] = n_faces - sum(counts.values())
    return counts


def label_state_counts_by_author(dataset: Dataset, n_faces: int) -> dict[int, dict[str, int]]:
    """{author id: label_state_counts(dataset, author)} for every annotator with a
    label in the dataset, in one grouped query (one label per face and author: a
    label's rank is its face's state in its author's eyes)."""
    per_author: dict[int, dict[str, int]] = {}
    ranks = (
        _labels(None, dataset=dataset)
        .annotate(rank=_label_rank_of_annotation())
        .order_by()
        .values_list("author_id", "rank")
        .annotate(n=Count("pk"))
    )
    for author_id, rank, n in ranks:
        per_author.setdefault(author_id, dict.fromkeys(LABEL_STATES, 0))[STATE_NAMES[rank]] = n
    for counts in per_author.values():
        counts["unlabeled"] = n_faces - sum(counts.values())
    return per_author


def readable_annotations(user):
    """Annotations whose labels the user may read (annotator.access decides)."""
    qs = Annotation.objects.select_related("author", "reviewed_by")
    return qs if access.is_admin(user) else qs.filter(access.annotation_filter(user))


def annotation_list(user, filters: dict):
    if "dataset" in filters and access.may_read_labels(user, filters["dataset"]):
        # the whole dataset is readable: no per-author OR, so the page is one
        # range of the (dataset, id) index
        qs = Annotation.objects.filter(dataset_id=filters["dataset"]).select_related("author", "reviewed_by")
    else:
        qs = readable_annotations(user)
        if "dataset" in filters:
            qs = qs.filter(dataset_id=filters["dataset"])
    if "split" in filters:
        qs = qs.filter(face__image_id__in=_split_images(visible_dataset_ids(user), filters["split"]))
    for name, lookup in (
        ("image", "face__image_id"),
        ("face", "face_id"),
        ("origin", "origin"),
        ("author", "author__username"),
        ("proposer", "proposal__proposer"),
        ("updated_since", "updated_at__gte"),
    ):
        if name in filters:
            qs = qs.filter(**{lookup: filters[name]})
    if filters.get("status"):
        qs = qs.filter(status__in=sorted(filters["status"]))
    if "review_state" in filters:
        qs = qs.filter(review_state="" if filters["review_state"] == "pending" else filters["review_state"])
    return qs


# --- rows for exports (annotator/exports/selectors.py) ------------------------------

_LABEL_FIELDS = [
    "face_id",
    "status",
    "version",
    "updated_text",
    "author__username",
    "proposal__proposer",
    "proposal__proposer_version",
    "moved_deg",
    "moved_mm",
]


def ground_truth_values(scope: RowScope) -> dict[int, dict]:
    """The ground-truth label of each face in scope, as plain values."""
    truth = Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH, **scope.of_annotations()).annotate(
        **UPDATED_TEXT
    )
    return {a["face_id"]: a for a in values_json(truth, _LABEL_FIELDS, ["R", "t"])}


def finished_label_values(scope: RowScope) -> dict[int, list[dict]]:
    """Each face's accepted or corrected annotator labels, oldest first, as plain values."""
    # a label a reviewer rejected is not exported until its annotator saves it again
    done = (
        Annotation.objects.filter(
            origin=AnnotationOrigin.ANNOTATOR,
            **scope.of_annotations(),
            status__in=[AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED],
        )
        .exclude(review_state=ReviewState.REJECTED)
        .annotate(**UPDATED_TEXT)
    )
    labels: dict[int, list[dict]] = {}
    for a in values_json(done.order_by("updated_at", "pk"), _LABEL_FIELDS, ["R", "t", "landmark_pins"]):
        labels.setdefault(a["face_id"], []).append(a)
    return labels


# --- who may label what: the labeling gates (404 when the dataset is not visible, else 403) ---


class LabelingDenied(PermissionDenied):
    """The user may see the dataset but is not one of its annotators (a 403)."""


# The two EXISTS of face_for_labeling, as SQL on the face's own row: built with
# Exists(OuterRef(...)) they took 1.1 ms of CPU per save to compile, more than
# the query takes to run. Tests: test_permission_table.py (who may save),
# test_save_queries.py (the claim).
_ASSIGNED_SQL = (
    f"EXISTS(SELECT 1 FROM {Assignment._meta.db_table} a JOIN {Image._meta.db_table} i "
    f"ON i.dataset_id = a.dataset_id WHERE i.id = {Face._meta.db_table}.image_id "
    "AND a.user_id = %s AND a.role = %s)"
)


_CLAIMED_SQL = f"EXISTS(SELECT 1 FROM {FaceClaim._meta.db_table} c WHERE c.face_id = {Face._meta.db_table}.id AND c.annotator_id = %s)"


def face_for_labeling(user, face_id: int) -> Face:
    """The face if `user` may label it. Raises Face.DoesNotExist when the user
    cannot even see its dataset (a 404, revealing nothing) and LabelingDenied
    when they can see it but are not assigned to label it (a 403)."""
    if not user.is_authenticated:
        raise Face.DoesNotExist
    # One query for the face, the assignment and the user's claim: every save
    # runs this (`claimed` spares a save without a claim its DELETE).
    face = (
        Face.objects.select_related("image", "image__dataset")
        .annotate(
            assigned=RawSQL(_ASSIGNED_SQL, [user.pk, Role.ANNOTATOR], output_field=BooleanField()),
            claimed=RawSQL(_CLAIMED_SQL, [user.pk], output_field=BooleanField()),
        )
        .get(pk=face_id)
    )
    if not face.assigned and not has_role(user, Role.ADMIN):
        # the assignment is known (no): only an admin may still label it
        _refuse(user, face.image.dataset, Face.DoesNotExist)
    return face


def _check_may_label(user, dataset: Dataset, not_found) -> None:
    # An annotator of the dataset also sees it: the visibility query (for the
    # 404/403 choice) is only needed when the answer is no.
    if not access.may_label(user, dataset.pk):
        _refuse(user, dataset, not_found)


def _refuse(user, dataset: Dataset, not_found) -> None:
    """404 (`not_found`) when the user cannot see the dataset, else 403."""
    if not visible_datasets(user).filter(pk=dataset.pk).exists():
        raise not_found
    raise LabelingDenied(f"You are not an annotator of dataset {dataset.name}.")


def dataset_for_labeling(user, dataset_id: int) -> Dataset:
    dataset = Dataset.objects.get(pk=dataset_id)
    _check_may_label(user, dataset, Dataset.DoesNotExist)
    return dataset
