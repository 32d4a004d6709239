from django.conf import settings
from django.db.models import Case, FloatField, IntegerField, OuterRef, Subquery, Value, When

from annotator.common.access import visible_dataset_ids
from annotator.common.rows import RowScope, values_json
from annotator.datasets.models import Dataset
from annotator.datasets.selectors import _scoped
from annotator.labeling.models import Annotation, AnnotationOrigin
from annotator.proposals.models import FaceMesh, Proposal
from workers.core.metrics import evaluate

# With HEADPOSE_PROPOSER=auto: the proposers preferred, in order (the fused one;
# services.preferred_proposer_name runs the default proposer when fused cannot run).
AUTO_PREFERENCE = ("fused",)


def preferred_proposers() -> list[str]:
    """The proposers whose proposals annotators see, most preferred first: the
    one HEADPOSE_PROPOSER names, or with 'auto' AUTO_PREFERENCE. The one place
    this setting is read: the proposer that runs (services.preferred_proposer_name)
    and the proposal a face starts from (preferred_proposal) both follow it."""
    wanted = settings.HEADPOSE_PROPOSER or "auto"
    return list(AUTO_PREFERENCE) if wanted == "auto" else [wanted]


def face_proposals(face) -> list[Proposal]:
    """Every proposal of the face, newest first (a face has a handful): what
    preferred_proposal, datasets.selectors.detected_landmarks and the editor's
    proposal list choose from, read once."""
    return list(Proposal.objects.filter(face=face).order_by("-created_at", "-pk"))


def preferred_proposal(face, proposals: list[Proposal] | None = None) -> Proposal | None:
    """The newest proposal of the first preferred proposer that has one for the
    face, else the newest proposal of any proposer. `proposals`: face_proposals(face)
    when the caller read them already."""
    proposals = face_proposals(face) if proposals is None else proposals
    for name in preferred_proposers():
        for p in proposals:
            if p.proposer == name:
                return p
    return proposals[0] if proposals else None


def proposal_accuracy(dataset: Dataset, proposer: str | None = None) -> list[dict]:
    """Per proposer version: MAE against the ground truth of the faces its own
    detections were matched to, and how many ground-truth faces it found."""
    import numpy as np

    from workers.core.proposers.confidence import curve  # heavy (torch, cv2): not imported by the web process

    gt = {
        a.face_id: a.R
        for a in Annotation.objects.filter(dataset=dataset, origin=AnnotationOrigin.GROUND_TRUTH).only("face_id", "R")
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
        rows.append(
            {
                "proposer": name,
                "version": version,
                "found": len(items),
                "ground_truth_faces": len(gt),
                **{k: m[k] for k in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean")},
                # by ground-truth |yaw| (wide: the back of the head is past 90)
                "yaw_bins": [
                    {k: b[k] for k in ("label", "count", "mae_yaw", "mae_pitch", "mae_roll", "mae_mean")}
                    for b in m["yaw_bins"]
                ],
                # calibrated when the mean error falls from the low-confidence third to the high one
                "confidence_curve": curve([c for c, _ in rated], [e for _, e in rated]) if rated else [],
            }
        )
    return rows


def visible_proposals(user):
    return Proposal.objects.filter(face__image__dataset_id__in=visible_dataset_ids(user))


def proposal_list(user, filters: dict):
    qs = _scoped(Proposal.objects.all(), user, filters, "face__image__dataset_id", "face__image_id")
    for name, lookup in (("face", "face_id"), ("proposer", "proposer"), ("created_since", "created_at__gte")):
        if name in filters:
            qs = qs.filter(**{lookup: filters[name]})
    return qs


def proposers_of(dataset: Dataset):
    """The proposer names with a proposal in the dataset, sorted."""
    return (
        Proposal.objects.filter(face__image__dataset=dataset)
        .values_list("proposer", flat=True)
        .distinct()
        .order_by("proposer")
    )


def preference_rank():
    """A SQL expression on proposals: the place of each one's proposer in
    preferred_proposers (the others after them); with newest first, the rule
    that picks a face's preferred proposal."""
    preferred = preferred_proposers()
    return Case(
        *[When(proposer=name, then=Value(i)) for i, name in enumerate(preferred)],
        default=Value(len(preferred)),
        output_field=IntegerField(),
    )


def preferred_proposal_value(field: str, face_ref: str = "pk", output_field=None):
    """One column of each face's preferred proposal (preferred_proposal's rule,
    as one SQL sub-query for a queryset of faces; `face_ref` names the face's id
    in the outer query): null when the face has none."""
    chosen = (
        Proposal.objects.filter(face_id=OuterRef(face_ref))
        .annotate(preference=preference_rank())
        .order_by("preference", "-created_at", "-pk")
        .values(field)[:1]
    )
    return Subquery(chosen, output_field=output_field or Proposal._meta.get_field(field))


def preferred_confidence(face_ref: str = "pk"):
    """The confidence of each face's preferred proposal: null when it has none or gives none."""
    return preferred_proposal_value("confidence", face_ref, FloatField())


def mesh_of(face, *, done: bool = False) -> FaceMesh | None:
    """The face's mesh row (only a finished one with done=True), or None."""
    meshes = FaceMesh.objects.filter(face=face)
    return (meshes.filter(state=FaceMesh.State.DONE) if done else meshes).first()


def newest_proposal_values(scope: RowScope, proposer: str | None = None) -> dict[int, dict]:
    """The newest proposal of each face in scope (of `proposer` if given), as plain values."""
    proposals = Proposal.objects.filter(**scope.of_faces()).order_by("created_at", "pk")
    if proposer:
        proposals = proposals.filter(proposer=proposer)
    return {
        p["face_id"]: p
        for p in values_json(
            proposals, ["face_id", "proposer", "proposer_version", "weights_sha256", "score", "created_at"], ["R", "t"]
        )
    }
