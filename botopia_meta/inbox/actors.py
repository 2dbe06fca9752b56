"""The DM actors every inbox platform has, built from its spec. Each platform keeps its own
actors (names and queues unchanged: queued messages in Redis refer to them by name), made here
so their bodies are written once."""

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import dramatiq
from django.conf import settings

from botopia_meta.inbox import messaging
from botopia_meta.inbox.spec import InboxSpec
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor

logger = logging.getLogger(__name__)


class MessagingActors(NamedTuple):
    deliver_message: dramatiq.Actor
    sweep_messages: dramatiq.Actor
    fetch_contact_name: dramatiq.Actor


def messaging_actors(spec: InboxSpec) -> MessagingActors:
    """`<prefix>_deliver_message`, `<prefix>_sweep_messages` (periodic) and
    `<prefix>_fetch_contact_name` on the platform's queue."""
    prefix, queue = spec.key_prefix, spec.queue

    def deliver_gave_up(message_pk: str, *, exc: BaseException) -> None:
        messaging.message_give_up(spec, message_pk=message_pk, exc=exc)

    def deliver_message(message_pk: str) -> None:
        messaging.message_deliver(spec, message_pk=message_pk)

    deliver = actor(
        deliver_message, queue_name=queue, on_give_up=deliver_gave_up, actor_name=f"{prefix}_deliver_message"
    )

    def sweep_messages() -> None:
        """Settle replies whose job was lost; queue again the ones never sent."""
        for message_pk in messaging.messages_sweep(spec):
            deliver.send(message_pk)

    sweep = periodic(seconds=settings.MESSAGE_SWEEP_SECONDS)(
        actor(sweep_messages, queue_name=queue, max_retries=0, actor_name=f"{prefix}_sweep_messages")
    )

    def fetch_contact_name(conversation_pk: str) -> None:
        messaging.conversation_fetch_contact_name(spec, conversation_pk=conversation_pk)

    fetch = actor(
        fetch_contact_name, queue_name=queue, max_retries=3, actor_name=f"{prefix}_fetch_contact_name"
    )
    return MessagingActors(deliver, sweep, fetch)


def backfill_actor(spec: InboxSpec, actor_name: str, backfill: Callable[[Any], int]) -> dramatiq.Actor:
    """`actor_name(asset_pk)`: `backfill(asset)` stores the asset's recent comments once it is
    connected; nothing when it was disconnected (or removed) meanwhile."""

    def backfill_comments(asset_pk: str) -> None:
        Asset: Any = spec.asset_model
        asset = Asset.objects.select_related("account").filter(pk=asset_pk).first()
        if asset is None or asset.status != Asset.Status.CONNECTED:
            return
        stored = backfill(asset)
        logger.info("Backfilled %d comment(s) for %s %s", stored, spec.asset_label, asset.pk)

    return actor(backfill_comments, queue_name=spec.queue, max_retries=3, actor_name=actor_name)
