"""Template sync in the background: on demand (admin action) and periodically."""

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.account.actors import run_for_waba
from whatsapp.account.selectors import waba_ids_for_work
from whatsapp.message_templates import services

TEMPLATE_SYNC_SECONDS = 6 * 3600  # webhooks keep statuses current; this catches what they miss


@actor(queue_name="whatsapp_templates", max_retries=5)
def sync_waba_templates(waba_pk: str) -> None:
    run_for_waba(waba_pk, "template sync", lambda waba: services.templates_sync(waba=waba))


@periodic(seconds=TEMPLATE_SYNC_SECONDS)
@actor(queue_name="whatsapp_templates", max_retries=0)
def sync_all_templates() -> None:
    """Fan out one sync per WABA, so one failing account does not stop the others."""
    for pk in waba_ids_for_work():
        sync_waba_templates.send(str(pk))
