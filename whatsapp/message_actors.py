"""Actors that send WhatsApp messages."""

from botopia_meta.tasks import actor
from whatsapp import message_services


@actor(queue_name="whatsapp_messages")
def send_message(message_id: str) -> None:
    message_services.message_deliver(message_id=message_id)


@actor(queue_name="whatsapp_messages")
def broadcast_fanout(broadcast_id: str) -> None:
    message_services.broadcast_fanout(broadcast_id=broadcast_id)
