"""Dramatiq actors of the whatsapp app, found here by django_dramatiq's and the scheduler's
autodiscovery of `<app>.actors`: importing each sub-package's actors registers them (actor
names are the function names, so moving a module never renames a queued job)."""

from whatsapp.account.actors import refresh_all_wabas, refresh_waba  # noqa: F401
from whatsapp.media.actors import download_media, prune_media, sweep_media  # noqa: F401
from whatsapp.message_templates.actors import sync_all_templates, sync_waba_templates  # noqa: F401
from whatsapp.messages.actors import broadcast_fanout, send_message, sweep_messages  # noqa: F401
