"""Actors that send WhatsApp messages."""

from django.conf import settings

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.messages import services


def _send_gave_up(message_id: str, *, exc: BaseException) -> None:
    services.message_give_up(message_id=message_id, exc=exc)


@actor(queue_name="whatsapp_messages", on_give_up=_send_gave_up)
def send_message(message_id: str) -> None:
    services.message_deliver(message_id=message_id)


def _sends_gave_up(message_ids: list[str], *, exc: BaseException) -> None:
    services.messages_give_up(message_ids=message_ids, exc=exc)


# A broadcast's jobs (SEND_BATCH messages, seconds each) come after any other work a worker has
# fetched (lower number first, default 0): status webhooks and one-off sends don't wait behind
# a broadcast's backlog.
BULK_PRIORITY = 10


@actor(queue_name="whatsapp_messages", on_give_up=_sends_gave_up, priority=BULK_PRIORITY)
def send_messages(message_ids: list[str]) -> None:
    """Several queued messages (a broadcast's), each sent as send_message would."""
    services.messages_deliver(message_ids=message_ids)


@actor(queue_name="whatsapp_messages")
def broadcast_fanout(broadcast_id: str) -> None:
    services.broadcast_fanout(broadcast_id=broadcast_id)


def sweep_and_requeue() -> services.Swept:
    """Settle sends cut mid-flight; queue again the jobs the broker lost. What it did, for
    tests and the shell (an actor's return value would be dropped)."""
    swept = services.messages_sweep()
    for message_id in swept.messages:
        send_message.send(message_id)
    for broadcast_id in swept.broadcasts:
        broadcast_fanout.send(broadcast_id)
    return swept


@periodic(seconds=settings.MESSAGE_SWEEP_SECONDS)
@actor(queue_name="whatsapp_messages", max_retries=0)
def sweep_messages() -> None:
    sweep_and_requeue()
