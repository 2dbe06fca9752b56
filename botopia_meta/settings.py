"""Settings, read from the environment (and an optional `.env` file) with django-environ.

Embedded mode (`DEBUG` on, nothing else set): SQLite, local-memory cache, Dramatiq's stub
broker and an in-process worker. Production (`DEBUG` off): the secrets below have no default
and start-up stops with a message naming the missing variable.
"""

import sys
from pathlib import Path
from typing import Any

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from botopia_meta.db_timeouts import postgres_options, process_kind
from botopia_meta.env_checks import (
    check_fernet_keys,
    check_production_secrets,
    env_bool,
    env_list,
    parse_list,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# Booleans are strict (true/false, 1/0, yes/no, on/off) and lists trimmed: see env_checks.
DEBUG = env_bool(env.ENVIRON, "DEBUG", default=False)


def _required(name: str, dev_default, cast=str):
    """A production secret: embedded default only with DEBUG, otherwise it must be set."""
    if name in env.ENVIRON:
        value = parse_list(env.ENVIRON[name]) if cast is list else env.get_value(name, cast=cast)
        if value in ("", [], None):
            raise ImproperlyConfigured(f"{name} is set but empty. Give it a value (see .env.example).")
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set and DEBUG is off. Set {name} in the environment or in .env "
        f"(see .env.example), or set DEBUG=true for local development."
    )


