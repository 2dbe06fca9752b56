"""WhatsApp media in the sandbox: uploads answer an id; the media a sandbox customer sends
(an image, a voice note) is looked up and downloaded like Meta's, offline. The files are real
(a PNG, an Ogg Opus voice note) and built here, so their sha256 is real too."""

import base64
import hashlib
import secrets
import struct
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from sandbox.meta import MetaError, new_id, no_object
from whatsapp.media import rules


def _png(size: int = 48) -> bytes:
    """A square RGB PNG: Botopia green with a white diagonal."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(b"\xff\xff\xff" if abs(x - y) < 3 else b"\x25\xd3\x66" for x in range(size))
        for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(rows, 9))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], *, sequence: int, granule: int, flags: int) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x0B070B1A, sequence, 0, len(lacing))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def _voice_note(seconds: int = 1) -> bytes:
    """An Ogg Opus voice note: mono, 48 kHz, `seconds` of silence (20 ms frames)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"Botopia sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    frames = [b"\xf8\xff\xfe"] * (50 * seconds)  # a silent 20 ms CELT frame
    return (
        _ogg_page([head], sequence=0, granule=0, flags=0x02)
        + _ogg_page([tags], sequence=1, granule=0, flags=0)
        + _ogg_page(frames, sequence=2, granule=312 + 960 * len(frames), flags=0x04)
    )


@dataclass(frozen=True)
class Asset:
    media_id: str
    kind: str  # the inbound message's type
    mime_type: str
    ext: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def sha256_b64(self) -> str:
        """As webhooks carry it."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()

    def webhook_object(self) -> dict:
        """The inbound message's `image` / `audio` object, as Meta sends it."""
        body: dict[str, str | bool] = {
            "mime_type": self.mime_type,
            "sha256": self.sha256_b64,
            "id": self.media_id,
        }
        if self.kind == "audio":
            body["mime_type"] = "audio/ogg; codecs=opus"
            body["voice"] = True
        return body


IMAGE = Asset("880000000000001", "image", "image/png", "png", _png())
VOICE = Asset("880000000000002", "audio", "audio/ogg", "ogg", _voice_note())
ASSETS = {asset.media_id: asset for asset in (IMAGE, VOICE)}
DOWNLOAD_PATH = "whatsapp_business/attachments/"


def lookup(ctx, node: str) -> dict:
    """GET /{media-id}: a download URL on META_GRAPH_URL's host, like Meta's on lookaside."""
    asset = ASSETS[node]
    query = f"mid={asset.media_id}&ext={asset.ext}&hash={secrets.token_urlsafe(12)}"
    return {
        "messaging_product": "whatsapp",
        "url": f"{settings.META_GRAPH_URL}/{DOWNLOAD_PATH}?{query}",
        "mime_type": asset.mime_type,
        "sha256": asset.sha256,
        "file_size": len(asset.data),
        "id": asset.media_id,
    }


def upload(ctx, node: str) -> dict:
    """POST /{phone-number-id}/media: checked as Meta checks it, answered with a new id."""
    if ctx.get("messaging_product") != "whatsapp":
        raise MetaError("(#100) The parameter messaging_product is required.", code=100)
    file = ctx.request.FILES.get("file")
    if file is None:
        raise MetaError("(#100) The parameter file is required.", code=100)
    mime_type = rules.normalized_type(str(ctx.get("type") or file.content_type or ""))
    head = file.read(64)
    try:
        rules.check_upload(kind=None, mime_type=mime_type, size=file.size or 0, head=head)
    except rules.MediaRefused as exc:
        raise MetaError(
            "(#131053) Media upload error", code=131053, user_msg=str(exc), type="OAuthException"
        ) from None
    return {"id": new_id()}


def download(request: HttpRequest, authenticate) -> HttpResponse:
    """The file behind a lookup's URL; the token as a Bearer header, as Meta requires."""
    authenticate(request)
    asset = ASSETS.get(str(request.GET.get("mid") or ""))
    if asset is None:
        raise no_object(str(request.GET.get("mid") or "attachment"))
    response = HttpResponse(asset.data, content_type=asset.mime_type)
    response["Content-Length"] = str(len(asset.data))
    return response
