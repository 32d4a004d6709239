"""One word per idea (issue 12, item 5).

- Annotation.source (dataset | annotator) -> Annotation.origin (ground_truth | annotator);
  the partial unique constraints follow the field and its values.
- Job.source (an import's server path or uploaded file name) -> Job.input_name;
  export jobs kept their download name there too: it moves to result["file_name"],
  and the faces an export skipped gain origin / origin_detail next to their source keys.
- Face.landmark_source -> Face.landmarks_provenance, and the same key inside
  FaceMesh.provenance["provenance"].

Every step runs backwards too (the values and keys are mapped back)."""

from django.db import migrations, models

OLD_TO_NEW_ORIGIN = {"dataset": "ground_truth"}
OLD_MESH_KEY, NEW_MESH_KEY = "landmark_source", "landmarks_provenance"


def _map_origins(apps, mapping):
    Annotation = apps.get_model("annotator", "Annotation")
    for old, new in mapping.items():
        Annotation.objects.filter(origin=old).update(origin=new)


def origins_forward(apps, schema_editor):
    _map_origins(apps, OLD_TO_NEW_ORIGIN)


def origins_backward(apps, schema_editor):
    _map_origins(apps, {new: old for old, new in OLD_TO_NEW_ORIGIN.items()})


def renamed_key(provenance, old, new):
    """`provenance` (a FaceMesh.provenance dict) with the landmarks key of its
    inner "provenance" dict renamed from `old` to `new`; None when nothing changes."""
    inner = provenance.get("provenance") if isinstance(provenance, dict) else None
    if not isinstance(inner, dict) or old not in inner:
        return None
    inner = {(new if k == old else k): v for k, v in inner.items()}
    return {**provenance, "provenance": inner}


def _rename_mesh_key(apps, old, new):
    FaceMesh = apps.get_model("annotator", "FaceMesh")
    for mesh in FaceMesh.objects.exclude(provenance={}).only("pk", "provenance").iterator():
        changed = renamed_key(mesh.provenance, old, new)
        if changed is not None:
            FaceMesh.objects.filter(pk=mesh.pk).update(provenance=changed)


def mesh_key_forward(apps, schema_editor):
    _rename_mesh_key(apps, OLD_MESH_KEY, NEW_MESH_KEY)


def mesh_key_backward(apps, schema_editor):
    _rename_mesh_key(apps, NEW_MESH_KEY, OLD_MESH_KEY)


ROW_ORIGIN = {"dataset": "ground_truth", "annotator": "annotator", "proposer": "proposal"}


def export_job_forward(job):
    """(input_name, result) of an export job under the new names, or None when unchanged."""
    result = dict(job.result or {})
    if job.input_name and job.state == "done":
        result.setdefault("file_name", job.input_name)
    if isinstance(result.get("skipped"), list):
        result["skipped"] = [
            {**r, "origin": ROW_ORIGIN.get(r["source"], r["source"]), "origin_detail": r.get("source_detail", "")}
            if isinstance(r, dict) and "source" in r and "origin" not in r
            else r
            for r in result["skipped"]
        ]
    if job.input_name == "" and result == (job.result or {}):
        return None
    return "", result


def _export_jobs(apps):
    return apps.get_model("annotator", "Job").objects.filter(kind="export")


def export_jobs_forward(apps, schema_editor):
    for job in _export_jobs(apps).iterator():
        changed = export_job_forward(job)
        if changed is not None:
            type(job).objects.filter(pk=job.pk).update(input_name=changed[0], result=changed[1])


def export_jobs_backward(apps, schema_editor):
    # the old code named the download after Job.source; the new keys may stay in result
    for job in _export_jobs(apps).filter(input_name="").iterator():
        name = (job.result or {}).get("file_name")
        if name:
            type(job).objects.filter(pk=job.pk).update(input_name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0007_alter_job_result_file"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="annotation", name="one_annotation_per_author"),
        migrations.RemoveConstraint(model_name="annotation", name="one_ground_truth_per_face"),
        migrations.RenameField(model_name="annotation", old_name="source", new_name="origin"),
        migrations.AlterField(
            model_name="annotation",
            name="origin",
            field=models.CharField(
                choices=[("dataset", "dataset"), ("ground_truth", "ground truth"), ("annotator", "Annotator")],
                max_length=20,
            ),
        ),
        migrations.RunPython(origins_forward, origins_backward),
        migrations.AlterField(
            model_name="annotation",
            name="origin",
            field=models.CharField(
                choices=[("ground_truth", "ground truth"), ("annotator", "Annotator")], max_length=20
            ),
        ),
        migrations.AlterModelOptions(name="annotation", options={"ordering": ["face", "origin"]}),
        migrations.AddConstraint(
            model_name="annotation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("origin", "annotator")), fields=("face", "author"), name="one_annotation_per_author"
            ),
        ),
        migrations.AddConstraint(
            model_name="annotation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("origin", "ground_truth")), fields=("face",), name="one_ground_truth_per_face"
            ),
        ),
        migrations.RenameField(model_name="job", old_name="source", new_name="input_name"),
        migrations.AlterField(
            model_name="job",
            name="input_name",
            field=models.CharField(
                blank=True, help_text="What an import reads: a server path or an uploaded file's name", max_length=1000
            ),
        ),
        migrations.RunPython(export_jobs_forward, export_jobs_backward),
        migrations.RenameField(model_name="face", old_name="landmark_source", new_name="landmarks_provenance"),
        migrations.AlterField(
            model_name="face",
            name="landmarks_provenance",
            field=models.CharField(
                blank=True, help_text="Where the landmarks came from: dataset or proposer name@version", max_length=100
            ),
        ),
        migrations.AlterField(
            model_name="facemesh",
            name="provenance",
            field=models.JSONField(
                blank=True, default=dict, help_text="Landmarks provenance, scheme, proposer version"
            ),
        ),
        migrations.RunPython(mesh_key_forward, mesh_key_backward),
    ]
