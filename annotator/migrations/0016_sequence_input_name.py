"""Sequence.source -> Sequence.input_name (issue 23 item 4, one word per idea):
the video file or folder a sequence was read from is what Job.input_name names
for an import. A column rename (ALTER TABLE ... RENAME COLUMN on PostgreSQL and
SQLite), reversible."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0015_token_parent"),
    ]

    operations = [
        migrations.RenameField(model_name="sequence", old_name="source", new_name="input_name"),
    ]
