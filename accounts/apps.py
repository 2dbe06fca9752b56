from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Meta accounts"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (reacts to Meta's token_invalid signal)
