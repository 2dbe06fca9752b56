"""Strict reading of the environment for settings.py: a malformed or known-unsafe value stops
start-up with a message naming the variable, instead of starting fine and failing later.

django-environ's own `env.bool` turns any unknown word into False (`DEBUG=ture`,
`SECURE_SSL_REDIRECT=maybe`) and `env.list` keeps the spaces around items (`"new, old"` gives
" old", a secret that never verifies). Both are replaced here."""

from collections.abc import Mapping

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})

# Values this repository ships (development defaults, tests, .env.example placeholders) or that
# are commonly left in place. Anyone can read them, so none may protect a production deploy.
PUBLIC_VALUES: dict[str, frozenset[str]] = {
    "SECRET_KEY": frozenset(
        {"dev-insecure-3d9f1c7a5b2e8f4d6a0c9b7e5f3a1d8c6b4e2f0a9d7c5b3", "change-me", "changeme", "secret"}
    ),
    "FIELD_ENCRYPTION_KEYS": frozenset(
        {"rD1ZJ2vB7x0d9YbqzV5mX3o0m2cS3E4iQ6xH8lK1nWg=", "new-key", "old-key"}
    ),
    "META_APP_SECRET": frozenset(
        {
            "dev-app-secret",
            "sandbox-app-secret",
            "test-app-secret",
            "test-old-app-secret",
            "new-app-secret",
            "old-app-secret",
            "change-me",
            "changeme",
        }
    ),
    "META_WEBHOOK_VERIFY_TOKEN": frozenset(
        {"dev-verify-token", "test-verify-token", "change-me", "changeme"}
    ),
}


def parse_bool(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of true/false, 1/0, yes/no, on/off; {raw!r} is none of them."
    )


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in environ:
        return default
    return parse_bool(name, environ[name])


def parse_list(raw: str) -> list[str]:
    """Comma list with each item trimmed and empty items dropped."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_list(environ: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    if name not in environ:
        return list(default)
    return parse_list(environ[name])


def check_fernet_keys(keys: list[str]) -> None:
    """Every key must be a Fernet key now, not at the first decrypt (a 500 in production)."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS item {position} is not a Fernet key (32 url-safe base64 "
                "bytes). Make one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None


def check_production_secrets(values: Mapping[str, str | list[str]]) -> None:
    """With DEBUG off: no public value, and a SECRET_KEY as strong as `check --deploy` asks
    (50+ characters, 5+ distinct ones; that check only warns, and only when someone runs it)."""
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item in PUBLIC_VALUES.get(name, ()) or item.lower() in PUBLIC_VALUES.get(name, ()):
                raise ImproperlyConfigured(
                    f"{name} is a publicly known value (a development default or an example from "
                    "this repository) and DEBUG is off. Generate a secret one."
                )
    secret_key = values.get("SECRET_KEY")
    if isinstance(secret_key, str) and (
        len(secret_key) < 50 or len(set(secret_key)) < 5 or secret_key.startswith("django-insecure-")
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for DEBUG off: use 50 or more random characters. Make one with: "
            "python -c 'from django.core.management.utils import get_random_secret_key; "
            "print(get_random_secret_key())'"
        )
