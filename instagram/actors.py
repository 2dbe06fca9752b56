"""Instagram background work: actors take ids, load rows, call a service."""

import logging

from django.conf import settings

from botopia_meta.inbox import messaging
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from instagram import graph, services
from instagram.models import InstagramAccount

logger = logging.getLogger(__name__)


@actor(queue_name="instagram")
def ig_publish_media(publish_pk: str) -> None:
    outcome = services.publish_step(publish_pk=publish_pk)
    if outcome == "poll":
        # Meta is still processing the container: look again later instead of holding a worker.
        ig_publish_media.send_with_options(args=(publish_pk,), delay=services.poll_delay_ms())


@periodic(seconds=60)
@actor(queue_name="instagram", max_retries=0)
def ig_sweep_publishes() -> None:
    """Re-create lost messages from the table: due scheduled publishes, stalled ones."""
    for publish_pk in services.publish_sweep():
        ig_publish_media.send(publish_pk)


@actor(queue_name="instagram", max_retries=3)
def ig_backfill_comments(ig_pk: str) -> None:
    ig = InstagramAccount.objects.select_related("account").filter(pk=ig_pk).first()
    if ig is None or ig.status != InstagramAccount.Status.CONNECTED:
        return
    stored = services.comment_backfill(ig=ig)
    logger.info("Backfilled %d comment(s) for Instagram account %s", stored, ig.pk)


def _deliver_gave_up(message_pk: str, *, exc: BaseException) -> None:
    messaging.message_give_up(services.MESSAGING, message_pk=message_pk, exc=exc)


@actor(queue_name="instagram", on_give_up=_deliver_gave_up)
def ig_deliver_message(message_pk: str) -> None:
    services.message_deliver(message_pk=message_pk)


@periodic(seconds=settings.MESSAGE_SWEEP_SECONDS)
@actor(queue_name="instagram", max_retries=0)
def ig_sweep_messages() -> None:
    """Settle replies whose job was lost; queue again the ones never sent."""
    for message_pk in messaging.messages_sweep(services.MESSAGING):
        ig_deliver_message.send(message_pk)


@actor(queue_name="instagram", max_retries=3)
def ig_fetch_contact_name(conversation_pk: str) -> None:
    messaging.conversation_fetch_contact_name(
        services.MESSAGING,
        conversation_pk=conversation_pk,
        fetch=lambda conversation: services.conversation_fetch_contact_name(conversation=conversation),
        logger=logger,
        quiet=(graph.PageTokenMissing,),
    )
