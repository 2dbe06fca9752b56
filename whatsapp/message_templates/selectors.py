"""Reads of message templates, always starting from the request's organization's Meta accounts."""

from uuid import UUID

from django.db.models import Q, QuerySet

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NotFound, ValidationFailed
from orgs.models import Organization
from whatsapp.account.selectors import waba_owned_by
from whatsapp.models import WhatsAppTemplate

S = WhatsAppTemplate.Status
# The contract's filter values, and Meta's own names, onto Meta's statuses.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "approved": (S.APPROVED,),
    "in_review": (S.PENDING, S.IN_APPEAL),
    "pending": (S.PENDING,),
    "rejected": (S.REJECTED,),
    "paused": (S.PAUSED,),
    "disabled": (S.DISABLED,),
    "in_appeal": (S.IN_APPEAL,),
    "pending_deletion": (S.PENDING_DELETION,),
    "deleted": (S.DELETED,),
    "limit_exceeded": (S.LIMIT_EXCEEDED,),
    "archived": (S.ARCHIVED,),
}


def template_list(
    *,
    org: Organization,
    status: str | None = None,
    category: str | None = None,
    search: str | None = None,
    language: str | None = None,
    waba_id: str | None = None,
) -> QuerySet[WhatsAppTemplate]:
    templates = WhatsAppTemplate.objects.filter(waba_owned_by(org, via="waba"))
    if status:
        statuses: set[str] = set()
        for value in status.split(","):
            value = value.strip()
            mapped = STATUS_FILTERS.get(value.lower())
            if mapped is None:
                allowed = sorted(STATUS_FILTERS)
                raise ValidationFailed(
                    details={"status": [f"Unknown status {value!r}; use one of {allowed}."]}
                )
            statuses.update(mapped)
        templates = templates.filter(status__in=statuses)
    if category:
        category = category.upper()
        if category not in WhatsAppTemplate.Category.values:
            raise ValidationFailed(
                details={"category": [f"Must be one of {', '.join(WhatsAppTemplate.Category.values)}."]}
            )
        templates = templates.filter(category=category)
    if language:
        templates = templates.filter(language=language)
    if waba_id:
        templates = templates.filter(waba__waba_id=waba_id)
    if search:
        search = search.strip()
        templates = templates.filter(Q(name__icontains=search) | Q(template_id=search))
    return templates.order_by("-updated_at", "name", "language")


def template_get(*, org: Organization, template_id: UUID | str) -> WhatsAppTemplate:
    pk = uuid_or_404(template_id, "template")
    template = (
        WhatsAppTemplate.objects.filter(waba_owned_by(org, via="waba"), pk=pk)
        .select_related("waba__account")
        .first()
    )
    if template is None:
        raise NotFound("No such template.")
    return template