SECRET_KEY = _required("SECRET_KEY", "dev-insecure-3d9f1c7a5b2e8f4d6a0c9b7e5f3a1d8c6b4e2f0a9d7c5b3")
ALLOWED_HOSTS = _required("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"], cast=list)
# Fernet keys, comma separated: the first encrypts, every one decrypts (rotation).
FIELD_ENCRYPTION_KEYS = _required(
    "FIELD_ENCRYPTION_KEYS", ["rD1ZJ2vB7x0d9YbqzV5mX3o0m2cS3E4iQ6xH8lK1nWg="], cast=list
)
check_fernet_keys(FIELD_ENCRYPTION_KEYS)
# The public base URL Meta calls back (webhook subscriptions name it).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The dashboard's address: links we send people (an invitation's accept URL) point there.
FRONTEND_URL = env.str("FRONTEND_URL", default=PUBLIC_BASE_URL).rstrip("/")
# Outgoing email (invitations). Email is "configured" when EMAIL_HOST or EMAIL_BACKEND is set;
# otherwise the dummy backend drops every message and invitations are shared by their URL only.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.dummy.EmailBackend",
)
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool(env.ENVIRON, "EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds; an invitation waits for it
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Botopia <no-reply@botopia.local>")

# Meta sandbox (the sandbox/ app): a fake Graph API served by this process under
# /sandbox/graph/, for demos and frontend work without a Meta app. "auto" (what `make run`
# sets) turns it on when DEBUG is on and no META_APP_SECRET is configured. Development only:
# with DEBUG off, asking for it stops start-up.
_sandbox = env.str("META_SANDBOX", default="false").strip().lower()
if _sandbox == "auto":
    META_SANDBOX = DEBUG and "META_APP_SECRET" not in env.ENVIRON
elif _sandbox in ("true", "1", "yes", "on"):
    META_SANDBOX = True
elif _sandbox in ("false", "0", "no", "off", ""):
    META_SANDBOX = False
else:
    raise ImproperlyConfigured(f"META_SANDBOX must be true, false or auto, not {_sandbox!r}.")
if META_SANDBOX and not DEBUG:
    raise ImproperlyConfigured(
        "META_SANDBOX is on but DEBUG is off. The Meta sandbox fakes Meta and is for development "
        "only: unset META_SANDBOX in production."
    )
# The sandbox's own Meta app: it accepts these credentials (and whatever app is configured).
SANDBOX_APP_ID = "100000000000001"
SANDBOX_APP_SECRET = "sandbox-app-secret"
# Sandbox timing: status webhooks follow a send by this much each (sent, delivered, read), and
# a new template's review takes this long.
SANDBOX_STATUS_DELAY_MS = env.int("SANDBOX_STATUS_DELAY_MS", default=1_500)
SANDBOX_REVIEW_DELAY_MS = env.int("SANDBOX_REVIEW_DELAY_MS", default=3_000)

# Several secrets may be listed during a rotation of the Meta app secret: the first signs our
# calls (appsecret_proof), any one verifies a webhook signature.
META_APP_SECRETS = _required(
    "META_APP_SECRET", [SANDBOX_APP_SECRET if META_SANDBOX else "dev-app-secret"], cast=list
)
META_APP_SECRET = META_APP_SECRETS[0]
_dev_app_id = SANDBOX_APP_ID if META_SANDBOX else "000000000000000"
META_APP_ID = env.str("META_APP_ID", default=_dev_app_id if DEBUG else "")
if not DEBUG and not META_APP_ID:
    raise ImproperlyConfigured("META_APP_ID is not set and DEBUG is off. Set it (see .env.example).")
META_WEBHOOK_VERIFY_TOKEN = env.str("META_WEBHOOK_VERIFY_TOKEN", default="dev-verify-token" if DEBUG else "")
_graph_default = f"{PUBLIC_BASE_URL}/sandbox/graph" if META_SANDBOX else "https://graph.facebook.com"
META_GRAPH_URL = env.str("META_GRAPH_URL", default=_graph_default).rstrip("/")
META_GRAPH_VERSION = env.str("META_GRAPH_VERSION", default="v26.0")
META_GRAPH_CONNECT_TIMEOUT = env.float("META_GRAPH_CONNECT_TIMEOUT", default=3.05)
META_GRAPH_READ_TIMEOUT = env.float("META_GRAPH_READ_TIMEOUT", default=20.0)
META_GRAPH_MAX_RETRIES = env.int("META_GRAPH_MAX_RETRIES", default=3)
META_GRAPH_BACKOFF_BASE = env.float("META_GRAPH_BACKOFF_BASE", default=0.5)  # seconds
META_GRAPH_BACKOFF_MAX = env.float("META_GRAPH_BACKOFF_MAX", default=8.0)
# Back off once Meta reports this much of a usage budget spent (percent).
META_GRAPH_USAGE_THRESHOLD = env.int("META_GRAPH_USAGE_THRESHOLD", default=90)
META_GRAPH_CIRCUIT_FAILURES = env.int("META_GRAPH_CIRCUIT_FAILURES", default=5)
META_GRAPH_CIRCUIT_SECONDS = env.int("META_GRAPH_CIRCUIT_SECONDS", default=30)
CORS_ALLOWED_ORIGINS = env_list(
    env.ENVIRON, "CORS_ALLOWED_ORIGINS", ["http://localhost:3000"] if DEBUG else []
)
# The dashboard names the organization it acts on in a header of its own (orgs.context).
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-organization-id")
CSRF_TRUSTED_ORIGINS = env_list(env.ENVIRON, "CSRF_TRUSTED_ORIGINS", [])
if not DEBUG:
    # Known values (development defaults, examples) and a weak SECRET_KEY stop start-up.
    check_production_secrets(
        {
            "SECRET_KEY": SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEYS,
            "META_APP_SECRET": META_APP_SECRETS,
            "META_WEBHOOK_VERIFY_TOKEN": META_WEBHOOK_VERIFY_TOKEN,
        }
    )

INSTALLED_APPS = [
    "sandbox",  # first: its admin/base_site.html adds the sandbox banner to every admin page
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_dramatiq",
    "botopia_meta",
    "orgs",
    "accounts",
    "whatsapp",
    "facebook",
    "instagram",
    "webhooks",
    "analytics",
]

MIDDLEWARE = [
    "sandbox.middleware.SandboxMarkerMiddleware",
    "botopia_meta.health.HealthMiddleware",  # before any host check: probes come by IP
    "django.middleware.security.SecurityMiddleware",
    "webhooks.middleware.DeliveryMiddleware",  # Meta's POSTs skip the rest
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "botopia_meta.api.middleware.ApiMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "botopia_meta.urls"
WSGI_APPLICATION = "botopia_meta.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sandbox.context_processors.sandbox",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads (web + in-process worker) share the file: readers don't block the
    # writer (WAL), writers take the lock up front and wait for it rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Statements bound server-side (only the webhook intake's INSERT: Django binds the rest
    # client-side, never prepared) are prepared after psycopg's 5 runs on a connection: a fifth
    # of the intake's PostgreSQL CPU. Off (DB_PREPARED_STATEMENTS=false) behind a pooler in
    # transaction mode that cannot keep them (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepare_threshold", 5 if env.bool("DB_PREPARED_STATEMENTS", default=True) else None
    )
# PostgreSQL time limits per process kind (botopia_meta/db_timeouts.py): web shorter than
# workers, so a request stuck behind a lock fails with a 503 envelope well before gunicorn's
# timeout (gunicorn.conf.py) kills the worker. 0 turns a limit off.
DB_PROCESS_KIND = process_kind(sys.argv, env.ENVIRON)
DB_TIMEOUTS_MS = {
    "web": (
        env.int("DB_STATEMENT_TIMEOUT_WEB_MS", default=10_000),
        env.int("DB_LOCK_TIMEOUT_WEB_MS", default=3_000),
    ),
    "worker": (
        env.int("DB_STATEMENT_TIMEOUT_WORKER_MS", default=120_000),
        env.int("DB_LOCK_TIMEOUT_WORKER_MS", default=30_000),
    ),
}
DB_TIMEOUTS_MS["scheduler"] = DB_TIMEOUTS_MS["worker"]
if DATABASES["default"]["ENGINE"].endswith("postgresql") and DB_PROCESS_KIND in DB_TIMEOUTS_MS:
    _statement_ms, _lock_ms = DB_TIMEOUTS_MS[DB_PROCESS_KIND]
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = postgres_options(
        _db_options.get("options", ""), statement_timeout_ms=_statement_ms, lock_timeout_ms=_lock_ms
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="botopia"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "botopia"}}

