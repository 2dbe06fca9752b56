"""Redis (cache, rate-limit counters) unreachable: what needs only the database keeps working,
uncounted; what needs the cache answers 503 in the envelope, never a 500."""

import socket

import pytest

from tests.facebook.conftest import PAGE_ID


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def redis_down(settings):
    dead = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
    }
    settings.CACHES = {**settings.CACHES, "default": dead}  # Django swaps the cache handler


def test_database_reads_keep_working_and_cache_needs_answer_503(
    alice_client, connected_page, meta, redis_down
):
    pages = alice_client.get("/api/meta/facebook/pages")
    assert pages.status_code == 200 and pages.json()["data"]["pages"][0]["pageId"] == PAGE_ID

    posts = alice_client.get("/api/meta/facebook/posts", {"pageId": PAGE_ID})  # cached list
    assert posts.status_code == 503
    assert posts.json()["error"]["code"] == "SERVICE_UNAVAILABLE" and posts["Retry-After"] == "5"
    assert not meta.calls
