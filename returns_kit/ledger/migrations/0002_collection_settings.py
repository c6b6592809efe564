"""Collection.settings: a collection's settings in the database, filled for existing ledgers
from each collection's init entry in the log (which is never rewritten)."""

import json

from django.db import migrations, models


def from_the_log(apps, schema_editor):  # type: ignore[no-untyped-def]
    Collection = apps.get_model("ledger", "Collection")
    AuditEntry = apps.get_model("ledger", "AuditEntry")
    for collection in Collection.objects.all():
        entries = AuditEntry.objects.filter(collection=collection, kind="init")
        first = entries.order_by("seq").first()
        if first is not None:
            collection.settings = json.loads(first.payload)
            collection.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="collection",
            name="settings",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(from_the_log, migrations.RunPython.noop),
    ]
