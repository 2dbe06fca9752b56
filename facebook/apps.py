from django.apps import AppConfig


class FacebookConfig(AppConfig):
    name = "facebook"
    verbose_name = "Facebook Pages"

    def ready(self) -> None:
        # Each module registers itself with botopia_meta.registry on import: discovery steps
        # that accounts runs after a connect, and webhook handlers the webhooks app routes to.
        from facebook import (
            discovery,  # noqa: F401
            handlers,  # noqa: F401
            inbox,  # noqa: F401
        )
