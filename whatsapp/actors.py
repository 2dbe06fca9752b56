"""Dramatiq actors of the whatsapp app (autodiscovered)."""

from whatsapp.actors_templates import sync_all_templates, sync_waba_templates  # noqa: F401
