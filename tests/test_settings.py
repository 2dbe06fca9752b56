"""Production settings: secrets have no defaults, and `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Pq2vL9sK4mN8rT1wY6zB3cF5hJ0dG2aE9uI4oP7lQ1kM6nV8bX3",
    "ALLOWED_HOSTS": "api.botopia.example",
    "FIELD_ENCRYPTION_KEYS": "pHPAjpWqh8v2ZLI2F-RtCUBoCyO-p6BYW1m-QIkUYJs=",
    "META_APP_ID": "123456789012345",
    "META_APP_SECRET": "prod-app-secret",
    "META_WEBHOOK_VERIFY_TOKEN": "prod-verify",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """manage.py in a subprocess with `env`; the test run's own settings variables (tests/settings.py
    sets some META_* ones) must not leak in."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("META_", "DJANGO_", "SANDBOX_", "DB_"))
        and k not in (*PRODUCTION_ENV, "PUBLIC_BASE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "botopia_meta.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
        ({"CSRF_COOKIE_SECURE": "false"}, "security.W016"),
    ],
)
def test_check_deploy_sees_each_protection_turned_off(override, warning):
    """The defaults are what makes the check clean: each one, turned off, is reported."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **override})
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


def test_it_refuses_to_start_without_each_production_secret():
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "META_APP_SECRET", "ALLOWED_HOSTS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
        result = run_manage("check", env=env)
        assert result.returncode != 0
        assert f"{name} is not set" in result.stderr, result.stderr


def test_it_starts_with_embedded_defaults_in_debug():
    result = run_manage("check", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
