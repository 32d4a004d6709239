"""Pages that do not count the world, lists that use an index (issue 27, items 2 and 4):
a dataset's counted figures (DatasetSummary) and the indexes the list filters need."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotator", "0025_queue_entries")]

    operations = [
        migrations.CreateModel(
            name="DatasetSummary",
            fields=[
                (
                    "dataset",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="summary",
                        serialize=False,
                        to="annotator.dataset",
                    ),
                ),
                (
                    "figures",
                    models.JSONField(
                        default=dict,
                        help_text="{images, faces, proposals, ground_truth, annotations, states: {state: faces}, "
                        "authors: {user id: {annotations, states}}}",
                    ),
                ),
                ("computed_at", models.DateTimeField()),
                ("compute_s", models.FloatField(default=0.0, help_text="Seconds the last count took")),
                (
                    "requested_at",
                    models.DateTimeField(blank=True, help_text="When a refresh was last sent to a worker", null=True),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["dataset", "id"], name="image_dataset_id"),
        ),
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(
                condition=models.Q(("origin", "annotator")),
                fields=["dataset", "review_state", "status", "face"],
                name="annotation_dataset_state",
            ),
        ),
    ]
