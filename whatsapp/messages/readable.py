"""A message's `content` as a person reads it, per type: the staff admin's message page and
the inbox's thread and preview text read it from here.

`content` is Meta's `<type>` object: what we sent (whatsapp/messages/payloads.py) or what a
webhook brought (a `contacts` message's list kept under "contacts", media with our own
`media` entry once downloaded). Anything unexpected reads as nothing rather than failing: the
raw JSON stays beside it."""

from dataclasses import dataclass
from typing import Any

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
# Where our media endpoint serves a downloaded file (the only href the admin links to).
MEDIA_PATH = "/api/meta/whatsapp/media/"
MAX_PART = 1000  # characters of one part shown (a 4096-character body is cut, not hidden)


@dataclass(frozen=True)
class Part:
    label: str
    text: str
    url: str = ""  # our own media endpoint, when the file was downloaded


def _str(value: Any) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    text = str(value).strip()
    return f"{text[:MAX_PART]}…" if len(text) > MAX_PART else text


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _parts(*pairs: tuple[str, Any]) -> list[Part]:
    return [Part(label, text) for label, value in pairs if (text := _str(value))]


def _media(kind: str, content: dict) -> list[Part]:
    parts = _parts(("Caption", content.get("caption")), ("File name", content.get("filename")))
    media = _dict(content.get("media"))
    url = _str(media.get("url"))
    if url.startswith(MEDIA_PATH) and ".." not in url:
        size = media.get("size")
        about = ", ".join(
            bit
            for bit in (_str(media.get("mimeType")), f"{size} bytes" if isinstance(size, int) else "")
            if bit
        )
        parts.append(Part("Media", f"{kind} ({about})" if about else kind, url))
    if media.get("status") and media.get("status") != "stored":
        parts.extend(_parts(("Media status", media.get("status")), ("Media error", media.get("error"))))
    if not url:
        parts.extend(_parts(("Link", content.get("link")), ("Media id", content.get("id"))))
        if not content.get("link") and not content.get("id"):
            parts.extend(_parts(("Media", kind if content.get("mime_type") else "")))
    if content.get("voice") is True:
        parts.append(Part("Voice note", "yes"))
    return parts


def _location(content: dict) -> list[Part]:
    lat, lon = content.get("latitude"), content.get("longitude")
    where = f"{lat}, {lon}" if isinstance(lat, int | float) and isinstance(lon, int | float) else ""
    return _parts(("Place", content.get("name")), ("Address", content.get("address")), ("Location", where))


def contact_names(cards: Any) -> list[str]:
    names = []
    for card in _list(cards):
        name = _dict(_dict(card).get("name"))
        full = _str(name.get("formatted_name")) or " ".join(
            part for part in (_str(name.get("first_name")), _str(name.get("last_name"))) if part
        )
        phones = [_str(_dict(p).get("phone")) for p in _list(_dict(card).get("phones"))]
        phones = [p for p in phones if p]
        if full or phones:
            names.append(f"{full} ({', '.join(phones)})" if full and phones else full or ", ".join(phones))
    return names


def _contacts(content: Any) -> list[Part]:
    cards = content if isinstance(content, list) else _dict(content).get("contacts")
    return [Part("Contact", name) for name in contact_names(cards)]


