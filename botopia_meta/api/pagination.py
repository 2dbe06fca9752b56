from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Deep offsets are never a real page view, and a huge one would overflow the database.
MAX_OFFSET = 1_000_000


def _bounded_int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"Must be a whole number, got {raw!r}."]}) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError({name: [f"Must be {bound}."]})
    return value


def page_info(total: int, limit: int, offset: int) -> dict[str, int | None]:
    """The answer's `pagination` object for one page of `total` rows."""
    next_offset = offset + limit if offset + limit < total else None
    return {"total": total, "limit": limit, "offset": offset, "next_offset": next_offset}


class EnvelopePagination:
    """limit/offset over our own tables, answered as {<results_key>: [...], "pagination": {...}}.

    Out-of-range or non-numeric limit/offset is a 400, not silently replaced.
    """

    def paginate(self, queryset: QuerySet, request: Request) -> tuple[list, dict]:
        limit = _bounded_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _bounded_int(request, "offset", 0, 0, MAX_OFFSET)
        total = queryset.count()
        page = list(queryset[offset : offset + limit])
        return page, page_info(total, limit, offset)
