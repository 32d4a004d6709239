"""ReviewState "corrected" -> "amended" (issue 23 item 4, one word per idea):
"corrected" was both an annotation status (an annotator's save that moved the
pose) and a review state (a reviewer replaced the pose). The stored values are
rewritten both ways; the API still accepts review_state=corrected as a filter
(deprecated)."""

from django.db import migrations, models


def rename_state(old, new):
    def run(apps, schema_editor):
        Annotation = apps.get_model("annotator", "Annotation")
        Annotation.objects.filter(review_state=old).update(review_state=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0016_sequence_input_name"),
    ]

    operations = [
        migrations.AlterField(
            model_name="annotation",
            name="review_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "not reviewed"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("amended", "amended by a reviewer"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.RunPython(rename_state("corrected", "amended"), rename_state("amended", "corrected")),
    ]
