"""Keep WABAs and numbers current: quality rating changes without a webhook of its own."""

import logging

from accounts.models import MetaAccount
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp import account_services
from whatsapp.models import WhatsAppBusinessAccount

logger = logging.getLogger(__name__)

ACCOUNT_REFRESH_SECONDS = 6 * 3600


@actor(queue_name="whatsapp_templates", max_retries=5)
def refresh_waba(waba_pk: str) -> None:
    waba = (
        WhatsAppBusinessAccount.objects.filter(pk=waba_pk, account__status=MetaAccount.Status.ACTIVE)
        .select_related("account")
        .first()
    )
    if waba is None:
        logger.info("Skipping refresh of WABA %s: gone or its account is not active", waba_pk)
        return
    account_services.waba_refresh(waba=waba)


@periodic(seconds=ACCOUNT_REFRESH_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def refresh_all_wabas() -> None:
    wabas = WhatsAppBusinessAccount.objects.filter(
        account__status=MetaAccount.Status.ACTIVE, account__deleted_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in wabas.iterator():
        refresh_waba.send(str(pk))
