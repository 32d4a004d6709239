"""FaceClaim.user -> FaceClaim.annotator (issue 23 item 4, one word per idea): a
claim names its holder by role, as ReviewClaim.reviewer does. A column rename
(the unique_claim constraint is dropped and made again on the new column),
reversible on SQLite and PostgreSQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0017_review_state_amended"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="faceclaim", name="unique_claim"),
        migrations.RenameField(model_name="faceclaim", old_name="user", new_name="annotator"),
        migrations.AddConstraint(
            model_name="faceclaim",
            constraint=models.UniqueConstraint(fields=("face", "annotator"), name="unique_claim"),
        ),
    ]
