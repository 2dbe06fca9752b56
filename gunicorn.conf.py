"""gunicorn's settings, read from the working directory (`gunicorn botopia_meta.wsgi`, started in
the project folder, loads this file; command-line flags override it).

The worker timeout stays above the database limits of web requests (DB_STATEMENT_TIMEOUT_WEB_MS,
DB_LOCK_TIMEOUT_WEB_MS, see botopia_meta/db_timeouts.py): a request stuck on the database must
end as our 503 envelope, never as gunicorn killing the worker and its HTML 500."""

import os

from django.core.exceptions import ImproperlyConfigured

raw_env = ["DB_PROCESS_KIND=web"]
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30

_statement_s = int(os.environ.get("DB_STATEMENT_TIMEOUT_WEB_MS", "10000")) / 1000
_lock_s = int(os.environ.get("DB_LOCK_TIMEOUT_WEB_MS", "3000")) / 1000
if not _statement_s or timeout <= max(_statement_s, _lock_s) + 5:
    raise ImproperlyConfigured(
        f"GUNICORN_TIMEOUT ({timeout} s) must exceed the web database limits by more than 5 s "
        f"(statement {_statement_s:g} s, lock {_lock_s:g} s), and DB_STATEMENT_TIMEOUT_WEB_MS must not be 0."
    )
