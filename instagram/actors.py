"""Instagram background work: actors take ids, load rows, call a service."""

from botopia_meta.inbox.actors import backfill_actor, messaging_actors
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from instagram import services
from instagram.inbox import SPEC


@actor(queue_name=SPEC.queue)
def ig_publish_media(publish_pk: str) -> None:
    outcome = services.publish_step(publish_pk=publish_pk)
    if outcome == "poll":
        # Meta is still processing the container: look again later instead of holding a worker.
        ig_publish_media.send_with_options(args=(publish_pk,), delay=services.poll_delay_ms())


@periodic(seconds=60)
@actor(queue_name=SPEC.queue, max_retries=0)
def ig_sweep_publishes() -> None:
    """Re-create lost messages from the table: due scheduled publishes, stalled ones."""
    for publish_pk in services.publish_sweep():
        ig_publish_media.send(publish_pk)


ig_backfill_comments = backfill_actor(
    SPEC, "ig_backfill_comments", lambda ig: services.comment_backfill(ig=ig)
)

# DM replies and contact names (names kept: queued messages refer to them).
ig_deliver_message, ig_sweep_messages, ig_fetch_contact_name = messaging_actors(SPEC)
