"""URLs a user gives us must be public https: media URLs are handed to Meta, which downloads
them (we never point anything at an internal address, and a mistyped staging URL fails here
with a clear message instead of a Meta 9004); forward URLs are called by us (webhooks/forwarding
connects to the very address checked here, so DNS cannot change in between).

Two rules. URLs only Meta fetches (media links, a post's link, a photo or publish URL):
`meta_fetched_url_reason`, checked without DNS: we never connect to them, and a lookup would
make every send depend on (and wait for) a resolver, and fail offline. URLs we fetch ourselves:
`check_public_url`, which also resolves the host and refuses any private answer."""

import ipaddress
import socket
from urllib.parse import urlsplit

from botopia_meta.api.camel import to_camel
from botopia_meta.exceptions import ValidationFailed

_resolve = socket.getaddrinfo  # patched in tests


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


META_URL_MAX = 2000


def _literal_address_reason(host: str) -> str | None:
    if host == "localhost" or host.endswith(".localhost"):
        return "Must point to a public address (not private, loopback, link-local or reserved)."
    try:
        public = _is_public(host)
    except ValueError:
        return None  # a name, not an address: Meta resolves it
    if not public:
        return "Must point to a public address (not private, loopback, link-local or reserved)."
    return None


def _form_reason(url: str, max_length: int) -> tuple[str | None, str]:
    """(why `url` is not a usable https URL by its form alone, its host)."""
    if not isinstance(url, str) or len(url) > max_length:
        return f"Must be a URL of at most {max_length} characters.", ""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return "Is not a valid URL.", ""
    if parts.scheme.lower() != "https":
        return "Must be an https:// URL.", ""
    host = parts.hostname
    if not host:
        return "Has no host.", ""
    if parts.username or parts.password:
        return "Must not contain credentials.", ""
    return None, host


def meta_fetched_url_reason(url: str) -> str | None:
    """Why `url` must not be handed to Meta to fetch, or None: https, no credentials, not a
    literal private/loopback/link-local address, at most META_URL_MAX characters. No DNS."""
    reason, host = _form_reason(url, META_URL_MAX)
    return reason or _literal_address_reason(host)


def require_meta_fetched_url(url: str, *, field: str) -> str:
    """The URL (stripped), or 400 VALIDATION_ERROR naming `field`."""
    reason = meta_fetched_url_reason(url)
    if reason:
        raise ValidationFailed(f"{to_camel(field)}: {reason}", details={field: [reason]})
    return url.strip()


def unsafe_url_reason(url: str) -> str | None:
    """Why `url` must not be used as a public URL, or None when it may."""
    return check_public_url(url)[0]


def check_public_url(url: str) -> tuple[str | None, str | None]:
    """(why `url` must not be used, None), or (None, a public address its host resolves to)."""
    reason, host = _form_reason(url, 2048)
    if reason:
        return reason, None
    port = urlsplit(url.strip()).port
    try:
        # str() for the checker: an IPv4/IPv6 answer's host is a str already (the stub also allows
        # the (int, bytes) address of a Python built without IPv6 support).
        addresses = {str(info[4][0]) for info in _resolve(host, port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"The host {host!r} does not resolve.", None
    if not addresses:
        return f"The host {host!r} does not resolve.", None
    if not all(_is_public(address) for address in addresses):
        return "Must point to a public address (not private, loopback, link-local or reserved).", None
    return None, sorted(addresses)[0]


# Where Meta serves media it hands us a URL for (WhatsApp's `GET /{media-id}` answers a
# lookaside.fbsbx.com URL): the only hosts our token may be sent to as a Bearer header, with
# META_GRAPH_URL's own origin (the sandbox, a local stand-in).
META_MEDIA_HOSTS = ("fbsbx.com", "fbcdn.net", "whatsapp.net", "facebook.com")


def meta_media_url_reason(url: str, *, graph_url: str) -> str | None:
    """Why `url` is not a media URL of Meta's (or of `graph_url`'s origin), or None. Form only,
    no DNS: these are names Meta owns."""
    if not isinstance(url, str) or len(url) > 4096:
        return "Must be a URL of at most 4096 characters."
    try:
        parts, graph = urlsplit(url.strip()), urlsplit(graph_url)
        port, graph_port = parts.port, graph.port
    except ValueError:
        return "Is not a valid URL."
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        return "Must not contain credentials."
    if (parts.scheme.lower(), host, port) == (
        graph.scheme.lower(),
        (graph.hostname or "").lower(),
        graph_port,
    ):
        return None
    if parts.scheme.lower() != "https":
        return "Must be an https:// URL."
    if port not in (None, 443) or not any(host == h or host.endswith("." + h) for h in META_MEDIA_HOSTS):
        return f"The host {host!r} is not one of Meta's media hosts."
    return None
