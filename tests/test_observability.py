"""Logs and error reports never carry a token: the dev server's access log, JSON log lines and
the events sent to Sentry are scrubbed."""

import json
import logging

from botopia_meta.management.commands.devserver import QueryStringRedactor
from botopia_meta.observability import JsonFormatter, scrub_event

TOKEN = "EAAGsandboxUserToken0123456789abcdef"


def _record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, msg, args, None)


def test_it_masks_tokens_in_the_dev_servers_access_log():
    record = _record(
        '"%s" %s %s', f"GET /sandbox/graph/v26.0/me?fields=id&access_token={TOKEN} HTTP/1.1", 200, 12
    )
    QueryStringRedactor().filter(record)
    line = record.getMessage()
    assert TOKEN not in line
    assert "fields=id" in line and "access_token=[Filtered]" in line


def test_it_writes_json_log_lines_without_tokens():
    line = JsonFormatter().format(_record("calling %s", f"https://graph.example/me?access_token={TOKEN}"))
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "django.server"
    assert TOKEN not in line


def test_it_scrubs_tokens_from_sentry_events():
    event = {
        "request": {
            "url": "https://api.example/api/meta/x",
            "query_string": f"access_token={TOKEN}",
            "headers": {"Authorization": f"Token {TOKEN}", "User-Agent": "x"},
            "cookies": {"sessionid": "abc"},
            "data": {"password": "hunter2"},
        },
        "exception": {"values": [{"value": f"Graph said no for Bearer {TOKEN}"}]},
        "extra": {"access_token": TOKEN, "refresh_token": "r", "note": f"token={TOKEN}"},
        "breadcrumbs": {"values": [{"message": f"GET /v26.0/me?appsecret_proof=abc&access_token={TOKEN}"}]},
    }
    scrubbed = json.dumps(scrub_event(event))
    assert TOKEN not in scrubbed
    assert "hunter2" not in scrubbed and "sessionid" not in scrubbed
    assert '"User-Agent": "x"' in scrubbed


def test_sentry_stays_off_without_a_dsn(settings):
    import sentry_sdk

    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


def test_sentry_is_set_up_without_pii_and_with_the_scrubber(monkeypatch):
    import sentry_sdk

    from botopia_meta import observability

    seen = {}
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: seen.update(options))
    observability.init_sentry(dsn="https://key@sentry.example/1", environment="test")
    assert seen["dsn"] == "https://key@sentry.example/1"
    assert seen["send_default_pii"] is False
    assert seen["include_local_variables"] is False
    assert seen["max_request_body_size"] == "never"
    assert seen["before_send"] is scrub_event
