"""Writing many rows at once where the ORM would send one statement each."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.db import connection
from django.db.models import Field, JSONField, Model

# What psycopg adapts itself exactly as Django's preparation would on PostgreSQL.
_AS_IS = frozenset({str, int, bytes, UUID, datetime, type(None)})


def row_values(fields: Sequence[Field], row: Model, *, add: bool) -> list[Any]:
    """The values of `row` for `fields` (after pre_save, so auto_now fields are set), ready
    for a cursor. On PostgreSQL plain strings, numbers, bytes, UUIDs and datetimes go to
    psycopg as they are: Django's per-field preparation of them cost more than the statement
    on the hot paths (the webhook intake, a broadcast's COPY). JSON (a JSON string is not SQL
    text), choices members and the rest go through it, as everything does on other databases."""
    values = [f.pre_save(row, add) for f in fields]
    plain = connection.vendor == "postgresql"
    return [
        value
        if plain and type(value) in _AS_IS and not isinstance(f, JSONField)
        else f.get_db_prep_save(value, connection)
        for f, value in zip(fields, values, strict=True)
    ]


def update_rows(
    rows: Sequence[Model], fields: Sequence[str], *, only_if: dict[str, Any] | None = None
) -> None:
    """Write `fields` of these instances (all of one model) in one UPDATE; with `only_if`
    (field → value), only to the rows whose stored values are still those. On PostgreSQL an
    `UPDATE … FROM (VALUES …)`: bulk_update's CASE per column costs more to build than to run.
    Like bulk_update, auto_now fields are written only when named (with their value as set)."""
    if not rows:
        return
    model = type(rows[0])
    only_if = only_if or {}
    if connection.vendor != "postgresql":
        model._default_manager.filter(**only_if).bulk_update(rows, fields)
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
    guards = "".join(f" AND m.{qn(cast(str, by_name[name].column))} = %s" for name in only_if)
    params += [by_name[name].get_db_prep_save(value, connection) for name, value in only_if.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} AS m SET {sets} FROM (VALUES {values}) AS v({', '.join(names)}) "  # noqa: S608
            f"WHERE m.{pk} = CAST(v.{pk} AS {meta.pk.db_type(connection)}){guards}",
            params,
        )
