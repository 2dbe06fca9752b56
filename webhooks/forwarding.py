"""(ext) Forwarding notifications to a URL the business configured, signed so it can trust them.

The URL is the business's, so it is treated as hostile: https only, no credentials in it, and
every address its host resolves to must be public (no loopback, private, link-local or
metadata addresses: the server must not be usable to reach our own network). Redirects are
not followed. Signature header: `X-Botopia-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<unix>.<body>">` with the account's forward secret; receivers reject stale timestamps."""

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests

_resolve = socket.getaddrinfo  # patched in tests
TIMEOUT = (3.05, 10)


class ForwardFailed(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


def url_problem(url: str) -> str | None:
    """Why `url` may not be forwarded to, or None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme != "https":
        return "Use an https:// URL."
    if not parts.hostname or parts.username or parts.password:
        return "Give a host name, without credentials."
    try:
        addresses = {info[4][0] for info in _resolve(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return "The host name does not resolve."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return "The host resolves to a private or reserved address."
    return None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def send(*, url: str, secret: str, body: bytes, delivery_id: str) -> None:
    """POST one signed body; raises ForwardFailed (transient: retry with backoff)."""
    problem = url_problem(url)  # again at send time: DNS may have changed since configure
    if problem:
        raise ForwardFailed(problem, transient=False)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Botopia-Webhooks/1.0",
        "X-Botopia-Delivery": delivery_id,
        "X-Botopia-Signature": signature(secret, timestamp, body),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise ForwardFailed(type(exc).__name__, transient=True) from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise ForwardFailed(f"HTTP {response.status_code}", transient=True)
    if response.status_code >= 300:
        raise ForwardFailed(f"HTTP {response.status_code}", transient=False)
