"""Reads of WABAs and phone numbers. User-facing reads start from the caller's own Meta
accounts (`waba_owned_by`, which every whatsapp selector scopes with); webhooks and background
jobs read WABAs still at work (`waba_at_work`)."""

from collections.abc import Iterator
from uuid import UUID

from django.db.models import Q, QuerySet

from accounts.models import MetaAccount
from accounts.selectors import owned_by
from botopia_meta.exceptions import AccountNotConnected, NotFound
from orgs.models import Organization
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

ACTIVE = MetaAccount.Status.ACTIVE


def waba_owned_by(org: Organization, *, via: str = "") -> Q:
    """Rows under the caller's live WABAs: `accounts.selectors.owned_by` (the caller's Meta
    accounts, not deleted) plus the WABA's own soft delete, which a join through `via` (the
    lookup path to the WABA: "waba" for a number, "phone_number__waba" for a message; "" for
    the WABA itself, whose manager already hides deleted rows) does not see."""
    if not via:
        return owned_by(org, via="account")
    return owned_by(org, via=f"{via}__account") & Q(**{f"{via}__deleted_at__isnull": True})


def waba_at_work(*, via: str = "") -> Q:
    """Live WABAs (or rows under one, `via` as above) whose Meta account is active and not
    deleted: what webhooks and periodic jobs act on."""
    prefix = f"{via}__" if via else ""
    active = Q(**{f"{prefix}account__status": ACTIVE, f"{prefix}account__deleted_at__isnull": True})
    if not via:
        return active
    return active & Q(**{f"{prefix}deleted_at__isnull": True})


def waba_for_work(*, waba_pk: UUID | str) -> WhatsAppBusinessAccount | None:
    """For an actor: the WABA if its account is active, else None (drop the job)."""
    return (
        WhatsAppBusinessAccount.objects.filter(pk=waba_pk, account__status=ACTIVE)
        .select_related("account")
        .first()
    )


def waba_ids_for_work() -> Iterator[UUID]:
    """Every WABA a periodic job fans out to (one job each, so one failing account does not
    stop the others)."""
    return WhatsAppBusinessAccount.objects.filter(waba_at_work()).values_list("pk", flat=True).iterator()


def phone_numbers_for_webhook(*, phone_number_id: str) -> list[WhatsAppPhoneNumber]:
    """Every row of the number a webhook names under a live WABA of an active account, oldest
    first: one per organization that connected it (each gets the webhook's items). One query."""
    return list(
        WhatsAppPhoneNumber.objects.filter(waba_at_work(via="waba"), phone_number_id=phone_number_id)
        .select_related("waba")
        .order_by("created_at", "pk")
    )


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
    *, org: Organization, waba_id: str | None = None, phone_number_id: str | None = None
) -> None:
    """A filter naming a WABA or number the caller doesn't have is a 404, like a lookup: an
    empty list would answer a different question than the one asked."""
    wabas = WhatsAppBusinessAccount.objects.filter(waba_owned_by(org))
    if waba_id and not wabas.filter(waba_id=waba_id).exists():
        raise NotFound("No such WhatsApp Business account.")
    if phone_number_id and not phone_number_list(org=org).filter(phone_number_id=phone_number_id).exists():
        raise NotFound("No such phone number.")


def phone_number_list(*, org: Organization, waba_id: str | None = None) -> QuerySet[WhatsAppPhoneNumber]:
    numbers = WhatsAppPhoneNumber.objects.filter(waba_owned_by(org, via="waba")).select_related("waba")
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
