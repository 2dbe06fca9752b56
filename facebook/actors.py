"""Facebook background work: actors take ids, load rows, call a service."""

import logging

from django.conf import settings

from botopia_meta.inbox import messaging
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from facebook import services
from facebook.models import FacebookPage

logger = logging.getLogger(__name__)


@actor(queue_name="facebook", max_retries=3)
def fb_backfill_page_comments(page_pk: str) -> None:
    page = FacebookPage.objects.select_related("account").filter(pk=page_pk).first()
    if page is None or page.status != FacebookPage.Status.CONNECTED:
        return
    stored = services.comment_backfill(page=page)
    logger.info("Backfilled %d comment(s) for page %s", stored, page.pk)


def _deliver_gave_up(message_pk: str, *, exc: BaseException) -> None:
    messaging.message_give_up(services.MESSAGING, message_pk=message_pk, exc=exc)


@actor(queue_name="facebook", on_give_up=_deliver_gave_up)
def fb_deliver_message(message_pk: str) -> None:
    services.message_deliver(message_pk=message_pk)


@periodic(seconds=settings.MESSAGE_SWEEP_SECONDS)
@actor(queue_name="facebook", max_retries=0)
def fb_sweep_messages() -> None:
    """Settle replies whose job was lost; queue again the ones never sent."""
    for message_pk in messaging.messages_sweep(services.MESSAGING):
        fb_deliver_message.send(message_pk)


@actor(queue_name="facebook", max_retries=3)
def fb_fetch_contact_name(conversation_pk: str) -> None:
    messaging.conversation_fetch_contact_name(
        services.MESSAGING,
        conversation_pk=conversation_pk,
        fetch=lambda conversation: services.conversation_fetch_contact_name(conversation=conversation),
        logger=logger,
    )