# Redis broker: a worker silent for DRAMATIQ_HEARTBEAT_TIMEOUT_MS is presumed dead and its
# unacknowledged messages are re-queued by the next maintenance pass (run on about
# DRAMATIQ_MAINTENANCE_CHANCE broker commands per million); dead-lettered messages are kept
# DRAMATIQ_DEAD_MESSAGE_TTL_MS. Dramatiq's defaults: 60 s, 1000, 7 days.
DRAMATIQ_HEARTBEAT_TIMEOUT_MS = env.int("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", default=60_000)
DRAMATIQ_DEAD_MESSAGE_TTL_MS = env.int("DRAMATIQ_DEAD_MESSAGE_TTL_MS", default=7 * 86_400_000)
DRAMATIQ_MAINTENANCE_CHANCE = env.int("DRAMATIQ_MAINTENANCE_CHANCE", default=1000)
DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.redis.RedisBroker" if REDIS_URL else "dramatiq.brokers.stub.StubBroker",
    "OPTIONS": {
        "url": REDIS_URL,
        "heartbeat_timeout": DRAMATIQ_HEARTBEAT_TIMEOUT_MS,
        "dead_message_ttl": DRAMATIQ_DEAD_MESSAGE_TTL_MS,
        "maintenance_chance": DRAMATIQ_MAINTENANCE_CHANCE,
    }
    if REDIS_URL
    else {},
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# Actor retry backoff (milliseconds); tests shrink it.
ACTOR_MIN_BACKOFF_MS = env.int("ACTOR_MIN_BACKOFF_MS", default=2_000)
ACTOR_MAX_BACKOFF_MS = env.int("ACTOR_MAX_BACKOFF_MS", default=300_000)
# The message sweep (every MESSAGE_SWEEP_SECONDS): a send in flight this long means its worker
# died (→ unknown); a queued message whose job was put on the queue this long ago lost it
# (→ queued again).
STALE_SENDING_SECONDS = env.int("STALE_SENDING_SECONDS", default=300)
REQUEUE_AFTER_SECONDS = env.int("REQUEUE_AFTER_SECONDS", default=3600)
MESSAGE_SWEEP_SECONDS = env.int("MESSAGE_SWEEP_SECONDS", default=60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "botopia_meta.auth_limits.CountedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "botopia_meta.api.throttling.AnonymousRateLimit",
        "rest_framework.permissions.IsAuthenticated",
        "orgs.permissions.OrganizationPermission",  # the organization and the role (orgs/permissions.py)
    ],
    "DEFAULT_RENDERER_CLASSES": ["botopia_meta.api.renderers.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["botopia_meta.api.parsers.CamelCaseJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["botopia_meta.api.throttling.ApiRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "botopia_meta.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Our own API's rate limits (django-ratelimit syntax: count/period).
API_RATE_LIMIT_USER = env.str("API_RATE_LIMIT_USER", default="600/m")
API_RATE_LIMIT_ANON = env.str("API_RATE_LIMIT_ANON", default="60/m")
API_RATE_LIMIT_LOGIN = env.str("API_RATE_LIMIT_LOGIN", default="10/m")
RATELIMIT_USE_CACHE = "default"
# Failed credentials (botopia_meta/auth_limits.py): logins (admin form, /api/auth/token) and API
# tokens per IP, logins per username. Past the limit every attempt is refused until the window
# passes, the right password included.
AUTH_FAILURE_LIMIT_IP = env.str("AUTH_FAILURE_LIMIT_IP", default="20/15m")
AUTH_FAILURE_LIMIT_USERNAME = env.str("AUTH_FAILURE_LIMIT_USERNAME", default="10/15m")
AUTHENTICATION_BACKENDS = ["botopia_meta.auth_limits.RateLimitedModelBackend"]
# Request bodies: Django's limit for every endpoint, and the larger one of the endpoints that take
# big lists (a 100,000-recipient broadcast is ~7-12 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
LARGE_BODY_MAX_BYTES = env.int("LARGE_BODY_MAX_BYTES", default=32 * 1024 * 1024)
# Webhook bodies larger than this are refused with 413 before being read. Meta batches up to
# 1,000 changes per delivery; 3 MiB leaves room for that.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=3 * 1024 * 1024)

# Retention: settled webhook events and analytics idempotency keys older than this are
# pruned daily (pending events never are).
# The webhook outbox sweeper runs every WEBHOOK_SWEEP_SECONDS and re-enqueues events still
# pending after WEBHOOK_SWEEP_AFTER_SECONDS (once per WEBHOOK_RESWEEP_AFTER_SECONDS at most) and
# events claimed by a worker more than WEBHOOK_CLAIM_TIMEOUT_SECONDS ago (presumed dead).
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=60)
WEBHOOK_SWEEP_AFTER_SECONDS = env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=60)
# The receiver queues a stored delivery from a background thread, so Meta's request does not
# wait for the broker (webhooks/intake_queue.py); off: queued in the request (tests).
WEBHOOK_ENQUEUE_IN_BACKGROUND = env.bool("WEBHOOK_ENQUEUE_IN_BACKGROUND", default=True)
# The background thread waits this long after a delivery for more to queue with it.
WEBHOOK_ENQUEUE_LINGER_MS = env.int("WEBHOOK_ENQUEUE_LINGER_MS", default=20)
WEBHOOK_RESWEEP_AFTER_SECONDS = env.int("WEBHOOK_RESWEEP_AFTER_SECONDS", default=300)
WEBHOOK_CLAIM_TIMEOUT_SECONDS = env.int("WEBHOOK_CLAIM_TIMEOUT_SECONDS", default=600)
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=30)
# A delivery of more items than WEBHOOK_CHUNK_ITEMS (statuses and messages count one each) is
# processed in chunks of at most that many, each its own transaction with its progress; after
# WEBHOOK_SLICE_SECONDS of chunks the rest goes back on the queue, behind other accounts' events.
WEBHOOK_CHUNK_ITEMS = env.int("WEBHOOK_CHUNK_ITEMS", default=500)
WEBHOOK_SLICE_SECONDS = env.float("WEBHOOK_SLICE_SECONDS", default=2.0)
# A worker claims up to WEBHOOK_BATCH_EVENTS deliveries at once (those queued together, topped
# up with the oldest pending small ones) and applies them together: a number's statuses from
# all of them as one set (at most WEBHOOK_CHUNK_ITEMS a transaction). Deliveries of over
# WEBHOOK_BATCH_MAX_BYTES are claimed only by their own message.
WEBHOOK_BATCH_EVENTS = env.int("WEBHOOK_BATCH_EVENTS", default=200)
WEBHOOK_BATCH_MAX_BYTES = env.int("WEBHOOK_BATCH_MAX_BYTES", default=64 * 1024)
ANALYTICS_KEY_RETENTION_DAYS = env.int("ANALYTICS_KEY_RETENTION_DAYS", default=30)
# WhatsApp media (whatsapp/media/). Inbound media is downloaded and stored in the
# `whatsapp_media` storage: the filesystem under MEDIA_ROOT/whatsapp by default, any Django
# storage backend (django-storages' S3, GCS, Azure...) by setting
# WHATSAPP_MEDIA_STORAGE_BACKEND and its OPTIONS as JSON. Files are only served through
# GET /api/meta/whatsapp/media/<id> (to their owner), never from MEDIA_ROOT directly.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
WHATSAPP_MEDIA_STORAGE_BACKEND = env.str(
    "WHATSAPP_MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
WHATSAPP_MEDIA_STORAGE_OPTIONS = env.json("WHATSAPP_MEDIA_STORAGE_OPTIONS", default={})
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "whatsapp_media": {
        "BACKEND": WHATSAPP_MEDIA_STORAGE_BACKEND,
        "OPTIONS": WHATSAPP_MEDIA_STORAGE_OPTIONS
        or (
            {"location": str(MEDIA_ROOT / "whatsapp")}
            if WHATSAPP_MEDIA_STORAGE_BACKEND.endswith("FileSystemStorage")
            else {}
        ),
    },
}
# Stored media older than this is deleted (daily job) and marked `expired` on its message.
WHATSAPP_MEDIA_RETENTION_DAYS = env.int("WHATSAPP_MEDIA_RETENTION_DAYS", default=90)
# Retries of a download after a transient failure (Meta 5xx, timeouts) before it is `failed`.
WHATSAPP_MEDIA_DOWNLOAD_RETRIES = env.int("WHATSAPP_MEDIA_DOWNLOAD_RETRIES", default=5)
# The largest file downloaded (Meta's largest kind, documents, is 100 MB).
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=100 * 1024 * 1024)
# Instagram publishing: how often and how many times a media container is polled.
IG_CONTAINER_POLL_MS = env.int("IG_CONTAINER_POLL_MS", default=5_000)
IG_CONTAINER_MAX_POLLS = env.int("IG_CONTAINER_MAX_POLLS", default=120)

