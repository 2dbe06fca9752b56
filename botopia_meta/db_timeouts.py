"""PostgreSQL time limits per process kind, set when the connection opens.

Without them a statement waiting on a lock waits for ever: a webhook delivery once hung 61 s
behind a table lock until gunicorn killed the worker and answered an HTML 500. With them the
statement fails (`lock_timeout`, `statement_timeout`), Django raises OperationalError, and the
intake answers its 503 envelope (Meta retries) and the API its 503 SERVICE_UNAVAILABLE.

Web requests get short limits (someone is waiting: Meta for a few seconds, the dashboard);
workers and the scheduler longer ones (a broadcast batch, a prune). Other commands (migrate,
shell, rotate_encryption_keys) get none: an operator is watching them."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

KINDS = ("web", "worker", "scheduler", "other")


def process_kind(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """DB_PROCESS_KIND when set (botopia_meta/wsgi.py and asgi.py set "web"), else guessed from
    the command line: Dramatiq's worker processes (which `manage.py rundramatiq` execs) and the
    scheduler are recognised by name."""
    kind = environ.get("DB_PROCESS_KIND", "").strip().lower()
    if kind:
        if kind not in KINDS:
            raise ImproperlyConfigured(f"DB_PROCESS_KIND must be one of {', '.join(KINDS)}, not {kind!r}.")
        return kind
    program = Path(argv[0]).name if argv else ""
    command = argv[1] if len(argv) > 1 else ""
    if program.startswith("dramatiq") or command == "rundramatiq":
        return "worker"
    if command == "run_scheduler":
        return "scheduler"
    if program.startswith("gunicorn") or command in ("runserver", "devserver"):
        return "web"
    return "other"


def postgres_options(existing: str, *, statement_timeout_ms: int, lock_timeout_ms: int) -> str:
    """libpq's `options`, applied by the server at connection time (no extra round trip)."""
    limits = f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}"
    return f"{existing} {limits}".strip()
