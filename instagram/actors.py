"""Instagram background work: actors take ids, load rows, call a service."""

import logging

from botopia_meta.graph import GraphError
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from instagram import graph, services
from instagram.models import Conversation, InstagramAccount

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


@actor(queue_name="instagram")
def ig_deliver_message(message_pk: str) -> None:
    services.message_deliver(message_pk=message_pk)


@actor(queue_name="instagram", max_retries=3)
def ig_fetch_contact_name(conversation_pk: str) -> None:
    """Best effort: a username makes the inbox readable; Meta may refuse."""
    conversation = (
        Conversation.objects.select_related("ig_account__account").filter(pk=conversation_pk).first()
    )
    if conversation is None:
        return
    try:
        services.conversation_fetch_contact_name(conversation=conversation)
    except GraphError as exc:
        if not exc.permanent:
            raise
        logger.info("No profile for conversation %s (code=%s)", conversation_pk, exc.code)
    except graph.PageTokenMissing:
        logger.info("No page token to read the profile for conversation %s", conversation_pk)