def _interactive(content: dict) -> list[Part]:
    kind = _str(content.get("type"))
    # What a customer answered (inbound): a reply button, a list row, a flow.
    if kind in ("button_reply", "list_reply"):
        reply = _dict(content.get(kind))
        label = "Button reply" if kind == "button_reply" else "List reply"
        title, reply_id = _str(reply.get("title")), _str(reply.get("id"))
        text = f"{title} (id {reply_id})" if title and reply_id else title or reply_id
        return [*_parts((label, text)), *_parts(("Description", reply.get("description")))]
    if kind == "nfm_reply":
        reply = _dict(content.get("nfm_reply"))
        return _parts(
            ("Flow reply", reply.get("body") or reply.get("name")), ("Response", reply.get("response_json"))
        )
    # What we sent: the kind, its texts, and what the customer can pick.
    header = _dict(content.get("header"))
    action = _dict(content.get("action"))
    parameters = _dict(action.get("parameters"))
    parts = _parts(
        ("Interactive", kind),
        ("Header", header.get("text")),
        ("Text", _dict(content.get("body")).get("text")),
        ("Footer", _dict(content.get("footer")).get("text")),
        ("Button", action.get("button") or parameters.get("display_text") or parameters.get("flow_cta")),
        ("Link", parameters.get("url")),
    )
    for button in _list(action.get("buttons")):
        parts.extend(_parts(("Reply button", _dict(_dict(button).get("reply")).get("title"))))
    for section in _list(action.get("sections")):
        rows = [_str(_dict(row).get("title")) for row in _list(_dict(section).get("rows"))]
        products = [
            _str(_dict(item).get("product_retailer_id"))
            for item in _list(_dict(section).get("product_items"))
        ]
        items = ", ".join(item for item in rows + products if item)
        title = _str(_dict(section).get("title"))
        parts.extend(_parts(("Section", f"{title}: {items}" if title and items else title or items)))
    parts.extend(_parts(("Product", action.get("product_retailer_id"))))
    return parts


def _template(content: dict) -> list[Part]:
    language = content.get("language")
    code = _str(_dict(language).get("code") if isinstance(language, dict) else language)
    name = _str(content.get("name"))
    values = [
        _str(_dict(parameter).get("text"))
        for component in _list(content.get("components"))
        for parameter in _list(_dict(component).get("parameters"))
    ]
    return _parts(
        ("Template", f"{name} ({code})" if name and code else name),
        ("Parameters", ", ".join(value for value in values if value)),
    )


def _reaction(content: dict) -> list[Part]:
    emoji = _str(content.get("emoji"))
    return _parts(("Reaction", emoji or "(removed)"), ("To message", content.get("message_id")))


def _order(content: dict) -> list[Part]:
    items = _list(content.get("product_items"))
    lines = [
        f"{_str(_dict(item).get('product_retailer_id'))} x {_str(_dict(item).get('quantity'))}"
        for item in items
    ]
    return _parts(
        ("Text", content.get("text")), ("Order", "; ".join(lines)), ("Catalog", content.get("catalog_id"))
    )


def _errors(content: dict) -> list[Part]:
    return [
        Part("Error", text)
        for error in _list(content.get("errors"))
        if (text := _str(_dict(error).get("title") or _dict(error).get("message")))
    ]


def content_parts(type: str, content: Any) -> list[Part]:
    """What the message says, labelled; [] when there is nothing readable."""
    if type in ("contacts",):
        return _contacts(content)
    content = _dict(content)
    if type == "text":
        return _parts(("Text", content.get("body")))
    if type in MEDIA_KINDS:
        return _media(type, content)
    if type == "location":
        return _location(content)
    if type == "interactive":
        return _interactive(content)
    if type == "button":  # a template's quick-reply button, pressed
        return _parts(("Button reply", content.get("text")), ("Payload", content.get("payload")))
    if type == "reaction":
        return _reaction(content)
    if type == "template":
        return _template(content)
    if type == "order":
        return _order(content)
    if type == "system":
        return _parts(("System", content.get("body")))
    return _errors(content)


# The part whose text is "what the message says" in a one-line preview, by label.
SAYS = (
    "Text",
    "Caption",
    "Button reply",
    "List reply",
    "Flow reply",
    "Reaction",
    "Place",
    "Address",
    "Location",
    "Contact",
    "Template",
    "System",
    "Order",
    "Error",
)


def content_text(type: str, content: Any) -> str:
    """One line: the message's words (text, caption, the reply picked, the place, the contact's
    name, the template's name...), or "" when it has none (an image without a caption)."""
    parts = content_parts(type, content)
    for label in SAYS:
        for part in parts:
            if part.label == label:
                return part.text
    return ""
