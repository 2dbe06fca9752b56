"""Error reporting (Sentry, only when SENTRY_DSN is set) and JSON log lines (LOG_JSON).

Sentry never receives a token: send_default_pii is off (no cookies, no user, no headers
such as Authorization), request bodies are not sent, and `scrub_event` replaces every value
that looks like a secret, in keys we know carry one and in free text (query strings,
exception messages, breadcrumbs)."""

import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

FILTERED = "[Filtered]"
SECRET_KEYS = re.compile(
    r"(token|secret|password|passwd|authorization|cookie|session|csrf|api[_-]?key|appsecret_proof|"
    r"signature|^code$|fernet|dsn)",
    re.IGNORECASE,
)
SECRET_TEXT = re.compile(
    r"((?:access_token|appsecret_proof|client_secret|fb_exchange_token|input_token|refresh_token|"
    r"code|token|key|hub\.verify_token)=)[^&\s\"']+"
    r"|(\b(?:Bearer|Token)\s+)[A-Za-z0-9._\-|]{8,}"
    r"|\b(EAA[A-Za-z0-9]{20,})",
    re.IGNORECASE,
)


def scrub_text(text: str) -> str:
    def replace(match: re.Match) -> str:
        prefix = match.group(1) or match.group(2) or ""
        return f"{prefix}{FILTERED}"

    return SECRET_TEXT.sub(replace, text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return value
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SECRET_KEYS.search(key) else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: "Event", hint: "Hint | None" = None) -> "Event":
    """Sentry's before_send / before_breadcrumb: the whole event, scrubbed."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")
            }
    return _scrub(event)


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,  # frames below a Graph call hold the token
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: _scrub(crumb),
        integrations=[
            DjangoIntegration(),
            DramatiqIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = scrub_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
