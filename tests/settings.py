"""Test settings: the real settings, in development mode, with test secrets and fast retries.

DATABASE_URL and REDIS_URL from the environment still apply, so the same suite runs on
SQLite + local memory or on PostgreSQL + Redis.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("META_APP_SECRET", "test-app-secret,test-old-app-secret")
os.environ.setdefault("META_APP_ID", "111111111111111")
os.environ.setdefault("META_WEBHOOK_VERIFY_TOKEN", "test-verify-token")
os.environ.setdefault("META_GRAPH_URL", "https://graph.facebook.com")
os.environ.setdefault("META_GRAPH_BACKOFF_BASE", "0")
os.environ.setdefault("ACTOR_MIN_BACKOFF_MS", "1")
os.environ.setdefault("ACTOR_MAX_BACKOFF_MS", "5")

from botopia_meta.settings import *  # noqa: F403

# Actors run on the in-memory stub broker with a real worker in tests; the system test
# (tests/system) runs the Redis broker in separate processes.
DRAMATIQ_BROKER = {**DRAMATIQ_BROKER, "BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}}  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not Django's shared-cache in-memory database: that mode ignores the busy
    # timeout, so the worker threads of actor tests would fail with "table is locked".
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"botopia-test-{os.getpid()}.sqlite3")
    }
# Downloaded WhatsApp media goes to a throwaway directory, never the checkout's media/.
import tempfile as _tempfile  # noqa: E402

MEDIA_ROOT = Path(_tempfile.mkdtemp(prefix="botopia-test-media-"))  # noqa: F405
STORAGES["whatsapp_media"]["OPTIONS"] = {"location": str(MEDIA_ROOT / "whatsapp")}  # noqa: F405
# Queued in the request, so a test drains its worker right after the POST
# (tests/webhooks/test_intake_queue.py turns the background thread on).
WEBHOOK_ENQUEUE_IN_BACKGROUND = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
API_RATE_LIMIT_USER = "1000/m"
API_RATE_LIMIT_ANON = "1000/m"
API_RATE_LIMIT_LOGIN = "1000/m"
if REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"botopia-test-{os.getpid()}"  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    # The suite's connections carry the web lock limit, as gunicorn's would; the statement limit
    # is 60 s because creating the test database waits for checkpoints on a shared server. Set
    # here, not through os.environ: the system test's child processes must find their own kind.
    from botopia_meta.db_timeouts import postgres_options

    DATABASES["default"].setdefault("OPTIONS", {})["options"] = postgres_options(  # noqa: F405
        "",
        statement_timeout_ms=60_000,
        lock_timeout_ms=DB_TIMEOUTS_MS["web"][1],  # noqa: F405
    )
