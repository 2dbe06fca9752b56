"""The Meta sandbox: a fake Graph API for development and demos (see README, "Try it in 2
minutes"). Settings refuse META_SANDBOX with DEBUG off; `enabled()` checks both again, so no
settings module that skips that check can switch it on in production."""


def enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "META_SANDBOX", False) and settings.DEBUG)
