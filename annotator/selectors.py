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


LABEL_CHOICES = ("best", "ground_truth", "annotations", "proposals")


def label_rows(dataset: Dataset, labels: str = "best", proposer: str | None = None):
    """One LabelRow per face (per annotator for labels='annotations').

    best: the latest accepted/corrected annotation, else the ground truth, else
    the newest proposal (of `proposer` if given)."""
    from annotator.models import AnnotationStatus
    from workers.core.label_rows import LabelRow

    faces = Face.objects.filter(image__dataset=dataset).select_related("image").order_by("image__file_name", "index")
    done = [AnnotationStatus.ACCEPTED, AnnotationStatus.CORRECTED]
    ann = Annotation.objects.filter(face__image__dataset=dataset).select_related("author").order_by("updated_at")
    gt = {a.face_id: a for a in ann if a.source == AnnotationSource.DATASET} if labels in ("best", "ground_truth") else {}
    by_annotator: dict[int, list] = {}
    if labels in ("best", "annotations"):
        for a in ann:
            if a.source == AnnotationSource.ANNOTATOR and a.status in done:
                by_annotator.setdefault(a.face_id, []).append(a)
    props: dict[int, Proposal] = {}
    if labels in ("best", "proposals"):
        pq = Proposal.objects.filter(face__image__dataset=dataset).order_by("created_at")
        if proposer:
            pq = pq.filter(proposer=proposer)
        props = {p.face_id: p for p in pq}

    def row(face, obj, source, detail):
        t = None if obj.t is None else obj.t
        return LabelRow(face.image.file_name, face.index, obj.R_matrix, t, source, detail)

    for face in faces.iterator(chunk_size=2000):
        if labels == "annotations":
            for a in by_annotator.get(face.pk, []):
                yield row(face, a, "annotator", a.author.get_username())
            continue
        if labels == "best" and face.pk in by_annotator:
            a = by_annotator[face.pk][-1]
            yield row(face, a, "annotator", a.author.get_username())
        elif face.pk in gt:
            yield row(face, gt[face.pk], "dataset", dataset.name)
        elif face.pk in props:
            p = props[face.pk]
            yield row(face, p, "proposer", f"{p.proposer}@{p.proposer_version}")


def proposal_accuracy(dataset: Dataset, proposer: str | None = None) -> list[dict]:
    """Per proposer version: MAE against the ground truth of the faces its own
    detections were matched to, and how many ground-truth faces it found."""
    import numpy as np

    from workers.core.metrics import evaluate

    gt = {
        a.face_id: a.R
        for a in Annotation.objects.filter(face__image__dataset=dataset, source=AnnotationSource.DATASET).only(
            "face_id", "R"
        )
    }
    proposals = Proposal.objects.filter(face_id__in=list(gt))
    if proposer:
        proposals = proposals.filter(proposer=proposer)
    groups: dict[tuple, list] = {}
    for p in proposals.only("face_id", "R", "proposer", "proposer_version"):
        groups.setdefault((p.proposer, p.proposer_version), []).append(p)
    rows = []
    for (name, version), items in sorted(groups.items()):
        pred = np.array([p.R for p in items], dtype=np.float64).reshape(-1, 3, 3)
        true = np.array([gt[p.face_id] for p in items], dtype=np.float64).reshape(-1, 3, 3)
        m = evaluate(pred, true)
        rows.append({
            "proposer": name, "version": version, "found": len(items), "ground_truth_faces": len(gt),
            **{k: m[k] for k in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean")},
        })
    return rows


def dataset_faces(dataset: Dataset):
    """Faces of a dataset with their image, for listing pages."""
    return (
        Face.objects.filter(image__dataset=dataset)
        .select_related("image", "mesh")
        .order_by("image__file_name", "index")
    )
