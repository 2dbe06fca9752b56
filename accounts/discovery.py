"""What a platform app's discovery step gets: the account, its Graph client, the token's
granted targets, and Meta answers shared by several steps (the pages, read once per run),
plus the helpers that keep discovery re-runnable without duplicates."""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from accounts.models import MetaAccount
from accounts.tokens import graph_for
from botopia_meta.graph import GraphClient
from botopia_meta.models import SoftDeleteModel

PAGE_FIELDS = "id,name,category,access_token,tasks,picture{url},instagram_business_account"


class DiscoveryRun:
    def __init__(self, account: MetaAccount):
        self.account = account
        self.graph: GraphClient = graph_for(account)
        self._pages: list[dict] | None = None
        self._pages_error: Exception | None = None

    def targets(self, *scopes: str) -> list[str]:
        """Meta ids (WABAs, pages, businesses) debug_token granted for any of `scopes`."""
        return [target for target in self.account.granular_targets(*scopes) if meta_id(target)]

    def pages(self) -> list[dict]:
        """GET /me/accounts (every page, with its page token and linked IG account), once."""
        if self._pages_error is not None:
            raise self._pages_error  # each step that needs the pages fails alike, on one call
        if self._pages is None:
            try:
                self._pages = [
                    page
                    for page in self.graph.iter_items("me/accounts", {"fields": PAGE_FIELDS, "limit": 100})
                    if isinstance(page, dict) and meta_id(page.get("id"))
                ]
            except Exception as exc:
                self._pages_error = exc
                raise
        return self._pages


def sync_rows(
    model: type[SoftDeleteModel],
    *,
    scope: dict[str, Any],
    key: str,
    items: dict[str, dict[str, Any]],
    keep: Iterable[str] = (),
) -> dict[str, Any]:
    """Make the rows of `model` within `scope` match what Meta returned: `items` maps each
    asset's Meta id (the `key` field) to its values. New ids are inserted in one query, changed
    rows updated (only the changed fields), soft-deleted ones brought back, and rows whose id is
    neither in `items` nor in `keep` soft-deleted. Unchanged rows cost nothing, so a re-run is
    cheap. Returns {meta id: row} for `items`."""
    existing = {getattr(row, key): row for row in model.all_objects.filter(**scope)}
    rows: dict[str, Any] = {}
    new: list[Any] = []
    for meta_id, values in items.items():
        row = existing.get(meta_id)
        if row is None:
            new.append(model(**scope, **{key: meta_id}, **values))
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        if row.deleted_at is not None:
            row.deleted_at = None
            changed.append("deleted_at")
        if changed:
            row.save(update_fields=[*changed, "updated_at"])
        rows[meta_id] = row
    if new:
        # ignore_conflicts: a concurrent run may have inserted the same ids; read back what is stored.
        model.all_objects.bulk_create(new, ignore_conflicts=True)
        created_ids = [getattr(row, key) for row in new]
        rows.update(
            {
                getattr(row, key): row
                for row in model.all_objects.filter(**scope, **{f"{key}__in": created_ids})
            }
        )
    retire_missing(model.all_objects.filter(**scope), field=key, seen=[*items, *keep])
    return rows


def retire_missing(queryset: models.QuerySet, *, field: str, seen: Iterable[str]) -> int:
    """Soft-delete the live rows of `queryset` whose `field` Meta no longer returned."""
    return (
        queryset.filter(deleted_at__isnull=True)
        .exclude(**{f"{field}__in": list(seen)})
        .update(deleted_at=timezone.now(), updated_at=timezone.now())
    )


def text(value: Any, max_length: int) -> str:
    """Meta's value as a string that fits the column (Meta's names can outgrow ours)."""
    return "" if value is None or isinstance(value, dict | list) else str(value)[:max_length]


def url(value: Any, max_length: int = 1024) -> str:
    """A URL, or "" when it is not one or would not fit (a cut URL is a broken one)."""
    value = text(value, 10_000)
    return value if value.startswith("https://") and len(value) <= max_length else ""


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def meta_id(value: Any) -> str | None:
    """Meta's id as our string key, or None when it is not a Graph id (digits, fits the column)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    value = str(value)
    return value if value.isascii() and value.isdigit() and len(value) <= 64 else None
