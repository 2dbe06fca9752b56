"""Keep WABAs and numbers current: quality rating changes without a webhook of its own."""

import logging

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.account import services
from whatsapp.account.selectors import waba_for_work, waba_ids_for_work

logger = logging.getLogger(__name__)

ACCOUNT_REFRESH_SECONDS = 6 * 3600


@actor(queue_name="whatsapp_templates", max_retries=5)
def refresh_waba(waba_pk: str) -> None:
    waba = waba_for_work(waba_pk=waba_pk)
    if waba is None:
        logger.info("Skipping refresh of WABA %s: gone or its account is not active", waba_pk)
        return
    services.waba_refresh(waba=waba)


@periodic(seconds=ACCOUNT_REFRESH_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def refresh_all_wabas() -> None:
    for pk in waba_ids_for_work():
        refresh_waba.send(str(pk))
