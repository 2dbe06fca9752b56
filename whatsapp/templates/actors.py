"""Template sync in the background: on demand (admin action) and periodically."""

import logging

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.account.selectors import waba_for_work, waba_ids_for_work
from whatsapp.templates import services

logger = logging.getLogger(__name__)

TEMPLATE_SYNC_SECONDS = 6 * 3600  # webhooks keep statuses current; this catches what they miss


@actor(queue_name="whatsapp_templates", max_retries=5)
def sync_waba_templates(waba_pk: str) -> None:
    waba = waba_for_work(waba_pk=waba_pk)
    if waba is None:
        logger.info("Skipping template sync of WABA %s: gone or its account is not active", waba_pk)
        return
    services.templates_sync(waba=waba)


@periodic(seconds=TEMPLATE_SYNC_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def sync_all_templates() -> None:
    """Fan out one sync per WABA, so one failing account does not stop the others."""
    for pk in waba_ids_for_work():
        sync_waba_templates.send(str(pk))
