from django.apps import AppConfig


class WhatsAppConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"

    def ready(self) -> None:
        # Each module registers itself with botopia_meta.registry on import: discovery steps
        # that accounts runs after a connect, webhook handlers the webhooks app routes to, and
        # WhatsApp's conversations in the unified inbox.
        from whatsapp import (
            discovery,  # noqa: F401
            inbox,  # noqa: F401
        )
        from whatsapp.account import handlers as account_handlers  # noqa: F401
        from whatsapp.message_templates import handlers as templates_handlers  # noqa: F401
        from whatsapp.messages import handlers as messages_handlers  # noqa: F401
