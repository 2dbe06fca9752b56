"""What staff see of WhatsApp sends: the send metrics and the "messages are failing" notification.

Called from the send and status paths; never raises into them."""

import logging
from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.utils import timezone

from botopia_meta import metrics

logger = logging.getLogger(__name__)


def send_outcome(*, phone_number_id: str, outcome: str) -> None:
    metrics.count("whatsapp_sends", phone_number_id, outcome)


def status_applied(*, at, status: str, phone_number_id: str) -> None:
    statuses_applied(applied=[(at, status)], phone_number_id=phone_number_id)


def statuses_applied(*, applied: list[tuple[datetime, str]], phone_number_id: str) -> None:
    """Statuses (Meta's time, name) of one number applied now: their lag, failures counted."""
    now = timezone.now()
    metrics.observe_status_lags([(now - at).total_seconds() for at, _ in applied])
    failed = sum(name == "failed" for _, name in applied)
    if failed:
        metrics.count("whatsapp_sends", phone_number_id, "failed_at_meta", amount=failed)


def message_failed(*, account_id: UUID, phone_number_id: str, display_number: str, code, title: str) -> None:
    """One notification per number (and account) per hour however many messages fail in it."""
    from accounts.models import MetaAccount
    from accounts.notifications import Severity, notify

    hour = timezone.now().strftime("%Y%m%d%H")
    dedupe_key = f"message_failed:{phone_number_id}:{hour}"
    try:
        # A broadcast failing by the thousand: one cache round trip each instead of a refused
        # INSERT; the notification's dedupe_key still makes it once even if the cache forgot.
        # Per account: a number shared by two organizations notifies each.
        if not cache.add(f"notified:{account_id}:{dedupe_key}", 1, timeout=3600):
            return
    except Exception:  # the cache is down: the database's dedupe alone
        logger.debug("message_failed dedupe marker not set")
    try:
        account = MetaAccount.all_objects.get(pk=account_id)
        notify(
            account=account,
            kind="message_failed",
            severity=Severity.WARNING,
            title=f"Messages from {display_number or phone_number_id} are failing",
            body=f"Latest error: {code if code is not None else '—'} {title}".strip(),
            related_type="whatsapp_phone_number",
            related_id=phone_number_id,
            dedupe_key=dedupe_key,
        )
    except Exception:
        logger.exception("message_failed notification not created")
