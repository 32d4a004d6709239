"""Reads. Views call these; they never write."""

from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from annotator.common.access import label_reader_dataset_ids, visible_dataset_ids
from annotator.datasets.models import IMPORTED_LANDMARKS, Dataset, Face, Image, Split
from annotator.labeling.models import Annotation, AnnotationOrigin
from annotator.proposals.models import Proposal


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


def with_counts(datasets, user=None):
    """Each dataset's figures. With `user`, only what they may read: where they
    may not read every label (an annotator in their own dataset), no ground-truth
    count (None) and only their own labels in `n_annotations`: counts of
    everyone's labels would tell the faces that everyone labels (honeypots)
    apart. Without `user` (the admin site), everything."""
    everyones = _count(Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR), "dataset")
    ground_truth = _count(Annotation.objects.filter(origin=AnnotationOrigin.GROUND_TRUTH), "dataset")
    if user is not None:
        readers = label_reader_dataset_ids(user)
        own = _count(Annotation.objects.filter(origin=AnnotationOrigin.ANNOTATOR, author=user), "dataset")
        everyones = Case(When(pk__in=readers, then=everyones), default=own, output_field=IntegerField())
        ground_truth = Case(When(pk__in=readers, then=ground_truth), default=None, output_field=IntegerField())
    return datasets.annotate(
        n_images=_count(Image.objects.all(), "dataset"),
        n_faces=_count(Face.objects.all(), "image__dataset"),
        n_ground_truth=ground_truth,
        n_proposals=_count(Proposal.objects.all(), "face__image__dataset"),
        n_annotations=everyones,
    )


def detected_landmarks(face, proposals=None) -> tuple[list, str] | None:
    """(points, scheme) of the 2D landmarks the app detected itself on this face:
    the newest proposal that fitted landmarks, else the face's own landmarks unless
    they were imported with the dataset (landmarks_provenance "dataset"). Imported
    landmarks are the dataset's ground truth for AFLW2000: Snap, a landmark hint or
    an API answer that gave them to an annotator would pull a honeypot answer
    toward the truth. None: the app detected none. `proposals`: the face's proposals
    newest first, when the caller read them already (proposals.selectors.face_proposals)."""
    if proposals is None:
        newest = (
            Proposal.objects.filter(face=face, landmarks_2d__isnull=False)
            .order_by("-created_at", "-pk")
            .values_list("landmarks_2d", "landmark_scheme")
            .first()
        )
    else:
        newest = next(((p.landmarks_2d, p.landmark_scheme) for p in proposals if p.landmarks_2d is not None), None)
    if newest is not None and newest[0]:
        return newest[0], newest[1]
    if not face.landmarks_2d or face.landmarks_provenance == IMPORTED_LANDMARKS:
        return None
    return face.landmarks_2d, face.landmark_scheme


# --- the API's lists: what the caller may see, filtered ------------------------------
# `filters` is the parsed query string (annotator.api.filters): only the given keys.


def visible_images(user):
    return Image.objects.filter(dataset_id__in=visible_dataset_ids(user))


def visible_faces(user):
    return Face.objects.filter(image__dataset_id__in=visible_dataset_ids(user)).select_related("image")


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


def visible_face(user, face_id: int) -> Face:
    """The face if the user may see its dataset; Face.DoesNotExist otherwise (never
    confirming that another dataset's face exists)."""
    face = Face.objects.select_related("image", "image__dataset").get(pk=face_id)
    if not visible_datasets(user).filter(pk=face.image.dataset_id).exists():
        raise Face.DoesNotExist
    return face


def visible_image(user, image_id: int) -> Image:
    """The image if the user may see its dataset; Image.DoesNotExist otherwise."""
    image = Image.objects.select_related("dataset").get(pk=image_id)
    if not visible_datasets(user).filter(pk=image.dataset_id).exists():
        raise Image.DoesNotExist
    return image
