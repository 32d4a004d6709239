"""Who may do what, in one table. Pages, the API, exports and the leaderboard
all ask these functions; tests/api/test_permission_table.py (the API) and
tests/api/test_page_permissions.py (every page and stored file) check the table
end to end over HTTP.

                 see dataset, images,   read every label,   label      review     leaderboards
                 faces, proposals       export
  admin          all                    all                 all        all        read + submit
  reviewer       public + assigned      public + assigned   -          assigned   -
                                        as reviewer                    as reviewer
                 (+ quality: scores, consensus, honeypots of the datasets they review; admins: all)
  researcher     public + assigned      public + assigned   -          -          read + submit
                                        as reviewer
  annotator      assigned               own labels only     assigned   -          -
  anonymous      nothing (401 from the API, login page from the site)

What gives a label away counts as a label: the faces API's 3D landmarks (in
the camera frame) and the textured face mesh (its vertices are those landmarks)
go only to those who read every label of the dataset; 2D landmarks are fine.
Leaderboards show ground-truth angles: a reader sees only the benchmarks of
datasets whose labels they read. Stored files (images, meshes, exports,
uploaded predictions) are served only by views that ask these functions.

"assigned" means an Assignment row (annotator or reviewer) for that dataset.
A user's rights in a dataset are those of their role IN THAT DATASET, never
borrowed from another one: an Assignment is the user's role there, whatever
their groups say. The groups `reviewer` and `researcher` read the public
datasets in which the user holds no Assignment; the group `annotator` grants
nothing by itself; the group `admin` (and superusers) everything. So a reviewer
of dataset B who annotates dataset A reads, in A, only their own labels, even
when A is public.
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


def _cached(user, key: str, compute):
    # one computation per request: users are per-request objects
    cache = user.__dict__.setdefault("_headpose_access", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def dataset_roles(user) -> dict[int, set[str]]:
    """The user's roles by dataset: {dataset id: {"annotator", "reviewer"}} from
    their Assignments. The role in a dataset decides what the user does there."""

    def compute():
        roles: dict[int, set[str]] = {}
        for dataset_id, role in Assignment.objects.filter(user=user).values_list("dataset_id", "role"):
            roles.setdefault(dataset_id, set()).add(role)
        return roles

    return _cached(user, "roles", compute)


def _assigned_ids(user, role: str | None = None) -> set[int]:
    return {pk for pk, roles in dataset_roles(user).items() if role is None or role in roles}


def _public_unassigned_ids(user) -> set[int]:
    """Public datasets where the user holds no role: those their group reads
    (reviewer, researcher). A dataset they annotate is never read through a group."""
    if not _reads_public(user):
        return set()
    public = set(Dataset.objects.filter(is_public=True).values_list("pk", flat=True))
    return public - set(dataset_roles(user))


def visible_dataset_ids(user) -> set[int]:
    """Datasets whose images, faces and proposals the user may see."""
    if not user.is_authenticated:
        return set()

    def compute():
        if is_admin(user):
            return set(Dataset.objects.values_list("pk", flat=True))
        return _assigned_ids(user) | _public_unassigned_ids(user)

    return _cached(user, "visible", compute)


def label_reader_dataset_ids(user) -> set[int]:
    """Datasets whose labels (everyone's annotations, ground truth, exports) the user may read."""
    if not user.is_authenticated:
        return set()

    def compute():
        if is_admin(user):
            return set(Dataset.objects.values_list("pk", flat=True))
        # reviewers of the dataset, and a group's readers where the user has no role:
        # never an annotator in the dataset they annotate (their own labels only)
        return _assigned_ids(user, Role.REVIEWER) | _public_unassigned_ids(user)

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


def may_change_dataset_settings(user, dataset_id: int) -> bool:
    """The dataset's queue settings (overlap, honeypot share, whether frames are
    queued one by one): admins, as in the Django admin."""
    return is_admin(user) and dataset_id in visible_dataset_ids(user)


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
