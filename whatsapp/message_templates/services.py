"""Template writes: create, edit and delete at Meta, and reconcile our mirror with Meta's list.

Meta is the source of truth. Every write validates first (whatsapp.message_templates.rules), calls
Meta, and only then touches the mirror, so a refusal leaves our table as it was.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from botopia_meta.exceptions import Conflict, ValidationFailed
from botopia_meta.graph import GraphError, GraphInvalidParameter
from whatsapp.account.graph import waba_client
from whatsapp.message_templates import graph, rules
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppTemplate

logger = logging.getLogger(__name__)

S = WhatsAppTemplate.Status
EDITABLE_STATUSES = (S.APPROVED, S.REJECTED, S.PAUSED)
EDIT_RULES = {
    "status": "Only APPROVED, REJECTED or PAUSED templates can be edited.",
    "category": "The category of an APPROVED template cannot be changed.",
    "edit_limit": "An APPROVED template can be edited once per 24 hours and 10 times per 30 days.",
    "identity": "Name and language never change: create a new template instead.",
}
EDIT_INTERVAL = timedelta(hours=24)
# Meta's subcode for "object does not exist" (code 100).
MISSING_OBJECT_SUBCODE = 33


class TemplateEditRefused(Conflict):
    code = "TEMPLATE_EDIT_REFUSED"
    default_message = "Meta does not allow this edit."


def _raise_rule_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed("The template breaks Meta's template rules.", details=errors)


def _meta_values(item: dict) -> dict:
    quality = item.get("quality_score")
    reason = item.get("rejected_reason") or ""
    return {
        "template_id": str(item["id"]),
        "name": item["name"],
        "language": item["language"],
        "category": str(item.get("category") or "").upper(),
        "status": str(item.get("status") or S.PENDING).upper(),
        "parameter_format": str(item.get("parameter_format") or "POSITIONAL").upper(),
        "components": item.get("components") or [],
        "quality_score": (quality.get("score") if isinstance(quality, dict) else quality) or "",
        "rejected_reason": "" if reason == "NONE" else str(reason)[:255],
    }


class _MirrorIndex:
    """The WABA's rows loaded once, so a sync of N templates costs one read, not N."""

    def __init__(self, waba: WhatsAppBusinessAccount, *, only: dict | None = None):
        self.by_id: dict[str, WhatsAppTemplate] = {}
        self.by_key: dict[tuple[str, str], WhatsAppTemplate] = {}
        self.dead_by_id: dict[str, WhatsAppTemplate] = {}
        rows = WhatsAppTemplate.all_objects.filter(waba=waba)
        if only is not None:  # one template: load just the rows it could be
            rows = rows.filter(
                Q(template_id=only["template_id"]) | Q(name=only["name"], language=only["language"])
            )
        for row in rows.order_by("created_at"):
            self.add(row)

    def add(self, row: WhatsAppTemplate) -> None:
        if row.deleted_at is not None:
            if row.template_id:
                self.dead_by_id.setdefault(row.template_id, row)
            return
        if row.template_id:
            self.by_id[row.template_id] = row
        self.by_key[(row.name, row.language)] = row

    def find(self, values: dict) -> WhatsAppTemplate | None:
        return (
            self.by_id.get(values["template_id"])
            or self.by_key.get((values["name"], values["language"]))
            or self.dead_by_id.get(values["template_id"])
        )


def template_apply_meta(
    *,
    waba: WhatsAppBusinessAccount,
    item: dict,
    at: datetime | None = None,
    index: _MirrorIndex | None = None,
) -> str:
    """Upsert one template as Meta lists it; returns "added", "updated" or "unchanged"."""
    values = _meta_values(item)
    index = index or _MirrorIndex(waba, only=values)
    row = index.find(values)
    if row is None:
        index.add(WhatsAppTemplate.objects.create(waba=waba, last_synced_at=at or timezone.now(), **values))
        return "added"
    restored = row.deleted_at is not None
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if not changed and not restored:
        return "unchanged"
    for name in changed:
        setattr(row, name, values[name])
    row.deleted_at = None
    row.last_synced_at = at or timezone.now()
    row.save()
    index.add(row)
    return "added" if restored else "updated"


