"""URLs a user gives us must be public https: media URLs are handed to Meta, which downloads
them (we never point anything at an internal address, and a mistyped staging URL fails here
with a clear message instead of a Meta 9004); forward URLs are called by us (webhooks/forwarding
connects to the very address checked here, so DNS cannot change in between)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from botopia_meta.api.camel import to_camel
from botopia_meta.exceptions import ValidationFailed

_resolve = socket.getaddrinfo  # patched in tests
_UNRESOLVED = "does not resolve."


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def unsafe_url_reason(url: str) -> str | None:
    """Why `url` must not be used as a public URL, or None when it may."""
    return check_public_url(url)[0]


def check_public_url(url: str) -> tuple[str | None, str | None]:
    """(why `url` must not be used, None), or (None, a public address its host resolves to)."""
    if not isinstance(url, str) or len(url) > 2048:
        return "Must be a URL of at most 2048 characters.", None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "Is not a valid URL.", None
    if parts.scheme.lower() != "https":
        return "Must be an https:// URL.", None
    host = parts.hostname
    if not host:
        return "Has no host.", None
    if parts.username or parts.password:
        return "Must not contain credentials.", None
    try:
        addresses = {info[4][0] for info in _resolve(host, port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"The host {host!r} {_UNRESOLVED}", None
    if not addresses:
        return f"The host {host!r} {_UNRESOLVED}", None
    if not all(_is_public(address) for address in addresses):
        return "Must point to a public address (not private, loopback, link-local or reserved).", None
    return None, sorted(addresses)[0]


def require_public_https_url(url: str, *, field: str) -> str:
    """The URL, or 400 VALIDATION_ERROR naming `field`. These URLs are handed to Meta, which
    downloads them. With the Meta sandbox on (META_SANDBOX and DEBUG, checked again here by
    sandbox.enabled()), Meta is this process and downloads nothing: a host that does not resolve
    (a demo offline) is accepted; every other rule stands. Forward URLs (check_public_url) are
    never exempt."""
    reason = unsafe_url_reason(url)
    if reason and reason.endswith(_UNRESOLVED):
        import sandbox

        if sandbox.enabled():
            reason = None
    if reason:
        raise ValidationFailed(f"{to_camel(field)}: {reason}", details={field: [reason]})
    return url.strip()
