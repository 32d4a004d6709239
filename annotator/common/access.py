"""Who may do what, in one table. Pages, the API, exports and the leaderboard
all ask these functions; tests/api/test_permission_table.py (the API) and
tests/api/test_page_permissions.py (every page and stored file) check the table
end to end over HTTP.

                 see dataset, images,   read every label,   label      review     leaderboards
                 faces, proposals       export
  admin          all                    all                 all        all        read + submit
  reviewer       public + assigned      public + assigned   -          assigned   -
                 (+ quality: scores, consensus, honeypots of the datasets they review; admins: all)
  researcher     public + assigned      public + assigned   -          -          read + submit
  annotator      assigned               own labels only     assigned   -          -
  anonymous      nothing (401 from the API, login page from the site)

What gives a label away counts as a label: the faces API's 3D landmarks (in
the camera frame) and the textured face mesh (its vertices are those landmarks)
go only to those who read every label of the dataset; 2D landmarks are fine.
Leaderboards show ground-truth angles: a reader sees only the benchmarks of
datasets whose labels they read. Stored files (images, meshes, exports,
uploaded predictions) are served only by views that ask these functions.

"assigned" means an Assignment row (annotator or reviewer) for that dataset.
An object a user may not see answers 404, as if it did not exist, so ids
cannot be probed; one they may see but not change answers 403 with the reason.
"""

from __future__ import annotations

from django.db.models import Q

from annotator.common.roles import has_role
from annotator.datasets.models import Assignment, Dataset, Role
from annotator.labeling.models import AnnotationOrigin, AnnotationStatus


def is_admin(user) -> bool:
    return has_role(user, Role.ADMIN)


def _reads_public(user) -> bool:
    return has_role(user, Role.RESEARCHER) or has_role(user, Role.REVIEWER)


def _assigned_ids(user, role: str | None = None) -> set[int]:
    qs = Assignment.objects.filter(user=user)
    if role:
        qs = qs.filter(role=role)
    return set(qs.values_list("dataset_id", flat=True))


def _cached(user, key: str, compute) -> set[int]:
    # one computation per request: users are per-request objects
    cache = user.__dict__.setdefault("_headpose_access", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def visible_dataset_ids(user) -> set[int]:
    """Datasets whose images, faces and proposals the user may see."""
    if not user.is_authenticated:
        return set()

    def compute():
        if is_admin(user):
            return set(Dataset.objects.values_list("pk", flat=True))
        ids = _assigned_ids(user)
        if _reads_public(user):
            ids |= set(Dataset.objects.filter(is_public=True).values_list("pk", flat=True))
        return ids

    return _cached(user, "visible", compute)


def label_reader_dataset_ids(user) -> set[int]:
    """Datasets whose labels (everyone's annotations, ground truth, exports) the user may read."""
    if not user.is_authenticated:
        return set()

    def compute():
        if is_admin(user):
            return set(Dataset.objects.values_list("pk", flat=True))
        ids = _assigned_ids(user, Role.REVIEWER)
        if _reads_public(user):
            ids |= visible_dataset_ids(user)
        return ids

    return _cached(user, "labels", compute)


def reviewer_dataset_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    if is_admin(user):
        return visible_dataset_ids(user)
    return _cached(user, "review", lambda: _assigned_ids(user, Role.REVIEWER))


def annotator_dataset_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    if is_admin(user):
        return visible_dataset_ids(user)
    return _cached(user, "label", lambda: _assigned_ids(user, Role.ANNOTATOR))


def annotation_filter(user, dataset_path: str = "dataset_id") -> Q:
    """Annotations the user may read: all of label-readable datasets, plus their own."""
    return Q(**{f"{dataset_path}__in": label_reader_dataset_ids(user)}) | Q(author_id=user.pk)


# --- one gate per action ----------------------------------------------------------
# Every page, API route, file and export asks one of these (or a selector built on
# the id sets above); the feature packages wrap them with their 404/403 choice.


def may_label(user, dataset_id: int) -> bool:
    """Label the dataset's faces: its annotators, and admins."""
    return dataset_id in annotator_dataset_ids(user)


def may_review(user, dataset_id: int) -> bool:
    """Review the dataset's labels: its reviewers, and admins."""
    return dataset_id in reviewer_dataset_ids(user)


def may_read_labels(user, dataset_id: int) -> bool:
    """Every label of the dataset (ground truth, everyone's annotations, exports),
    and what a label can be computed from (3D landmarks, meshes)."""
    return dataset_id in label_reader_dataset_ids(user)


# the labels a dataset came with are labels like any other
may_read_ground_truth = may_read_labels


def may_see_quality(user, dataset_id: int) -> bool:
    """Quality figures, consensus and honeypots of a dataset: its reviewers and admins.
    Annotators never see honeypot marks or anyone's scores."""
    return dataset_id in reviewer_dataset_ids(user)


def may_use_leaderboards(user) -> bool:
    return has_role(user, Role.RESEARCHER) or is_admin(user)


def why_not_review(user, annotation) -> str | None:
    """The one rule for reviewing a label, for every page and API route: the reason
    `user` may not review `annotation` (None: they may). Only annotators' finished
    labels are reviewed, never by their own author."""
    if not may_review(user, annotation.dataset_id):
        return "You are not a reviewer of this dataset."
    if annotation.origin != AnnotationOrigin.ANNOTATOR:
        return "Ground truth from the dataset is not reviewed."
    if annotation.author_id == user.pk:
        return "Nobody reviews their own label."
    if annotation.status == AnnotationStatus.DRAFT:
        return "A draft is not reviewed: its annotator has not finished it."
    return None


def leaderboard_dataset_ids(user) -> set[int]:
    """Datasets whose benchmarks the user may list, submit to and drill into."""
    return label_reader_dataset_ids(user) if may_use_leaderboards(user) else set()
