"""Pagination over our own tables: `limit` + `cursor` (keyset, any depth at the cost of the first
page) or `limit` + `offset` (bounded at MAX_OFFSET), and a `total` that never scans: exact up to
COUNT_CAP matches, an estimate beyond it (`totalEstimated: true`).

A cursor is the sort key of the last row served, signed (django.core.signing) with a salt naming
the list (its path) and its ordering: opaque to clients, refused if altered or replayed on
another list. Pages by cursor are stable under inserts: a row added meanwhile at the top is
neither served twice nor pushes another row off the page boundary."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Deeper pages are served by cursor: an offset makes the database walk every row before it.
MAX_OFFSET = 10_000
# `total` is exact up to this many matches (a count over a LIMIT COUNT_CAP + 1 subquery).
COUNT_CAP = 10_000
CURSOR_MAX_LENGTH = 1024
OFFSET_TOO_DEEP = f"Must be at most {MAX_OFFSET}: page further with `cursor` (pagination.nextCursor)."
BAD_CURSOR = "Not a cursor of this list: pass pagination.nextCursor back unchanged."


class PageQuerySerializer(serializers.Serializer):
    """`limit`, `offset` and `cursor` in a query, for a view whose other filters are validated in
    the same serializer (every failing field answered at once)."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = serializers.IntegerField(
        min_value=0, max_value=MAX_OFFSET, required=False, error_messages={"max_value": OFFSET_TOO_DEEP}
    )
    cursor = serializers.CharField(
        required=False, max_length=CURSOR_MAX_LENGTH, help_text="pagination.nextCursor of the page before"
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("cursor") and attrs.get("offset") is not None:
            raise serializers.ValidationError({"offset": ["Give cursor or offset, not both."]})
        attrs.setdefault("offset", 0)
        return attrs


def page_query(request: Request) -> dict[str, Any]:
    """limit / offset / cursor of a request, validated (400 VALIDATION_ERROR naming the field)."""
    serializer = PageQuerySerializer(
        data={k: request.query_params[k] for k in ("limit", "offset", "cursor") if k in request.query_params}
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- cursors --------------------------------------------------------------------------------


def _salt(scope: str, ordering: Sequence[str]) -> str:
    return f"botopia.cursor:{scope}:{','.join(ordering)}"


def _plain(value: Any) -> Any:
    """A sort key value as JSON: datetimes and dates as ISO 8601, UUIDs and decimals as text
    (a filter on the field parses them back)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def cursor_for(scope: str, ordering: Sequence[str], values: Sequence[Any]) -> str:
    """The opaque cursor of the page after the row whose sort key is `values`."""
    return signing.dumps([_plain(v) for v in values], salt=_salt(scope, ordering), compress=True)


def read_cursor(raw: str, scope: str, ordering: Sequence[str]) -> list[Any]:
    """The sort key a cursor carries; an altered cursor, or one of another list, is a 400."""
    try:
        values = signing.loads(raw, salt=_salt(scope, ordering))
    except (signing.BadSignature, ValueError, UnicodeError):
        raise ValidationError({"cursor": [BAD_CURSOR]}) from None
    if not isinstance(values, list) or len(values) != len(ordering):
        raise ValidationError({"cursor": [BAD_CURSOR]})
    return values


def keyset_ordering(queryset: QuerySet) -> tuple[str, ...] | None:
    """The queryset's ordering as plain field names ("-created_at", "-id"), ending with the primary
    key so the key is unique; None when it orders by an expression (no cursor then)."""
    meta = queryset.model._meta
    ordering = list(queryset.query.order_by or meta.ordering)
    pk = meta.pk.name
    if not all(isinstance(name, str) for name in ordering):
        return None  # an expression
    names = [name.lstrip("-") for name in ordering]
    for name in names:
        try:
            field = meta.pk if name == "pk" else meta.get_field(name)
        except FieldDoesNotExist:
            return None  # a relation's field, an annotation, "?"
        if field.is_relation or not getattr(field, "concrete", False):
            return None
    if "pk" not in names and pk not in names:
        ordering.append("-pk" if ordering and ordering[-1].startswith("-") else "pk")
    return tuple(name if name.lstrip("-") != "pk" else name.replace("pk", pk) for name in ordering)


def keyset_after(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows after the one whose sort key is `values`, in `ordering`. The leading column also gets
    a plain bound (<= / >=) so the index on it is entered at the cursor, not walked from the top."""
    after = Q()
    for i, name in enumerate(ordering):
        field = name.lstrip("-")
        step = Q(**{f"{field}__{'lt' if name.startswith('-') else 'gt'}": values[i]})
        for prior, value in zip(ordering[:i], values[:i], strict=False):
            step &= Q(**{prior.lstrip("-"): value})
        after |= step
    first = ordering[0]
    return Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]}) & after


