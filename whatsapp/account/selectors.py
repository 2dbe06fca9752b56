"""Reads of WhatsApp assets, always starting from the requesting user's own Meta accounts."""

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from accounts.models import MetaAccount
from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import AccountNotConnected, NotFound, ValidationFailed
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

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


def waba_list(*, account: MetaAccount) -> QuerySet[WhatsAppBusinessAccount]:
    return WhatsAppBusinessAccount.objects.filter(account=account).order_by("created_at")


def waba_for_account(*, account: MetaAccount, waba_id: str | None = None) -> WhatsAppBusinessAccount:
    """The account's WABA named by Meta id, or its first one."""
    wabas = waba_list(account=account)
    if waba_id:
        waba = wabas.filter(waba_id=waba_id).first()
        if waba is None:
            raise NotFound("No such WhatsApp Business account.")
        return waba
    waba = wabas.first()
    if waba is None:
        raise AccountNotConnected(
            "The connected Meta account has no WhatsApp Business account. "
            "Connect one with WhatsApp access (Embedded Signup) first."
        )
    return waba


def require_own_ids(
    *, user: AbstractBaseUser, waba_id: str | None = None, phone_number_id: str | None = None
) -> None:
    """A filter naming a WABA or number the caller doesn't have is a 404, like a lookup: an
    empty list would answer a different question than the one asked."""
    wabas = WhatsAppBusinessAccount.objects.filter(account__user=user, account__deleted_at__isnull=True)
    if waba_id and not wabas.filter(waba_id=waba_id).exists():
        raise NotFound("No such WhatsApp Business account.")
    if phone_number_id and not phone_number_list(user=user).filter(phone_number_id=phone_number_id).exists():
        raise NotFound("No such phone number.")


def phone_number_list(*, user: AbstractBaseUser, waba_id: str | None = None) -> QuerySet[WhatsAppPhoneNumber]:
    numbers = WhatsAppPhoneNumber.objects.filter(
        waba__account__user=user, waba__account__deleted_at__isnull=True, waba__deleted_at__isnull=True
    ).select_related("waba")
    if waba_id:
        numbers = numbers.filter(waba__waba_id=waba_id)
    return numbers.order_by("created_at", "phone_number_id")


def phone_number_for_account(
    *, account: MetaAccount, phone_number_id: str | None = None
) -> tuple[WhatsAppBusinessAccount, WhatsAppPhoneNumber | None]:
    """(WABA, number) the account screen shows: the number asked for, or the first one."""
    numbers = WhatsAppPhoneNumber.objects.filter(
        waba__account=account, waba__deleted_at__isnull=True
    ).select_related("waba")
    if phone_number_id:
        number = numbers.filter(phone_number_id=phone_number_id).first()
        if number is None:
            raise NotFound("No such phone number.")
        return number.waba, number
    number = numbers.order_by("waba__created_at", "created_at").first()
    if number is not None:
        return number.waba, number
    return waba_for_account(account=account), None


def template_list(
    *,
    user: AbstractBaseUser,
    status: str | None = None,
    category: str | None = None,
    search: str | None = None,
    language: str | None = None,
    waba_id: str | None = None,
) -> QuerySet[WhatsAppTemplate]:
    templates = WhatsAppTemplate.objects.filter(
        waba__account__user=user, waba__account__deleted_at__isnull=True, waba__deleted_at__isnull=True
    )
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


def template_get(*, user: AbstractBaseUser, template_id: UUID | str) -> WhatsAppTemplate:
    pk = uuid_or_404(template_id, "template")
    template = (
        WhatsAppTemplate.objects.filter(
            pk=pk,
            waba__account__user=user,
            waba__account__deleted_at__isnull=True,
            waba__deleted_at__isnull=True,
        )
        .select_related("waba__account")
        .first()
    )
    if template is None:
        raise NotFound("No such template.")
    return template
