"""The sandbox over real HTTP: pytest-django's live server serves both the sandbox
(/sandbox/graph/) and our webhook receiver; the product's GraphClient points at it, and the
`worker` fixture runs the real actors (ours and the sandbox's deliveries)."""

import pytest

from botopia_meta import graph


@pytest.fixture
def sandbox(settings, live_server, worker):
    yield _sandbox_settings(settings, live_server)
    # What the test set off (comments, DMs, receipts after a publish or a reply) is delivered
    # before the next test: a delayed message still held by this worker would never be acked.
    worker.drain()
    # The Graph transport keeps its sockets alive, and a live-server thread keeps its database
    # connection while its socket is open: close them, or PostgreSQL cannot drop the test DB.
    graph._session.close()


def _sandbox_settings(settings, live_server):
    settings.META_SANDBOX = True
    settings.DEBUG = True  # the sandbox only runs in development (pytest-django turns DEBUG off)
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/graph"
    settings.PUBLIC_BASE_URL = live_server.url
    # Seconds in the demo; milliseconds here (the order of events is what matters).
    settings.SANDBOX_STATUS_DELAY_MS = 30
    settings.SANDBOX_REVIEW_DELAY_MS = 30
    return live_server


@pytest.fixture
def sandbox_on(settings):
    """The sandbox on, for calls through the Django test client (no live server)."""
    settings.META_SANDBOX = True
    settings.DEBUG = True
    return settings


def connect(client, worker, code: str = "any-code-works") -> dict:
    """Connect through the API and let discovery run; returns the connect answer's data."""
    response = client.post("/api/meta/auth/connect", {"code": code}, format="json")
    assert response.status_code in (200, 201), response.content
    worker.drain()
    return response.json()["data"]
