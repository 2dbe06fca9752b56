"""Reading Meta's answers the same way on Facebook and Instagram: timestamps, the `error` we
store for a failed call, and lists read live from Meta (posts, media) cached briefly."""

import contextlib
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache

from botopia_meta.graph import GraphError

LIST_CACHE_SECONDS = 60


def from_unix(value: Any) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 10**11:  # messaging timestamps are milliseconds, feed ones seconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (ValueError, OverflowError, OSError):  # past year 9999, or not a number (nan)
        return None


def parse_time(value: Any) -> datetime | None:
    """Meta's `2025-11-28T10:05:00+0000`, or a unix time (seconds or milliseconds)."""
    if isinstance(value, str) and value:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            pass
    return from_unix(value)


def iso(value: Any) -> str | None:
    """Meta writes `+0000`; the API answers ISO 8601 like every other timestamp (`...Z`)."""
    parsed = parse_time(value)
    return parsed.isoformat().replace("+00:00", "Z") if parsed else None


def stored_error(exc: Exception) -> dict[str, Any]:
    """A failure as stored in an `error` JSON field (a reply's, a post's, a publish's) and shown
    as it is by the API: Meta's error as code/subcode/message/fbtraceId, our own (PageTokenMissing)
    as code/message. Not GraphError.details() (metaCode, ...): clients already read these keys."""
    if isinstance(exc, GraphError):
        return {"code": exc.code, "subcode": exc.subcode, "message": exc.message, "fbtraceId": exc.fbtrace_id}
    return {"code": getattr(exc, "code", None), "message": getattr(exc, "message", str(exc))}


def cached_list(
    *,
    kind: str,
    asset_id: str,
    limit: int,
    before: str | None,
    after: str | None,
    fetch: Callable[[], tuple[list[dict], dict]],
    row: Callable[[dict], dict],
) -> tuple[list[dict], dict]:
    """One page of a list read from Meta (`kind`: "fb:posts", "ig:media"), cached briefly: a
    dashboard refresh must not spend the asset's rate limit. `list_changed` starts afresh."""
    # The cursors come from the client: hashed, so no character or length of theirs can make an
    # invalid cache key.
    cursors = hashlib.sha256(f"{before or ''}\x00{after or ''}".encode()).hexdigest()
    version = cache.get_or_set(f"{kind}:v:{asset_id}", 1, timeout=None)
    key = f"{kind}:{asset_id}:{version}:{limit}:{cursors}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    items, paging = fetch()
    result = ([row(item) for item in items], {"before": paging.get("before"), "after": paging.get("after")})
    cache.set(key, result, LIST_CACHE_SECONDS)
    return result


def list_changed(*, kind: str, asset_id: str) -> None:
    """We published: the cached pages of that list are stale (a new version key)."""
    # No version yet (nothing cached to drop), or Redis down: the cached pages expire by
    # themselves. Never an error: what we published exists at Meta, and an error answer's
    # retry would publish it twice.
    with contextlib.suppress(Exception):
        cache.incr(f"{kind}:v:{asset_id}")
