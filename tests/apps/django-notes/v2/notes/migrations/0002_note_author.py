from django.db import migrations, models


# `db_default` (Django 5's own option) keeps the default in the database's schema, not only in
# Django's model: writes version 1 makes while version 2 is migrated on a clone carry no author,
# and a low-downtime migration's cutover replays them into this table as they were made, so the
# column must fill itself in. With `default` alone Django drops the column's default after
# filling the existing rows, and such a replayed write would be refused as NOT NULL.
class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="note",
            name="author",
            field=models.CharField(default="anonymous", db_default="anonymous", max_length=100),
        ),
    ]
