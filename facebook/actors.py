"""Facebook background work: actors take ids, load rows, call a service."""

from botopia_meta.inbox.actors import backfill_actor, messaging_actors
from facebook import services
from facebook.inbox import SPEC

fb_backfill_page_comments = backfill_actor(
    SPEC, "fb_backfill_page_comments", lambda page: services.comment_backfill(page=page)
)

# Messenger replies and contact names (names kept: queued messages refer to them).
fb_deliver_message, fb_sweep_messages, fb_fetch_contact_name = messaging_actors(SPEC)
