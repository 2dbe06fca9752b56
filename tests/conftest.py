"""The shared cast and tools of the suite.

- Alice owns things, Bob is another business, Charlie is a stranger with nothing connected.
- `meta` fakes Meta at the HTTP level (responses); `graph_url("me")` builds its URLs.
- `worker` runs queued Dramatiq messages for real, in worker threads (transactional DB), from
  the test's first `worker.drain()` on.
"""

import json
import time
from pathlib import Path

import dramatiq
import pytest
import responses
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from botopia_meta.registry import WebhookItem
from tests.factories import make_user
from webhooks.processing import slots

FIXTURES = Path(__file__).parent / "fixtures" / "meta"


def load_payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def payload_item(payload: dict | str) -> WebhookItem:
    """The first item of a Meta webhook body (or of the fixture of that name), split exactly as
    the worker splits a stored event: a change, or a messaging item under field "messages"."""
    body = load_payload(payload) if isinstance(payload, str) else payload
    return next(slot.item for slot in slots(1, body) if slot.item is not None)


def graph_url(path: str) -> str:
    return f"{settings.META_GRAPH_URL}/{settings.META_GRAPH_VERSION}/{path.lstrip('/')}"


def meta_error(code: int, message: str = "An error occurred", *, subcode: int | None = None, **extra) -> dict:
    """An error body exactly as Meta shapes it."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


@pytest.fixture(autouse=True)
def _clean_cache_and_queues():
    cache.clear()
    dramatiq.get_broker().flush_all()
    yield
    dramatiq.get_broker().flush_all()


def _client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def charlie(db):
    return make_user("charlie")


@pytest.fixture
def alice_client(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie) -> APIClient:
    return _client_for(charlie)


@pytest.fixture
def staff_client(admin_client):
    """A superuser logged in to the Django admin (pytest-django's `admin_client`)."""
    return admin_client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def meta():
    """Meta's Graph API, faked at the HTTP boundary. Unmatched requests fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class _Worker:
    """Dramatiq's worker threads, started by the first `drain()` (or `start()`), not before:
    whatever a test queues while it sets up a state waits until the test lets it run.

    (Pausing a running worker cost ~3 s a time: a paused consumer thread leaves its consume
    loop and sleeps Dramatiq's consumer-restart delay before it says it is paused.)"""

    def __init__(self, broker):
        self.broker = broker
        self.worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.worker.start()
            self.started = True

    def stop(self) -> None:
        if self.started:
            self.worker.stop()

    def drain(self, fail_fast: bool = False, timeout: float = 60) -> None:
        """Start the worker if it is not running, then wait until every queue and delay queue
        is empty and every message processed. Messages enqueue more messages (and retries go
        through delay queues), so loop until a pass finds nothing unfinished anywhere."""
        self.start()
        deadline = time.monotonic() + timeout
        while True:
            for queue in list(self.broker.queues):
                if not queue.endswith(".DQ"):
                    self.broker.join(queue, fail_fast=fail_fast, timeout=int(timeout * 1000))
            self.worker.join()
            if all(q.unfinished_tasks == 0 for q in self.broker.queues.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("queues did not drain")


@pytest.fixture
def worker(transactional_db):
    """A real worker over the stub broker (transactional DB: its threads see committed rows).
    It runs nothing until the test's first `worker.drain()`."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("actors")
    broker = dramatiq.get_broker()
    broker.flush_all()
    w = _Worker(broker)
    yield w
    w.stop()
