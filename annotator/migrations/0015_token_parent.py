"""ApiToken.parent: the token that created a token through the API (issue 24 item 5).
A nullable column with a foreign key: an ALTER TABLE on PostgreSQL, a table rebuild
on SQLite; existing tokens keep parent NULL (made on the tokens page)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0014_review_workflow"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                help_text="The token that created this one through the API",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="children",
                to="annotator.apitoken",
            ),
        ),
    ]
