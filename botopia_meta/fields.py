"""Secret columns encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

`FIELD_ENCRYPTION_KEYS` is a list: the first key encrypts, every key decrypts, so keys rotate
without downtime (add a new key first, run `rotate_encryption_keys`, then drop the old one).
The keys are separate from SECRET_KEY on purpose: rotating Django's secret must not orphan
every stored token.
"""

import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

logger = logging.getLogger(__name__)


class Undecryptable(str):
    """What an encrypted column reads as when no key in FIELD_ENCRYPTION_KEYS decrypts it (a
    key dropped before rotating): empty, so the row still loads and pages answer, while the
    owner is told to reconnect (accounts.tokens). Saving the row writes the stored token back
    unchanged: restoring the key brings it back."""

    ciphertext: str

    def __new__(cls, ciphertext: str) -> "Undecryptable":
        value = super().__new__(cls, "")
        value.ciphertext = ciphertext
        return value


def is_undecryptable(value: object) -> bool:
    return isinstance(value, Undecryptable)


@cache
def _fernets() -> tuple[MultiFernet, Fernet]:
    keys = settings.FIELD_ENCRYPTION_KEYS
    try:
        fernets = [Fernet(key) for key in keys]
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be a comma list of Fernet keys (32 url-safe base64 bytes). "
            "Make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc
    return MultiFernet(fernets), fernets[0]


def _reset(*, setting: str, **kwargs) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernets.cache_clear()


setting_changed.connect(_reset)


def encrypt(value: str) -> str:
    return _fernets()[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernets()[0].decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An encrypted column could not be decrypted with any key in FIELD_ENCRYPTION_KEYS. "
            "Restore the key it was written with to the list."
        ) from None


def is_current(token: str) -> bool:
    """True when the first (current) key decrypts the token: nothing to rotate."""
    try:
        _fernets()[1].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token. Cannot be filtered on: look rows up by
    another column. Empty string and NULL are stored as they are."""

    description = "Text encrypted at rest"

    def get_prep_value(self, value):
        if isinstance(value, Undecryptable):
            return value.ciphertext
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return _fernets()[0].decrypt(value.encode()).decode()
        except InvalidToken:
            column = getattr(expression, "target", None)  # a Col's field
            label = None
            if isinstance(column, models.Field) and hasattr(column, "model"):
                label = f"{column.model._meta.label}.{column.name}"
            logger.error(
                "The encrypted column %s holds a value no key in FIELD_ENCRYPTION_KEYS decrypts: "
                "restore the key it was written with, or have its owner reconnect.",
                label,
            )
            return Undecryptable(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("isnull", "exact"):
            return None
        return super().get_lookup(lookup_name)


def mask_secret(value: str | None) -> str | None:
    """A preview safe to show: the first 4 and last 3 characters of a long secret."""
    if not value:
        return None
    if len(value) < 16:
        return "…"
    return f"{value[:4]}…{value[-3:]}"
