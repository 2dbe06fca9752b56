"""Four of the webhook events' ten indexes served nothing, and every index costs each
delivery's INSERT at intake and each status change at processing:
- created_at (TimestampedModel's): nothing reads events by it; received_at orders and prunes.
- the `varchar_pattern_ops` copies PostgreSQL gets of every indexed or unique text column
  (for LIKE 'prefix%'): dedupe_key, object and fields are only ever compared whole (the
  intake's ON CONFLICT, the staff console's search by sha256 and its filters).
The plain indexes on object and fields and the unique one on dedupe_key stay."""

from django.db import migrations, models
from django.utils import timezone

LIKE_INDEXES = {
    "webhooks_webhookevent_dedupe_key_8be075d1_like": "dedupe_key",
    "webhooks_webhookevent_object_795341f1_like": "object",
    "webhooks_webhookevent_fields_a2ded5cf_like": "fields",
}


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in LIKE_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON webhooks_webhookevent "
                f"({schema_editor.quote_name(column)} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_webhookevent_chunks_done"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookevent",
            name="created_at",
            field=models.DateTimeField(default=timezone.now, editable=False),
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes, elidable=True),
    ]
