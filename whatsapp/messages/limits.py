"""Meta's messaging limit, enforced before Meta does.

Meta caps how many unique customers a business portfolio may reach outside a customer-service
window in a moving 24 hours (250, 2,000, 10,000, 100,000 or unlimited), shared by all the
portfolio's numbers, and refuses sends over it. We keep the cap per business (the
business_capability_update webhook, else the numbers' messaging_limit_tier), record every
customer a send we accept will reach outside a window, and refuse (409 with the figures) a send
or broadcast that would go over, so the business hears it from us before a wave of Meta errors.

Race safety: a reservation locks the business's MessagingLimit row (SELECT … FOR UPDATE) until
the transaction storing the send commits, so checks for one business run one at a time and each
sees every reservation committed before it. Two concurrent broadcasts cannot both pass a nearly
full cap: the second is measured against the first's recipients.

What it cannot see: customers reached through another tool sharing the portfolio, and Meta's own
accounting (its window may close between our acceptance and the send). A reservation is kept
when a send later fails or a broadcast is cancelled: we may refuse early, not late."""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Notification
from accounts.notifications import notify
from botopia_meta.exceptions import Conflict
from botopia_meta.registry import WebhookItem
from whatsapp.models import (
    Contact,
    LimitedRecipient,
    MessagingLimit,
    WhatsAppBusinessAccount,
    WhatsAppPhoneNumber,
)

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
UNLIMITED = -1
# messaging_limit_tier on a number (TIER_1K and TIER_50 are older tiers still seen).
TIER_CAPS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": UNLIMITED,
}
# Up to this many recipients the figures come from one aggregate over their ids; above it, the
# business's reached ids (at most its cap) are read once and compared in memory.
SMALL = 500
WARN_AT = 0.8  # a notification once a reservation takes the business past 80 % of its cap


class MessagingLimitReached(Conflict):
    code = "MESSAGING_LIMIT_REACHED"
    default_message = "This would exceed the business's WhatsApp messaging limit."


def business_key(waba: WhatsAppBusinessAccount) -> str:
    """The business portfolio owning the WABA; the WABA itself until discovery has read it."""
    return waba.business_id or f"waba:{waba.waba_id}"


def _tier_cap(waba: WhatsAppBusinessAccount) -> int | None:
    """The highest tier among the business's numbers (Meta set each portfolio's limit to its
    best number's); None when no number reports one."""
    numbers = (
        WhatsAppPhoneNumber.objects.filter(waba__business_id=waba.business_id)
        if waba.business_id
        else WhatsAppPhoneNumber.objects.filter(waba=waba)
    )
    caps = [TIER_CAPS[t] for t in numbers.values_list("messaging_limit_tier", flat=True) if t in TIER_CAPS]
    if not caps:
        return None
    return UNLIMITED if UNLIMITED in caps else max(caps)


def _in_window(number: WhatsAppPhoneNumber, wa_ids: Sequence[str], since: datetime) -> set[str]:
    contacts = Contact.objects.filter(phone_number=number, last_inbound_at__gt=since)
    if len(wa_ids) <= SMALL:
        contacts = contacts.filter(wa_id__in=wa_ids)
    return set(contacts.values_list("wa_id", flat=True))


def messaging_limit_reserve(
    *, number: WhatsAppPhoneNumber, wa_ids: Sequence[str], now: datetime | None = None
) -> None:
    """Count the customers among `wa_ids` (unique) that this send reaches outside a
    customer-service window against the business's limit: raise MessagingLimitReached if they
    do not fit, else record them. Call inside the transaction that stores the send, so the
    reservation and the send commit (or roll back) together."""
    if not wa_ids:
        return
    now = now or timezone.now()
    waba = number.waba
    key = business_key(waba)
    since = now - WINDOW
    with transaction.atomic():
        limit, _ = MessagingLimit.objects.select_for_update().get_or_create(business_key=key)
        cap = limit.max_daily if limit.max_daily is not None else _tier_cap(waba)
        if cap is None or cap == UNLIMITED:
            return  # nothing to count against (unknown limit, or none)
        in_window = _in_window(number, wa_ids, since)
        outside = [wa_id for wa_id in wa_ids if wa_id not in in_window]
        if not outside:
            return
        reached = LimitedRecipient.objects.filter(business_key=key, reached_at__gt=since)
        if len(outside) <= SMALL:
            figures = reached.aggregate(used=Count("pk"), already=Count("pk", filter=Q(wa_id__in=outside)))
            used, already = figures["used"], figures["already"]
        else:
            current = set(reached.values_list("wa_id", flat=True))
            used, already = len(current), len(current.intersection(outside))
        requested = len(outside) - already
        if used + requested > cap:
            raise MessagingLimitReached(
                f"WhatsApp lets this business reach {cap} customers outside a customer-service window "
                f"per 24 hours; {used} are reached and this needs {requested} more "
                f"({max(0, cap - used)} left).",
                details={
                    "businessId": key,
                    "limit": cap,
                    "used": used,
                    "requested": requested,
                    "available": max(0, cap - used),
                    "windowHours": 24,
                },
            )
        LimitedRecipient.objects.bulk_create(
            [LimitedRecipient(business_key=key, wa_id=wa_id, reached_at=now) for wa_id in outside],
            update_conflicts=True,
            unique_fields=["business_key", "wa_id"],
            update_fields=["reached_at"],
            batch_size=1_000,
        )
        if used < WARN_AT * cap <= used + requested:
            notify(
                account=waba.account,
                kind="whatsapp_messaging_limit",
                title=f"WhatsApp messaging limit of {waba} nearly reached",
                body=f"{used + requested} of {cap} customers reached outside a service window in 24 hours.",
                severity=Notification.Severity.WARNING,
                related_type="whatsapp_business_account",
                related_id=str(waba.pk),
                dedupe_key=f"messaging-limit:{key}:{now:%Y-%m-%dT%H}",
            )


def messaging_limit_update(item: WebhookItem) -> None:
    """business_capability_update: keep the business's announced limit. Meta sends
    max_daily_conversations_per_business from v24.0, max_daily_conversation_per_phone before
    (same meaning since October 2025); -1 means unlimited. An older event changes nothing."""
    value = item.value
    raw = value.get("max_daily_conversations_per_business", value.get("max_daily_conversation_per_phone"))
    if raw is None:
        return
    try:
        cap = int(raw)
    except (TypeError, ValueError):
        return
    announced = datetime.fromtimestamp(item.entry_time, UTC) if item.entry_time else timezone.now()
    wabas = WhatsAppBusinessAccount.objects.filter(waba_id=str(item.entry_id))
    for key in sorted({business_key(waba) for waba in wabas}):  # sorted: one lock order
        with transaction.atomic():
            limit, _ = MessagingLimit.objects.select_for_update().get_or_create(business_key=key)
            if limit.announced_at and limit.announced_at > announced:
                continue
            limit.max_daily, limit.announced_at = cap, announced
            limit.save(update_fields=["max_daily", "announced_at", "updated_at"])