@dataclass
class SyncResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    wabas: list[str] = field(default_factory=list)

    def merge(self, other: "SyncResult") -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.wabas += other.wabas

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
        }


def templates_sync(
    *, waba: WhatsAppBusinessAccount, progress: Callable[[int], None] | None = None
) -> SyncResult:
    """Page through every template Meta has for the WABA and reconcile the mirror: add the
    new, update the changed, soft-delete what Meta no longer lists.

    Removal happens only after the whole list was read (a failure midway removes nothing),
    and spares rows created after the sync started (our own create racing the listing).
    """
    started = timezone.now()
    result = SyncResult(wabas=[waba.waba_id])
    seen: set[str] = set()
    index = _MirrorIndex(waba)
    for item in graph.templates_iter(waba_client(waba), waba.waba_id):
        if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
            continue
        outcome = template_apply_meta(waba=waba, item=item, at=started, index=index)
        setattr(result, outcome, getattr(result, outcome) + 1)
        seen.add(str(item["id"]))
        if progress:
            progress(1)
    with transaction.atomic():
        gone = WhatsAppTemplate.objects.filter(waba=waba, created_at__lt=started).exclude(
            template_id__in=seen
        )
        for row in gone.select_for_update():
            row.soft_delete()
            result.removed += 1
        WhatsAppTemplate.objects.filter(waba=waba, template_id__in=seen).update(last_synced_at=started)
    logger.info("Template sync of WABA %s: %s", waba.waba_id, result.as_dict())
    return result


def templates_sync_wabas(
    *, wabas: list[WhatsAppBusinessAccount], progress: Callable[[int], None] | None = None
) -> SyncResult:
    total = SyncResult()
    for waba in wabas:
        total.merge(templates_sync(waba=waba, progress=progress))
    return total


def template_create(
    *,
    waba: WhatsAppBusinessAccount,
    name: str,
    language: str,
    category: str,
    components: list,
    parameter_format: str | None = None,
) -> WhatsAppTemplate:
    """Validate against Meta's rules, create at Meta, store Meta's id and status."""
    _raise_rule_errors(
        rules.template_errors(
            name=name,
            language=language,
            category=category,
            components=components,
            parameter_format=parameter_format or "POSITIONAL",
        )
    )
    if WhatsAppTemplate.objects.filter(waba=waba, name=name, language=language).exists():
        raise Conflict(
            f"A template named {name!r} in {language} already exists.",
            details={"name": [f"{name!r} ({language}) exists: edit it, or pick another name or language."]},
        )
    payload = rules.normalized(
        name=name,
        language=language,
        category=category,
        components=components,
        parameter_format=parameter_format,
    )
    answer = graph.template_create(waba_client(waba), waba.waba_id, payload)
    template_apply_meta(
        waba=waba,
        item={
            **payload,
            "id": answer["id"],
            "status": answer.get("status") or S.PENDING,
            "category": answer.get("category") or payload["category"],
        },
    )
    return WhatsAppTemplate.objects.get(waba=waba, template_id=str(answer["id"]))


