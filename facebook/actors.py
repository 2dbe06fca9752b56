"""Facebook background work: actors take ids, load rows, call a service."""

import logging

from botopia_meta.graph import GraphError
from botopia_meta.tasks import actor
from facebook import services
from facebook.models import Conversation, FacebookPage

logger = logging.getLogger(__name__)


@actor(queue_name="facebook", max_retries=3)
def fb_backfill_page_comments(page_pk: str) -> None:
    page = FacebookPage.objects.select_related("account").filter(pk=page_pk).first()
    if page is None or page.status != FacebookPage.Status.CONNECTED:
        return
    stored = services.comment_backfill(page=page)
    logger.info("Backfilled %d comment(s) for page %s", stored, page.pk)


@actor(queue_name="facebook")
def fb_deliver_message(message_pk: str) -> None:
    services.message_deliver(message_pk=message_pk)


@actor(queue_name="facebook", max_retries=3)
def fb_fetch_contact_name(conversation_pk: str) -> None:
    """Best effort: a name makes the inbox readable; Meta may refuse (privacy settings)."""
    conversation = Conversation.objects.select_related("page__account").filter(pk=conversation_pk).first()
    if conversation is None:
        return
    try:
        services.conversation_fetch_contact_name(conversation=conversation)
    except GraphError as exc:
        if not exc.permanent:
            raise
        logger.info("No profile for conversation %s (code=%s)", conversation_pk, exc.code)
