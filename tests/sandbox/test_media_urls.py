"""Media URLs offline: with the sandbox on (DEBUG only), a host that does not resolve is accepted
for URLs handed to Meta, since the sandbox downloads nothing; nothing else changes, and nothing
changes at all with DEBUG off or for the URLs we call ourselves (forwarding)."""

import socket

import pytest

from botopia_meta import safe_urls
from botopia_meta.exceptions import ValidationFailed

URL = "https://images.example.com/croissant.jpg"


@pytest.fixture
def offline(monkeypatch):
    def no_dns(host, *args, **kwargs):
        if host in ("localhost", "127.0.0.1"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(safe_urls, "_resolve", no_dns)


def test_it_accepts_an_unresolvable_https_media_url_in_the_sandbox(sandbox_on, offline):
    assert safe_urls.require_public_https_url(URL, field="media_url") == URL


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.com/a.jpg",
        "https://localhost/a.jpg",
        "https://user:pw@images.example.com/a.jpg",
    ],
)
def test_it_still_refuses_every_other_unsafe_url_in_the_sandbox(sandbox_on, offline, url):
    with pytest.raises(ValidationFailed):
        safe_urls.require_public_https_url(url, field="media_url")


def test_it_never_exempts_with_debug_off(settings, offline):
    settings.META_SANDBOX, settings.DEBUG = True, False  # a settings module that skipped the guard
    with pytest.raises(ValidationFailed, match="does not resolve"):
        safe_urls.require_public_https_url(URL, field="media_url")


def test_it_never_exempts_without_the_sandbox(settings, offline):
    settings.META_SANDBOX, settings.DEBUG = False, True
    with pytest.raises(ValidationFailed, match="does not resolve"):
        safe_urls.require_public_https_url(URL, field="media_url")


def test_it_never_exempts_a_url_we_call_ourselves(sandbox_on, offline):
    reason, address = safe_urls.check_public_url(URL)
    assert reason and "does not resolve" in reason and address is None
