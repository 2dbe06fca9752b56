"""Writing many rows at once where the ORM would send one statement each."""

from collections.abc import Sequence
from typing import cast

from django.db import connection
from django.db.models import Model


def update_rows(rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of these instances (all of one model) in one UPDATE. On PostgreSQL an
    `UPDATE … FROM (VALUES …)`: bulk_update's CASE per column costs more to build than to run.
    Like bulk_update, auto_now fields are written only when named (with their value as set)."""
    if not rows:
        return
    model = type(rows[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, fields)
        return
    meta = model._meta
    by_name = {f.name: f for f in meta.concrete_fields}
    columns = [meta.pk, *(by_name[name] for name in fields)]
    qn = connection.ops.quote_name
    names = [qn(cast(str, f.column)) for f in columns]
    sets = ", ".join(
        f"{c} = CAST(v.{c} AS {f.db_type(connection)})" for c, f in zip(names[1:], columns[1:], strict=True)
    )
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in columns]
    pk = names[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} AS m SET {sets} FROM (VALUES {values}) AS v({', '.join(names)}) "  # noqa: S608
            f"WHERE m.{pk} = CAST(v.{pk} AS {meta.pk.db_type(connection)})",
            params,
        )
