"""Dangerous configuration stops start-up with DEBUG off, naming the variable (issue #17, point 5)."""

import pytest

from tests.test_settings import PRODUCTION_ENV, run_manage


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-insecure-3d9f1c7a5b2e8f4d6a0c9b7e5f3a1d8c6b4e2f0a9d7c5b3"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-but-not-public"}, "SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEYS": "rD1ZJ2vB7x0d9YbqzV5mX3o0m2cS3E4iQ6xH8lK1nWg="}, "FIELD_ENCRYPTION_KEYS"),
        ({"FIELD_ENCRYPTION_KEYS": "notakey"}, "FIELD_ENCRYPTION_KEYS"),
        ({"META_APP_SECRET": "dev-app-secret"}, "META_APP_SECRET"),
        ({"META_APP_SECRET": "prod-app-secret, sandbox-app-secret"}, "META_APP_SECRET"),
        ({"META_WEBHOOK_VERIFY_TOKEN": "dev-verify-token"}, "META_WEBHOOK_VERIFY_TOKEN"),
        ({"DEBUG": "ture"}, "DEBUG"),
        ({"SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT"),
        ({"SESSION_COOKIE_SECURE": "yes please"}, "SESSION_COOKIE_SECURE"),
    ],
)
def test_it_refuses_to_start_with_dangerous_configuration(override, named):
    result = run_manage("check", env={**PRODUCTION_ENV, **override})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1], result.stderr


def test_it_refuses_a_key_that_is_not_fernet_even_in_debug():
    result = run_manage("check", env={"DEBUG": "true", "FIELD_ENCRYPTION_KEYS": "notakey"})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def _setting(name: str, env: dict[str, str]) -> str:
    result = run_manage(
        "shell", "-c", f"from django.conf import settings; print(repr(settings.{name}))", env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_it_trims_list_items_so_the_old_app_secret_still_verifies():
    env = {**PRODUCTION_ENV, "META_APP_SECRET": "new-prod-secret, old-prod-secret ,"}
    assert _setting("META_APP_SECRETS", env) == "['new-prod-secret', 'old-prod-secret']"


@pytest.mark.parametrize(("raw", "expected"), [("Off", "False"), (" 0 ", "False"), ("YES", "True")])
def test_it_reads_every_boolean_spelling_strictly(raw, expected):
    assert _setting("SECURE_SSL_REDIRECT", {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": raw}) == expected
