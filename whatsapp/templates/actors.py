"""Template sync in the background: on demand (admin action) and periodically."""

import logging

from accounts.models import MetaAccount
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp import template_services
from whatsapp.models import WhatsAppBusinessAccount

logger = logging.getLogger(__name__)

TEMPLATE_SYNC_SECONDS = 6 * 3600  # webhooks keep statuses current; this catches what they miss


@actor(queue_name="whatsapp_templates", max_retries=5)
def sync_waba_templates(waba_pk: str) -> None:
    waba = (
        WhatsAppBusinessAccount.objects.filter(pk=waba_pk, account__status=MetaAccount.Status.ACTIVE)
        .select_related("account")
        .first()
    )
    if waba is None:
        logger.info("Skipping template sync of WABA %s: gone or its account is not active", waba_pk)
        return
    template_services.templates_sync(waba=waba)


@periodic(seconds=TEMPLATE_SYNC_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def sync_all_templates() -> None:
    """Fan out one sync per WABA, so one failing account does not stop the others."""
    wabas = WhatsAppBusinessAccount.objects.filter(
        account__status=MetaAccount.Status.ACTIVE, account__deleted_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in wabas.iterator():
        sync_waba_templates.send(str(pk))
