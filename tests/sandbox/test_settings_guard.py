"""The sandbox can never be on in production: settings refuse to start with it and DEBUG off,
`auto` only turns it on in development without a Meta app secret, and its URLs 404 when off."""

import subprocess

from tests.test_settings import PRODUCTION_ENV
from tests.test_settings import run_manage as run

SHOW = "from django.conf import settings as s; print(s.META_SANDBOX, s.META_APP_ID, s.META_GRAPH_URL)"


def shown(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.strip().splitlines()[-1].split()  # `shell` may print a banner first


def test_it_refuses_to_start_with_the_sandbox_on_and_debug_off():
    result = run("check", env={**PRODUCTION_ENV, "META_SANDBOX": "true"})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "META_SANDBOX is on but DEBUG is off" in result.stderr


def test_auto_never_turns_it_on_with_debug_off():
    result = run("shell", "-c", SHOW, env={**PRODUCTION_ENV, "META_SANDBOX": "auto"})

    assert result.returncode == 0, result.stderr
    assert shown(result) == ["False", PRODUCTION_ENV["META_APP_ID"], "https://graph.facebook.com"]


def test_auto_without_an_app_secret_in_debug_points_meta_at_the_sandbox():
    env = {"DEBUG": "true", "META_SANDBOX": "auto", "PUBLIC_BASE_URL": "http://127.0.0.1:8031"}
    result = run("shell", "-c", SHOW, env=env)

    assert result.returncode == 0, result.stderr
    assert shown(result) == ["True", "100000000000001", "http://127.0.0.1:8031/sandbox/graph"]


def test_auto_with_an_app_secret_keeps_the_real_meta():
    env = {"DEBUG": "true", "META_SANDBOX": "auto", "META_APP_SECRET": "a-real-one", "META_APP_ID": "42"}
    result = run("shell", "-c", SHOW, env=env)

    assert result.returncode == 0, result.stderr
    assert shown(result) == ["False", "42", "https://graph.facebook.com"]


def test_the_sandbox_urls_answer_404_when_it_is_off(client, settings):
    settings.META_SANDBOX, settings.DEBUG = False, True
    response = client.get("/sandbox/graph/v26.0/me")

    assert response.status_code == 404
    assert "X-Botopia-Sandbox" not in response
    assert b"error_subcode" not in response.content  # not the sandbox answering


def test_the_sandbox_stays_off_with_debug_off_even_if_the_setting_says_on(client, settings):
    """Belt and braces: a settings module that skipped the start-up check still gets nothing."""
    settings.META_SANDBOX, settings.DEBUG = True, False
    response = client.get("/sandbox/graph/v26.0/me")

    assert response.status_code == 404
    assert "X-Botopia-Sandbox" not in response
