"""Facebook background work: actors take ids, load rows, call a service."""

import logging

from botopia_meta.inbox.actors import messaging_actors
from botopia_meta.tasks import actor
from facebook import services
from facebook.inbox import SPEC
from facebook.models import FacebookPage

logger = logging.getLogger(__name__)


@actor(queue_name=SPEC.queue, max_retries=3)
def fb_backfill_page_comments(page_pk: str) -> None:
    page = FacebookPage.objects.select_related("account").filter(pk=page_pk).first()
    if page is None or page.status != FacebookPage.Status.CONNECTED:
        return
    stored = services.comment_backfill(page=page)
    logger.info("Backfilled %d comment(s) for page %s", stored, page.pk)


# Messenger replies and contact names (names kept: queued messages refer to them).
fb_deliver_message, fb_sweep_messages, fb_fetch_contact_name = messaging_actors(SPEC)
