"""Meta's rules for WhatsApp media, checked before any upload: the types and sizes each kind
takes (Cloud API "supported media types"), and that a file's first bytes are what its type
claims (a PDF renamed .png is refused here, not by Meta minutes later).

Sizes: Meta writes "5 MB", "100 KB"; we read them as MiB/KiB."""

import mimetypes
from dataclasses import dataclass

KIB, MIB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Kind:
    mime_types: frozenset[str]
    max_bytes: int
    max_animated_bytes: int | None = None  # stickers: an animated webp may be larger


DOCUMENT_TYPES = frozenset(
    {
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
KINDS: dict[str, Kind] = {
    "image": Kind(frozenset({"image/jpeg", "image/png"}), 5 * MIB),
    "video": Kind(frozenset({"video/mp4", "video/3gpp"}), 16 * MIB),
    "audio": Kind(frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MIB),
    "document": Kind(DOCUMENT_TYPES, 100 * MIB),
    "sticker": Kind(frozenset({"image/webp"}), 100 * KIB, max_animated_bytes=500 * KIB),
}
# The largest file any kind takes: the upload endpoint's body limit is this plus the form's own.
MAX_BYTES = max(kind.max_animated_bytes or kind.max_bytes for kind in KINDS.values())
# Other spellings clients (and Meta's older docs) use for the same types.
ALIASES = {
    "image/jpg": "image/jpeg",
    "video/3gp": "video/3gpp",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/opus": "audio/ogg",
}
EXTENSIONS = {".3gp": "video/3gpp", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".amr": "audio/amr"}
# What a stored file's name ends with, by type.
SUFFIXES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
INBOUND_KINDS = frozenset(KINDS)  # an inbound `audio` may be a voice note (`voice: true`)


class MediaRefused(ValueError):
    """Why a file cannot be uploaded as the kind asked; `field` is the form field to blame."""

    def __init__(self, message: str, *, field: str = "file"):
        super().__init__(message)
        self.field = field


def normalized_type(mime_type: str) -> str:
    value = mime_type.split(";")[0].strip().lower()
    return ALIASES.get(value, value)


def guessed_type(declared: str, filename: str) -> str:
    """The file's type: what the client declared for the part, else what its name says."""
    declared = normalized_type(declared or "")
    if declared and declared != "application/octet-stream":
        return declared
    dot = filename.rfind(".")
    extension = filename[dot:].lower() if dot >= 0 else ""
    return EXTENSIONS.get(extension) or normalized_type(mimetypes.guess_type(filename)[0] or "")


def kind_for(mime_type: str) -> str | None:
    for name, kind in KINDS.items():
        if mime_type in kind.mime_types:
            return name
    return None


def _mp4_family(head: bytes) -> bool:
    return head[4:8] == b"ftyp"


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls, .ppt
_ZIP = b"PK\x03\x04"  # .docx, .xlsx, .pptx
SIGNATURES = {
    "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
    "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP",
    "video/mp4": _mp4_family,
    "video/3gpp": _mp4_family,
    "audio/mp4": _mp4_family,
    "audio/ogg": lambda h: h.startswith(b"OggS") and b"OpusHead" in h[:64],  # Opus only, as Meta takes
    "audio/amr": lambda h: h.startswith(b"#!AMR"),
    "audio/aac": lambda h: len(h) > 1 and h[0] == 0xFF and (h[1] & 0xF6) == 0xF0,  # ADTS
    "audio/mpeg": lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0),
    "application/pdf": lambda h: h.startswith(b"%PDF-"),
    "application/msword": lambda h: h.startswith(_OLE),
    "application/vnd.ms-excel": lambda h: h.startswith(_OLE),
    "application/vnd.ms-powerpoint": lambda h: h.startswith(_OLE),
    "text/plain": lambda h: b"\x00" not in h,
}
for _office in DOCUMENT_TYPES:
    if _office.startswith("application/vnd.openxmlformats"):
        SIGNATURES[_office] = lambda h: h.startswith(_ZIP)


def animated_webp(head: bytes) -> bool:
    """An extended webp (VP8X chunk) with its animation flag set."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


def check_upload(*, kind: str | None, mime_type: str, size: int, head: bytes) -> tuple[str, str]:
    """(kind, mime type) of a file Meta will take, or MediaRefused saying why not. `kind`: the
    one asked for, or None to infer it from the type; `head`: the file's first bytes."""
    if kind is not None and kind not in KINDS:
        raise MediaRefused(f"Unknown media type {kind!r}: one of {', '.join(KINDS)}.", field="type")
    inferred = kind_for(mime_type)
    kind = kind or inferred
    if kind is None:
        allowed = sorted({t for k in KINDS.values() for t in k.mime_types})
        raise MediaRefused(
            f"WhatsApp does not take {mime_type or 'this type'} files; allowed: {', '.join(allowed)}."
        )
    rule = KINDS[kind]
    if mime_type not in rule.mime_types:
        raise MediaRefused(
            f"A WhatsApp {kind} must be {', '.join(sorted(rule.mime_types))}, not {mime_type or 'unknown'}."
        )
    if size == 0:
        raise MediaRefused("The file is empty.")
    if not SIGNATURES[mime_type](head):
        raise MediaRefused(f"The file's content is not {mime_type}.")
    limit = rule.max_bytes
    if rule.max_animated_bytes and animated_webp(head):
        limit = rule.max_animated_bytes
    if size > limit:
        raise MediaRefused(f"A WhatsApp {kind} is at most {_human(limit)}; this file is {_human(size)}.")
    return kind, mime_type


def _human(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.1f} MB".replace(".0 MB", " MB")
    if size >= KIB:
        return f"{size / KIB:.0f} KB"
    return f"{size} bytes"