def template_update(
    *,
    template: WhatsAppTemplate,
    components: list,
    category: str | None = None,
    name: str | None = None,
    language: str | None = None,
    parameter_format: str | None = None,
) -> WhatsAppTemplate:
    """Edit at Meta (components and, unless approved, category). Meta re-reviews the edit."""
    category = (category or template.category).upper()
    errors = rules.template_errors(
        name=template.name,
        language=template.language,
        category=category,
        components=components,
        parameter_format=parameter_format or template.parameter_format,
    )
    if name not in (None, template.name):
        errors.setdefault("name", []).append(EDIT_RULES["identity"])
    if language not in (None, template.language):
        errors.setdefault("language", []).append(EDIT_RULES["identity"])
    if parameter_format and parameter_format.upper() != template.parameter_format:
        errors.setdefault("parameter_format", []).append(
            "A template's parameter format cannot change: create a new template instead."
        )
    _raise_rule_errors(errors)
    _require_meta_id(template)
    if template.status not in EDITABLE_STATUSES:
        raise TemplateEditRefused(
            f"This template is {template.status}. {EDIT_RULES['status']}",
            details={"status": [EDIT_RULES["status"]], "rule": "status"},
        )
    if (
        template.status == S.APPROVED
        and template.last_edited_at
        and timezone.now() - template.last_edited_at < EDIT_INTERVAL
    ):
        next_edit = template.last_edited_at + EDIT_INTERVAL
        raise TemplateEditRefused(
            f"{EDIT_RULES['edit_limit']} Next edit possible at {next_edit.isoformat()}.",
            details={"rule": "edit_limit", "nextEditAt": next_edit.isoformat()},
        )
    if template.status == S.APPROVED and category != template.category:
        raise TemplateEditRefused(
            EDIT_RULES["category"], details={"category": [EDIT_RULES["category"]], "rule": "category"}
        )
    payload = rules.normalized(
        name=template.name,
        language=template.language,
        category=category,
        components=components,
        parameter_format=template.parameter_format,
    )
    edit = {"components": payload["components"]}
    if category != template.category:
        edit["category"] = category
    try:
        graph.template_edit(waba_client(template.waba), template.template_id, edit)
    except GraphInvalidParameter as exc:
        raise _edit_refusal(template, exc) from None
    except GraphError as exc:
        if type(exc) is not GraphError:  # token, permission, throttling: the usual envelopes
            raise
        raise _edit_refusal(template, exc) from None
    template.components = payload["components"]
    template.category = category
    template.status = S.PENDING  # Meta reviews every edit again
    template.last_edited_at = timezone.now()
    template.rejected_reason = ""
    # Only what the edit changed: a webhook may have updated quality meanwhile.
    template.save(
        update_fields=["components", "category", "status", "last_edited_at", "rejected_reason", "updated_at"]
    )
    return template


def _require_meta_id(template: WhatsAppTemplate) -> None:
    if not template.template_id:
        raise Conflict(
            "Meta's id of this template is not known yet: sync templates first "
            "(POST /api/meta/whatsapp/templates/sync).",
            details={"templateId": ["Missing."]},
        )


def _edit_refusal(template: WhatsAppTemplate, exc: GraphError) -> TemplateEditRefused:
    # Meta's subcodes for edit refusals are undocumented and change; name the rule that
    # applies to this template's state, and pass Meta's own words in details.
    rule = "edit_limit" if template.status == S.APPROVED else "status"
    details = {"rule": rule, "rules": list(EDIT_RULES.values()), **exc.details()}
    if rule == "edit_limit":
        message = f"Meta refused the edit. {EDIT_RULES['edit_limit']}"
    else:
        message = "Meta refused the edit; see metaMessage. " + EDIT_RULES["status"]
    return TemplateEditRefused(message, details=details)


def template_delete(*, template: WhatsAppTemplate) -> None:
    """Delete this language of the template at Meta (by name and hsm_id), then soft-delete
    the mirror row. A template Meta no longer has is simply removed from the mirror."""
    # Without hsm_id Meta deletes every language of the name: never do that by accident.
    _require_meta_id(template)
    try:
        graph.template_delete(
            waba_client(template.waba), template.waba.waba_id, template.name, template.template_id
        )
    except GraphInvalidParameter as exc:
        if exc.subcode != MISSING_OBJECT_SUBCODE:
            raise
        logger.info("Template %s was already gone at Meta", template.template_id)
    template.soft_delete()
