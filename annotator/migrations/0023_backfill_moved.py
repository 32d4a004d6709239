"""moved_deg / moved_mm (0022) for the labels saved before they were recorded: each
annotator label (and each of its revisions) that names the proposal it started
from gets how far it is from that proposal (workers/core/geometry.pose_moved, as
labeling/services.save_annotation computes it). Statuses are left as they were
saved. Backwards: nothing to undo (0022's reverse drops the columns)."""

from django.db import migrations

from workers.core.geometry import pose_moved

BATCH = 500


def _backfill(model, proposal_of, rows, fields=("moved_deg", "moved_mm")):
    changed = []
    for row in rows:
        proposal = proposal_of.get(row.proposal_id)
        if proposal is None:
            continue
        row.moved_deg, row.moved_mm = pose_moved(row.R, row.t, proposal[0], proposal[1])
        changed.append(row)
    model.objects.bulk_update(changed, list(fields))


def backfill_moved(apps, schema_editor):
    Annotation = apps.get_model("annotator", "Annotation")
    AnnotationRevision = apps.get_model("annotator", "AnnotationRevision")
    Proposal = apps.get_model("annotator", "Proposal")
    todo = Annotation.objects.filter(origin="annotator", proposal__isnull=False, moved_deg__isnull=True).order_by("pk")
    last = 0
    while True:
        batch = list(todo.filter(pk__gt=last).only("pk", "R", "t", "proposal_id")[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        proposal_of = {
            pk: (R, t)
            for pk, R, t in Proposal.objects.filter(pk__in={a.proposal_id for a in batch}).values_list("pk", "R", "t")
        }
        _backfill(Annotation, proposal_of, batch)
        # the revisions of these labels, from the proposal the label names (the one they kept)
        by_annotation = {a.pk: a.proposal_id for a in batch}
        revisions = list(
            AnnotationRevision.objects.filter(annotation_id__in=by_annotation, moved_deg__isnull=True).only(
                "pk", "R", "t", "annotation_id"
            )
        )
        for r in revisions:
            r.proposal_id = by_annotation[r.annotation_id]
        _backfill(AnnotationRevision, proposal_of, revisions)


class Migration(migrations.Migration):
    dependencies = [("annotator", "0022_annotator_hour")]

    operations = [migrations.RunPython(backfill_moved, migrations.RunPython.noop, elidable=True)]
