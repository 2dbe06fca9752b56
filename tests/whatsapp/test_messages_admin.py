"""The staff admin's message page shows a message's content readable per type (not only its
raw JSON), escaped, with a downloaded media file linked to our own endpoint."""

import html

import pytest

from tests.factories import make_whatsapp_account
from whatsapp.models import Message

MEDIA_ID = "0b8e5a52-6d4e-4c41-9a8e-1f2d3c4b5a69"
CARD = {
    "name": {"formatted_name": "Laura Gómez", "first_name": "Laura", "last_name": "Gómez"},
    "phones": [{"phone": "+57 300 555 0101", "type": "CELL", "wa_id": "573005550101"}],
}

# (type, direction, content as stored, what staff read on the page)
CASES = [
    ("text", "inbound", {"body": "Hola, ¿tienen envíos?"}, ["Text", "Hola, ¿tienen envíos?"]),
    (
        "image",
        "inbound",
        {
            "caption": "Este modelo",
            "mime_type": "image/jpeg",
            "sha256": "u2xZ0Wb9V7m5r8mQn1o3bA4P5kq6cJ7dH8eF9gA0bC1=",
            "id": "1244556677889900",
            "media": {
                "url": f"/api/meta/whatsapp/media/{MEDIA_ID}",
                "mimeType": "image/jpeg",
                "size": 48213,
                "status": "stored",
            },
        },
        [
            "Caption",
            "Este modelo",
            f'<a href="/api/meta/whatsapp/media/{MEDIA_ID}">image (image/jpeg, 48213 bytes)</a>',
        ],
    ),
    (
        "audio",
        "inbound",
        {
            "mime_type": "audio/ogg; codecs=opus",
            "id": "1244556677889901",
            "voice": True,
            "media": {"status": "failed", "error": "Meta no longer has this media (expired)."},
        },
        ["Media status", "failed", "Meta no longer has this media (expired).", "Voice note"],
    ),
    (
        "document",
        "outbound",
        {
            "link": "https://files.example.com/invoice-1042.pdf",
            "caption": "Su factura",
            "filename": "factura.pdf",
        },
        ["Su factura", "File name", "factura.pdf", "https://files.example.com/invoice-1042.pdf"],
    ),
    ("sticker", "outbound", {"id": "1244556677889902"}, ["Media id", "1244556677889902"]),
    (
        "location",
        "inbound",
        {
            "latitude": 19.4326,
            "longitude": -99.1332,
            "name": "Tienda Centro",
            "address": "Av. Juárez 10, CDMX",
        },
        ["Place", "Tienda Centro", "Av. Juárez 10, CDMX", "19.4326, -99.1332"],
    ),
    ("contacts", "inbound", {"contacts": [CARD]}, ["Contact", "Laura Gómez (+57 300 555 0101)"]),
    ("contacts", "outbound", [CARD], ["Contact", "Laura Gómez (+57 300 555 0101)"]),
    (
        "button",
        "inbound",
        {"payload": "STOP_PROMOS", "text": "Stop promotions"},
        ["Button reply", "Stop promotions"],
    ),
    (
        "interactive",
        "inbound",
        {"type": "button_reply", "button_reply": {"id": "yes-1042", "title": "Sí, confirmo"}},
        ["Button reply", "Sí, confirmo (id yes-1042)"],
    ),
    (
        "interactive",
        "inbound",
        {"type": "list_reply", "list_reply": {"id": "slot-9", "title": "9:00", "description": "Mañana"}},
        ["List reply", "9:00 (id slot-9)", "Mañana"],
    ),
    (
        "interactive",
        "outbound",
        {
            "type": "list",
            "body": {"text": "Elija un horario"},
            "action": {
                "button": "Horarios",
                "sections": [{"title": "Mañana", "rows": [{"id": "slot-9", "title": "9:00"}]}],
            },
        },
        ["Interactive", "list", "Elija un horario", "Horarios", "Mañana: 9:00"],
    ),
    (
        "interactive",
        "outbound",
        {
            "type": "cta_url",
            "body": {"text": "Vea el catálogo"},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": "Abrir", "url": "https://shop.example"},
            },
        },
        ["cta_url", "Vea el catálogo", "Abrir", "https://shop.example"],
    ),
    (
        "reaction",
        "inbound",
        {"message_id": "wamid.HBgLreacted", "emoji": "👍"},
        ["Reaction", "👍", "wamid.HBgLreacted"],
    ),
    (
        "template",
        "outbound",
        {
            "name": "order_update",
            "language": {"code": "es_MX"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "#1042"}]}],
        },
        ["Template", "order_update (es_MX)", "Parameters", "#1042"],
    ),
    (
        "unsupported",
        "inbound",
        {"errors": [{"code": 131051, "title": "Message type unknown"}]},
        ["Error", "Message type unknown"],
    ),
]


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice)[2]


def readable_block(body: str) -> str:
    """The "Content, readable" field of the change page (not the raw JSON beside it)."""
    start = body.index("Content, readable")
    return body[start : body.index("</div>", body.index('class="readonly"', start))]


def page(admin_client, number, *, type: str, direction: str, content) -> str:
    message = Message.objects.create(
        direction=direction,
        phone_number=number,
        contact_wa_id="5215512345678",
        type=type,
        content=content,
        status="received" if direction == "inbound" else "sent",
    )
    response = admin_client.get(f"/admin/whatsapp/message/{message.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("type", "direction", "content", "shown"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_the_message_page_shows_the_content_readable_per_type(
    admin_client, number, type, direction, content, shown
):
    block = readable_block(page(admin_client, number, type=type, direction=direction, content=content))
    for text in shown:
        assert text in (block if text.startswith("<a ") else html.unescape(block))


def test_the_list_shows_what_each_message_says(admin_client, number):
    page(admin_client, number, type="text", direction="inbound", content={"body": "Hola, ¿tienen envíos?"})
    listing = html.unescape(admin_client.get("/admin/whatsapp/message/").content.decode())
    assert "Hola, ¿tienen envíos?" in listing


def test_the_readable_content_is_escaped_and_links_only_to_our_own_endpoint(admin_client, number):
    body = page(
        admin_client,
        number,
        type="image",
        direction="inbound",
        content={
            "caption": '<script>alert("x")</script>',
            "media": {"url": "javascript:alert(1)//api/meta/whatsapp/media/x", "status": "stored"},
        },
    )
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in readable_block(body)
    assert "<a " not in readable_block(body) and 'href="javascript:' not in body
