"""POST /api/meta/whatsapp/media: a file checked against Meta's rules for its kind, then
uploaded to the number at Meta (multipart, messaging_product=whatsapp); the answer is Meta's
media id. Meta is faked at the HTTP boundary."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import graph_url, meta_error
from tests.factories import PHONE_ID, make_number, make_whatsapp_account
from tests.test_api_conventions import assert_error

URL = "/api/meta/whatsapp/media"
MEDIA_ID = "1037543291543636"
KIB, MIB = 1024, 1024 * 1024

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + b"\x00" * 32
MP3 = b"ID3\x04" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"\x00" * 64
DOCX = b"PK\x03\x04" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
ANIMATED_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x00\x00\x00\x00\x02" + b"\x00" * 64
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice)[2]


@pytest.fixture
def meta_upload(meta):
    meta.post(graph_url(f"{PHONE_ID}/media"), json={"id": MEDIA_ID})
    return meta


def upload(client, name: str, data: bytes, content_type: str, **fields):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(URL, {"file": file, **fields}, format="multipart")


@pytest.mark.parametrize(
    ("name", "data", "content_type", "kind"),
    [
        ("photo.png", PNG, "image/png", "image"),
        ("photo.jpg", JPEG, "image/jpeg", "image"),
        ("clip.mp4", MP4, "video/mp4", "video"),
        ("voice.ogg", OGG_OPUS, "audio/ogg", "audio"),
        ("song.mp3", MP3, "audio/mpeg", "audio"),
        ("invoice.pdf", PDF, "application/pdf", "document"),
        ("offer.docx", DOCX, DOCX_TYPE, "document"),
        ("hello.webp", WEBP, "image/webp", "sticker"),
    ],
)
def test_it_uploads_each_kind_to_meta_and_answers_its_id(
    number, alice_client, meta_upload, name, data, content_type, kind
):
    response = upload(alice_client, name, data, content_type)

    assert response.status_code == 201, response.content
    assert response.json()["data"] == {
        "id": MEDIA_ID,
        "mimeType": content_type,
        "size": len(data),
        "kind": kind,
    }
    (call,) = meta_upload.calls
    body = call.request.body
    assert call.request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(call.request.headers["Content-Length"]) == len(body)
    assert body.endswith(b"--\r\n") and body.count(b"Content-Disposition: form-data;") == 5  # + token, proof
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in body
    assert f'name="type"\r\n\r\n{content_type}'.encode() in body
    assert f'name="file"; filename="{name}"'.encode() in body and data in body
    assert b"access_token" in body and b"EAAG-alice" in body  # the token travels in the form, never the URL
    assert "access_token" not in call.request.url


@pytest.mark.parametrize(
    ("fields", "name", "content_type", "expected"),
    [
        ({"type": "image/png"}, "photo", "application/octet-stream", ("image", "image/png")),  # Meta's `type`
        ({"type": "sticker"}, "hello.webp", "image/webp", ("sticker", "image/webp")),
        ({}, "photo.png", "application/octet-stream", ("image", "image/png")),  # from the name
        ({"messagingProduct": "whatsapp"}, "photo.png", "image/png", ("image", "image/png")),
    ],
)
def test_it_takes_the_kind_from_the_type_field_or_infers_it(
    number, alice_client, meta_upload, fields, name, content_type, expected
):
    data = WEBP if expected[0] == "sticker" else PNG
    response = upload(alice_client, name, data, content_type, **fields)
    assert response.status_code == 201, response.content
    answer = response.json()["data"]
    assert (answer["kind"], answer["mimeType"]) == expected


def test_a_document_over_the_global_body_limit_is_accepted_here(number, alice_client, meta_upload, settings):
    # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) holds for every other endpoint.
    pdf = PDF + b"\x00" * (3 * MIB)
    response = upload(alice_client, "big.pdf", pdf, "application/pdf")
    assert response.status_code == 201, response.content
    assert response.json()["data"]["size"] == len(pdf)


@pytest.mark.parametrize(
    ("name", "data", "content_type", "fields", "field", "says"),
    [
        ("anim.gif", b"GIF89a" + b"\x00" * 64, "image/gif", {}, "file", "does not take image/gif"),
        ("photo.png", PNG, "image/png", {"type": "document"}, "file", "A WhatsApp document must be"),
        ("big.png", PNG + b"\x00" * (5 * MIB), "image/png", {}, "file", "at most 5 MB"),
        ("clip.mp4", MP4 + b"\x00" * (16 * MIB), "video/mp4", {}, "file", "at most 16 MB"),
        ("fake.png", PDF, "image/png", {}, "file", "not image/png"),
        ("voice.ogg", b"OggS\x00\x02" + b"\x00" * 64, "audio/ogg", {}, "file", "not audio/ogg"),  # not Opus
        ("s.webp", WEBP + b"\x00" * (100 * KIB), "image/webp", {}, "file", "at most 100 KB"),
        ("a.webp", ANIMATED_WEBP + b"\x00" * (500 * KIB), "image/webp", {}, "file", "at most 500 KB"),
        ("empty.pdf", b"", "application/pdf", {}, "file", "empty"),
        ("photo.png", PNG, "image/png", {"type": "gif"}, "type", "Unknown media type"),
        ("photo.png", PNG, "image/png", {"type": "image\x00gif"}, "type", "Unknown media type"),
        ("photo.png", PNG, "image/png", {"caption": "hi"}, "caption", "Unknown field"),
        ("photo.png", PNG, "image/png", {"messagingProduct": "sms"}, "messagingProduct", "valid choice"),
    ],
)
def test_it_refuses_what_meta_would_refuse_before_any_upload(
    number, alice_client, meta, name, data, content_type, fields, field, says
):
    error = assert_error(upload(alice_client, name, data, content_type, **fields), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert says in str(error["details"][field]) or says in error["message"], error
    assert len(meta.calls) == 0


def test_an_animated_sticker_up_to_500_kb_is_taken(number, alice_client, meta_upload):
    response = upload(alice_client, "a.webp", ANIMATED_WEBP + b"\x00" * (300 * KIB), "image/webp")
    assert response.status_code == 201, response.content


def test_it_refuses_a_form_without_a_file_or_with_two(number, alice_client, meta):
    error = assert_error(
        alice_client.post(URL, {"type": "image"}, format="multipart"), 400, "VALIDATION_ERROR"
    )
    assert "file" in error["details"]
    two = [SimpleUploadedFile("a.png", PNG, "image/png"), SimpleUploadedFile("b.png", PNG, "image/png")]
    error = assert_error(alice_client.post(URL, {"file": two}, format="multipart"), 400, "VALIDATION_ERROR")
    assert "file" in error["details"]
    assert len(meta.calls) == 0


def test_a_body_larger_than_any_file_meta_takes_is_refused_unread(number, alice_client, meta, monkeypatch):
    from whatsapp.media import rules, views

    monkeypatch.setattr(rules, "MAX_BYTES", 10 * KIB)
    monkeypatch.setattr(views, "FORM_OVERHEAD", 0)
    assert_error(
        upload(alice_client, "big.pdf", PDF + b"\x00" * (20 * KIB), "application/pdf"),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert len(meta.calls) == 0


def test_a_json_body_is_refused(number, alice_client, meta):
    assert_error(alice_client.post(URL, {"file": "x"}, format="json"), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_it_uploads_for_the_number_named(alice, alice_client, meta):
    _, waba, _ = make_whatsapp_account(alice)
    make_number(waba, phone_id="320000000000002")
    meta.post(graph_url("320000000000002/media"), json={"id": MEDIA_ID})
    response = upload(alice_client, "p.png", PNG, "image/png", phoneNumberId="320000000000002")
    assert response.status_code == 201, response.content
    response = alice_client.post(
        f"{URL}?phoneNumberId=320000000000002",
        {"file": SimpleUploadedFile("p.png", PNG, "image/png")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert [c.request.url.split("?")[0] for c in meta.calls] == [graph_url("320000000000002/media")] * 2
    assert_error(upload(alice_client, "p.png", PNG, "image/png", phoneNumberId="999"), 404, "NOT_FOUND")


def test_metas_refusal_is_a_clear_error(number, alice_client, meta):
    meta.post(
        graph_url(f"{PHONE_ID}/media"),
        status=400,
        json=meta_error(131053, "(#131053) Media upload error", error_user_msg="Unsupported file type"),
    )
    error = assert_error(upload(alice_client, "p.png", PNG, "image/png"), 502, "META_API_ERROR")
    assert error["details"]["metaCode"] == 131053
    assert len(meta.calls) == 1


def test_meta_unavailable_is_a_503_and_the_upload_is_not_repeated(number, alice_client, meta):
    meta.post(
        graph_url(f"{PHONE_ID}/media"), status=500, json=meta_error(2, "Service temporarily unavailable")
    )
    assert_error(upload(alice_client, "p.png", PNG, "image/png"), 503, "META_UNAVAILABLE")
    assert len(meta.calls) == 1  # the file was read by that attempt: the client uploads again


def test_it_needs_the_messaging_permission(alice, alice_client, meta):
    make_whatsapp_account(alice, permissions=["whatsapp_business_management"])
    assert_error(upload(alice_client, "p.png", PNG, "image/png"), 403, "MISSING_META_PERMISSION")
    assert len(meta.calls) == 0
