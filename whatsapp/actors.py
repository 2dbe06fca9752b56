"""Dramatiq actors of the whatsapp app (autodiscovered)."""

from whatsapp.actors_account import refresh_all_wabas, refresh_waba  # noqa: F401
from whatsapp.actors_templates import sync_all_templates, sync_waba_templates  # noqa: F401
from whatsapp.message_actors import broadcast_fanout, send_message  # noqa: F401
