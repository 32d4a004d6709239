"""Reads. Views call these; they never write."""
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from annotator.models import Annotation, AnnotationSource, Dataset, Face, Image, Proposal
from annotator.roles import Role, has_role


def visible_datasets(user):
    """Datasets a user may see: all for admins; reviewers and researchers see
    public ones and those assigned to them; annotators their assigned ones."""
    qs = Dataset.objects.all()
    if has_role(user, Role.ADMIN):
        return qs
    q = Q(assignments__user=user)
    if has_role(user, Role.RESEARCHER) or has_role(user, Role.REVIEWER):
        q |= Q(is_public=True)
    return qs.filter(q).distinct()


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
        n_ground_truth=_count(Annotation.objects.filter(source=AnnotationSource.DATASET), "face__image__dataset"),
        n_proposals=_count(Proposal.objects.all(), "face__image__dataset"),
        n_annotations=_count(Annotation.objects.filter(source=AnnotationSource.ANNOTATOR), "face__image__dataset"),
    )