SPECTACULAR_SETTINGS = {
    "TITLE": "Botopia Meta API",
    "DESCRIPTION": (
        "Meta Business (WhatsApp, Facebook Pages, Instagram) for the Botopia dashboard. Every "
        "/api/meta/ call acts on one organization: the `X-Organization-Id` header, else the "
        "caller's default one; the caller's role there must hold the operation's permission "
        "(403 PERMISSION_DENIED names it)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["botopia_meta.api.schema.envelope_postprocessing_hook"],
}

LOGGING: dict[str, Any] = {  # django-stubs' type for the dictConfig setting
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Never log request bodies or query strings of outbound calls (tokens live there).
    "loggers": {"urllib3": {"level": "WARNING"}, "django.db.backends": {"level": "WARNING"}},
}

# HTTPS behind a TLS-terminating proxy. Safe production defaults, each overridable (e.g. a
# first deploy sets a short SECURE_HSTS_SECONDS; a proxy that names the scheme differently sets
# SECURE_PROXY_SSL_HEADER to "HTTP_X_SCHEME,https", or "" when no proxy is in front).
if not DEBUG:
    _proxy_header = env_list(env.ENVIRON, "SECURE_PROXY_SSL_HEADER", ["HTTP_X_FORWARDED_PROTO", "https"])
    if _proxy_header:
        if len(_proxy_header) != 2:
            raise ImproperlyConfigured(
                'SECURE_PROXY_SSL_HEADER is "HEADER,value", e.g. HTTP_X_FORWARDED_PROTO,https'
            )
        SECURE_PROXY_SSL_HEADER = tuple(_proxy_header)
    SECURE_SSL_REDIRECT = env_bool(env.ENVIRON, "SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancer probes speak plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(env.ENVIRON, "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool(env.ENVIRON, "SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env_bool(env.ENVIRON, "SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env_bool(env.ENVIRON, "CSRF_COOKIE_SECURE", default=True)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Operations (issue #15): metrics, error reporting, log format -------------------------
# GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Errors go to Sentry when set (tokens scrubbed, no PII); off otherwise.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# One JSON object per log line (for a log shipper) instead of plain text.
LOG_JSON = env.bool("LOG_JSON", default=False)
if LOG_JSON:
    LOGGING["formatters"]["json"] = {"()": "botopia_meta.observability.JsonFormatter"}
    LOGGING["handlers"]["console"]["formatter"] = "json"
if SENTRY_DSN:
    from botopia_meta.observability import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
