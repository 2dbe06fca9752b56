"""Keep WABAs and numbers current: quality rating changes without a webhook of its own."""

import logging
from collections.abc import Callable

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.account import services
from whatsapp.account.selectors import waba_for_work, waba_ids_for_work
from whatsapp.models import WhatsAppBusinessAccount

logger = logging.getLogger(__name__)

ACCOUNT_REFRESH_SECONDS = 6 * 3600


def run_for_waba(waba_pk: str, job: str, work: Callable[[WhatsAppBusinessAccount], object]) -> None:
    """What a per-WABA actor does: `work` on the WABA if its account is still active, else
    drop the job (the WABA is gone or its account expired, was revoked or removed)."""
    waba = waba_for_work(waba_pk=waba_pk)
    if waba is None:
        logger.info("Skipping %s of WABA %s: gone or its account is not active", job, waba_pk)
        return
    work(waba)


@actor(queue_name="whatsapp_templates", max_retries=5)
def refresh_waba(waba_pk: str) -> None:
    run_for_waba(waba_pk, "refresh", lambda waba: services.waba_refresh(waba=waba))


@periodic(seconds=ACCOUNT_REFRESH_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def refresh_all_wabas() -> None:
    for pk in waba_ids_for_work():
        refresh_waba.send(str(pk))
