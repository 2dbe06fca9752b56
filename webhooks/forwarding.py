"""(ext) Forwarding notifications to a URL the business configured, signed so it can trust them.

The URL is the business's, so it is treated as hostile: https only, no credentials in it, and
every address its host resolves to must be public (no loopback, private, link-local or
metadata addresses: the server must not be usable to reach our own network). Redirects are
not followed. Signature header: `X-Botopia-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<unix>.<body>">` with the account's forward secret; receivers reject stale timestamps."""

import hashlib
import hmac
import ipaddress
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from botopia_meta.safe_urls import check_public_url

TIMEOUT = (3.05, 10)


class ForwardFailed(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class _PinnedHost(HTTPAdapter):
    """TLS to the address we checked, verified as the URL's host name: a DNS answer that
    changes after the check (rebinding to an internal address) is never connected to."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs.update(server_hostname=self._hostname, assert_hostname=self._hostname)
        super().init_poolmanager(*args, **kwargs)


def _pinned(url: str, address: str) -> tuple[str, str]:
    """→ (the URL with its host replaced by `address`, the Host header)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl(), parts.netloc


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def send(*, url: str, secret: str, body: bytes, delivery_id: str) -> None:
    """POST one signed body; raises ForwardFailed (transient: retry with backoff)."""
    problem, address = check_public_url(url)  # again at send time: DNS may have changed
    if problem:
        raise ForwardFailed(problem, transient=False)
    hostname = urlsplit(url).hostname
    if address is None or hostname is None:  # not after a URL check_public_url accepted
        raise ForwardFailed("Has no host.", transient=False)
    target, host = _pinned(url, address)
    timestamp = int(time.time())
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": "Botopia-Webhooks/1.0",
        "X-Botopia-Delivery": delivery_id,
        "X-Botopia-Signature": signature(secret, timestamp, body),
    }
    try:
        with requests.Session() as session:
            session.mount("https://", _PinnedHost(hostname))
            response = session.post(
                target, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
            )
    except requests.RequestException as exc:
        raise ForwardFailed(type(exc).__name__, transient=True) from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise ForwardFailed(f"HTTP {response.status_code}", transient=True)
    if response.status_code >= 300:
        raise ForwardFailed(f"HTTP {response.status_code}", transient=False)
