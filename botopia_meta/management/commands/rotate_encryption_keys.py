"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from botopia_meta.fields import EncryptedTextField, decrypt, encrypt, is_current

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key in FIELD_ENCRYPTION_KEYS. "
        "Safe to interrupt and run again: rows already on the first key are skipped."
    )

    def handle(self, *args, **options):
        total_rotated = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            total_rotated += self._rotate_model(model, fields)
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total_rotated} value(s) re-encrypted with the first key.")
        )

    def _rotate_model(self, model, fields) -> int:
        table = model._meta.db_table
        pk = model._meta.pk.column
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in fields)
        label = model._meta.label
        total = model._base_manager.count()
        done = rotated = 0
        last_pk = None
        while True:
            # Raw SQL: we need the stored tokens, not the decrypted values the field returns.
            with connection.cursor() as cursor:
                where = f"WHERE {qn(pk)} > %s " if last_pk is not None else ""
                cursor.execute(
                    f"SELECT {qn(pk)}, {columns} FROM {qn(table)} {where}ORDER BY {qn(pk)} LIMIT {BATCH}",  # noqa: S608
                    [last_pk] if last_pk is not None else [],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            with transaction.atomic():
                for row_pk, *tokens in rows:
                    updates = {
                        field.column: encrypt(decrypt(token))
                        for field, token in zip(fields, tokens, strict=True)
                        if token and not is_current(token)
                    }
                    if updates:
                        assignments = ", ".join(f"{qn(column)} = %s" for column in updates)
                        with connection.cursor() as cursor:
                            cursor.execute(
                                f"UPDATE {qn(table)} SET {assignments} WHERE {qn(pk)} = %s",  # noqa: S608
                                [*updates.values(), row_pk],
                            )
                        rotated += len(updates)
            done += len(rows)
            last_pk = rows[-1][0]
            self.stdout.write(f"\r{label}: {done}/{total} rows checked, {rotated} re-encrypted", ending="")
            self.stdout.flush()
        self.stdout.write(f"\r{label}: {done}/{total} rows checked, {rotated} re-encrypted")
        return rotated
