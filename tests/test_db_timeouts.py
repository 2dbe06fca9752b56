"""Database time limits (issue #17, point 3): a request stuck behind a lock ends as our 503
envelope instead of hanging until gunicorn kills the worker. PostgreSQL only."""

import threading

import psycopg
import pytest
from django.db import connection
from django.test import Client

from botopia_meta.db_timeouts import process_kind
from tests.test_settings import PRODUCTION_ENV, run_manage
from tests.webhooks.conftest import deliver
from webhooks.models import WebhookEvent

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL time limits")


class TableLock:
    """ACCESS EXCLUSIVE on a table from another connection (as a migration's ALTER TABLE
    would), released on exit, or after `hold` seconds at the latest so that a build without
    the limits ends (with the wrong answer) instead of hanging."""

    def __init__(self, table: str, hold: float = 30):
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("options", None)  # no limits on the lock holder itself
        self.conn = psycopg.connect(**params, autocommit=False)
        self.table = table
        self.hold = hold
        self.released = threading.Event()

    def __enter__(self):
        self.conn.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
        self.timer = threading.Timer(self.hold, self.release)
        self.timer.start()
        return self

    def release(self):
        if not self.released.is_set():
            self.released.set()
            self.conn.rollback()
            self.conn.close()

    def __exit__(self, *exc):
        self.timer.cancel()
        self.release()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_answers_the_intake_503_envelope_when_a_lock_outlasts_the_limit():
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]}
    with TableLock(WebhookEvent._meta.db_table) as lock:
        response = deliver(Client(), body)
        held_throughout = not lock.released.is_set()
    assert held_throughout, "the lock was released before the request gave up"
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
    # Meta retries: once the lock is gone the same delivery is stored.
    assert deliver(Client(), body).status_code == 200
    assert WebhookEvent.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_answers_the_api_503_envelope_when_a_lock_outlasts_the_limit(alice_client):
    with TableLock("accounts_metaaccount") as lock:
        response = alice_client.get("/api/meta/auth/status")
        held_throughout = not lock.released.is_set()
    assert held_throughout
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


@postgres_only
@pytest.mark.django_db
def test_it_gives_web_requests_the_web_limits(settings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        assert cursor.fetchone() == ("1min", "3s")  # tests/settings.py raises the statement limit


def test_it_builds_the_connection_options_of_each_kind_from_the_environment():
    shown = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options'))"
    )
    database = {"DATABASE_URL": "postgres://nobody@127.0.0.1:5432/nothing"}
    for kind, expected in [
        ("web", "-c statement_timeout=10000 -c lock_timeout=3000"),
        ("worker", "-c statement_timeout=120000 -c lock_timeout=30000"),
        ("other", "None"),
    ]:
        result = run_manage("shell", "-c", shown, env={**PRODUCTION_ENV, **database, "DB_PROCESS_KIND": kind})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected


def test_prepared_statements_are_on_unless_turned_off_for_a_pooler():
    shown = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold', 'unset'))"
    )
    for database, flag, expected in [
        ("postgres://nobody@127.0.0.1:5432/nothing", None, "5"),
        ("postgres://nobody@127.0.0.1:5432/nothing", "false", "None"),
        ("sqlite:////tmp/nothing.sqlite3", None, "unset"),
    ]:
        env = {
            **PRODUCTION_ENV,
            "DATABASE_URL": database,
            **({"DB_PREPARED_STATEMENTS": flag} if flag else {}),
        }
        result = run_manage("shell", "-c", shown, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize(
    ("argv", "environ", "kind"),
    [
        (["/srv/.venv/bin/dramatiq", "django_dramatiq.setup"], {}, "worker"),
        (["manage.py", "rundramatiq"], {}, "worker"),
        (["manage.py", "run_scheduler"], {}, "scheduler"),
        (["/srv/.venv/bin/gunicorn", "botopia_meta.wsgi"], {}, "web"),
        (["manage.py", "migrate"], {}, "other"),
        (["manage.py", "migrate"], {"DB_PROCESS_KIND": "worker"}, "worker"),
    ],
)
def test_it_knows_the_process_kind_at_connection_time(argv, environ, kind):
    assert process_kind(argv, environ) == kind