def sort_key(row: Any, ordering: Sequence[str]) -> list[Any] | None:
    """A row's sort key (a model instance or a values() dict); None if part of it is NULL."""
    key = [row[n.lstrip("-")] if isinstance(row, dict) else getattr(row, n.lstrip("-")) for n in ordering]
    return None if any(value is None for value in key) else key


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Total:
    value: int
    estimated: bool = False

    def __add__(self, other: "Total | int") -> "Total":
        other = other if isinstance(other, Total) else Total(other)
        return Total(self.value + other.value, self.estimated or other.estimated)

    __radd__ = __add__


def _planner_rows(queryset: QuerySet) -> int | None:
    """PostgreSQL's own estimate of how many rows the query matches (EXPLAIN, nothing read)."""
    query = queryset.order_by().select_related(None).values("pk")
    connection = connections[queryset.db]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # pragma: no cover (psycopg parses json already)
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_rows(queryset: QuerySet) -> Total:
    """Exact while at most COUNT_CAP rows match (the count stops reading there), else an
    estimate: the planner's on PostgreSQL, COUNT_CAP itself elsewhere."""
    capped = queryset.order_by().select_related(None)[: COUNT_CAP + 1].count()
    if capped <= COUNT_CAP:
        return Total(capped)
    estimate = None
    if connections[queryset.db].vendor == "postgresql":
        estimate = _planner_rows(queryset)
    return Total(max(estimate or 0, COUNT_CAP), estimated=True)


# --- the answer -----------------------------------------------------------------------------


def page_info(
    total: int | Total,
    limit: int,
    offset: int | None,
    *,
    more: bool | None = None,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """The answer's `pagination` object. `more` (whether a row follows the page) is known when
    the page was read with one row extra; otherwise it is judged from an exact total."""
    total = total if isinstance(total, Total) else Total(total)
    if more is None:
        more = offset is not None and offset + limit < total.value
    return {
        "total": total.value,
        "total_estimated": total.estimated,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more and offset is not None else None,
        "next_cursor": next_cursor if more else None,
    }


class EnvelopePagination:
    """One page of a queryset, answered as {<results_key>: [...], "pagination": {...}}: by cursor
    when the request has one, else by offset; each page offers the cursor of the next."""

    def paginate(self, queryset: QuerySet, request: Request) -> tuple[list, dict]:
        query = page_query(request)
        limit, offset = query["limit"], query["offset"]
        ordering = keyset_ordering(queryset)
        if ordering is not None:
            queryset = queryset.order_by(*ordering)
        window = queryset
        if query.get("cursor"):
            if ordering is None:
                raise ValidationError({"cursor": ["This list pages by offset only."]})
            values = read_cursor(query["cursor"], request.path, ordering)
            window, offset = queryset.filter(keyset_after(ordering, values)), None
            rows = list(window[: limit + 1])
        else:
            rows = list(queryset[offset : offset + limit + 1])
        page, more = rows[:limit], len(rows) > limit
        key = sort_key(page[-1], ordering) if page and more and ordering else None
        next_cursor = cursor_for(request.path, ordering, key) if key is not None and ordering else None
        total = count_rows(queryset)
        return page, page_info(total, limit, offset, more=more, next_cursor=next_cursor)
