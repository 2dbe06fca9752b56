"""Inbound media, from Meta's webhook to the owner's screen: the webhook goes through the real
receiver and worker; the download actor looks the media up at Meta, fetches it from Meta's
host with the token as a Bearer header, checks its sha256 and stores it; the owner (only)
gets it at the URL the message's content carries. Meta is faked at the HTTP boundary."""

import base64
import hashlib
import logging
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from tests.conftest import graph_url, load_payload, meta_error
from tests.factories import make_whatsapp_account
from tests.test_api_conventions import assert_error
from tests.webhooks.conftest import deliver
from whatsapp.media import services
from whatsapp.models import Message, WhatsAppMedia

MEDIA_ID = "1244556677889900"  # the fixture's
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
CDN = "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
CDN_URL = f"{CDN}?mid={MEDIA_ID}&ext=1764329010&hash=ATtHbLz3k"


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice)[2]


def lookup_body(data: bytes = JPEG, **overrides) -> dict:
    """Meta's answer to GET /{media-id}."""
    return {
        "messaging_product": "whatsapp",
        "url": CDN_URL,
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_size": len(data),
        "id": MEDIA_ID,
        **overrides,
    }


def inbound(kind: str = "image", media: dict | None = None, wamid: str = "") -> dict:
    payload = load_payload("messages__image")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    body = {
        **({"caption": message["image"]["caption"]} if kind == "image" else {}),
        "mime_type": "image/jpeg",
        "sha256": base64.b64encode(hashlib.sha256(JPEG).digest()).decode(),  # webhooks: base64
        "id": MEDIA_ID,
        **(media or {}),
    }
    message.pop("image")
    message.update({"type": kind, kind: body})
    if wamid:
        message["id"] = wamid
    return payload


def receive(worker, payload: dict | None = None) -> Message:
    deliver(Client(), payload or inbound())
    worker.drain()
    return Message.objects.get(direction="inbound")


def test_it_downloads_checks_and_stores_an_inbound_image_and_serves_it_to_its_owner(
    worker, number, meta, alice_client
):
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    message = receive(worker)

    media = WhatsAppMedia.objects.get()
    url = f"/api/meta/whatsapp/media/{media.pk}"
    assert message.content["media"] == {
        "url": url,
        "mimeType": "image/jpeg",
        "size": len(JPEG),
        "status": "stored",
    }
    assert message.content["caption"] == "Este modelo"  # Meta's own fields stay
    lookup, download = meta.calls
    assert lookup.request.url.startswith(graph_url(MEDIA_ID) + "?")
    assert download.request.url == CDN_URL
    assert download.request.headers["Authorization"] == "Bearer EAAG-alice-token-0123456789"
    assert "access_token" not in download.request.url

    response = alice_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(JPEG))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="whatsapp-image-{media.pk}.jpg"'

    listed = alice_client.get("/api/meta/whatsapp/messages").json()["data"]["messages"][0]
    assert listed["content"]["media"]["url"] == url


def test_a_voice_note_is_stored_as_audio(worker, number, meta, alice_client):
    ogg = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead" + b"\x01" * 200
    meta.get(graph_url(MEDIA_ID), json=lookup_body(ogg, mime_type="audio/ogg; codecs=opus"))
    meta.get(CDN, body=ogg, content_type="audio/ogg")
    sha = base64.b64encode(hashlib.sha256(ogg).digest()).decode()

    message = receive(
        worker, inbound("audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": sha, "voice": True})
    )

    assert message.content["voice"] is True
    assert (
        message.content["media"]["status"] == "stored" and message.content["media"]["mimeType"] == "audio/ogg"
    )
    response = alice_client.get(message.content["media"]["url"])
    assert b"".join(response.streaming_content) == ogg and response["Content-Type"] == "audio/ogg"


def test_a_document_keeps_a_safe_version_of_its_name_and_is_an_attachment(worker, number, meta, alice_client):
    pdf = b"%PDF-1.7\n" + b"x" * 100
    meta.get(graph_url(MEDIA_ID), json=lookup_body(pdf, mime_type="application/pdf"))
    meta.get(CDN, body=pdf, content_type="application/pdf")
    sha = hashlib.sha256(pdf).hexdigest()
    name = '../../etc/passwd"\r\nSet-Cookie: x=1.pdf'

    message = receive(
        worker, inbound("document", {"mime_type": "application/pdf", "sha256": sha, "filename": name})
    )

    response = alice_client.get(message.content["media"]["url"])
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert (
        disposition.startswith("attachment; filename=") and "\r" not in disposition and "/" not in disposition
    )
    assert '"' not in disposition.removeprefix('attachment; filename="').removesuffix('"')
    assert "Set-Cookie" not in response


def test_a_sha256_mismatch_is_recorded_as_failed_and_nothing_is_served(worker, number, meta, alice_client):
    meta.get(graph_url(MEDIA_ID), json=lookup_body(sha256=hashlib.sha256(b"other").hexdigest()))
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    message = receive(worker, inbound(media={"sha256": ""}))

    media = message.content["media"]
    assert media["status"] == "failed" and "sha256" in media["error"]
    row = WhatsAppMedia.objects.get()
    assert not row.file.name and row.attempts == 1  # not retried: the same bytes would come back
    error = assert_error(alice_client.get(media["url"]), 404, "NOT_FOUND")
    assert error["details"]["status"] == "failed"


def test_a_mismatch_with_the_webhooks_base64_sha256_fails_too(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body(sha256=None))
    meta.get(CDN, body=JPEG, content_type="image/jpeg")
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    message = receive(worker, inbound(media={"sha256": wrong}))

    assert message.content["media"]["status"] == "failed"


def test_media_meta_no_longer_has_is_recorded_as_expired_not_retried(worker, number, meta, alice_client):
    meta.get(
        graph_url(MEDIA_ID),
        status=400,
        json=meta_error(100, "Unsupported get request. Object with ID does not exist", subcode=33),
    )

    message = receive(worker)

    media = message.content["media"]
    assert media["status"] == "expired" and media["error"]
    assert len(meta.calls) == 1
    assert_error(alice_client.get(media["url"]), 404, "NOT_FOUND")


def test_a_download_url_that_answers_404_is_expired(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, status=404, body=b"Not Found")

    message = receive(worker)

    assert message.content["media"]["status"] == "expired"
    assert len(meta.calls) == 2


def test_a_transient_failure_is_retried_then_stored(worker, number, meta):
    lookup = meta.get(graph_url(MEDIA_ID), status=500, json=meta_error(2, "Service temporarily unavailable"))
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    download = meta.get(CDN, status=503, body=b"")
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    message = receive(worker)

    assert message.content["media"]["status"] == "stored"
    assert lookup.call_count == 1 and download.call_count == 1  # each failed once, then worked
    assert WhatsAppMedia.objects.get().attempts == 3


def test_a_timeout_from_metas_cdn_is_retried(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=requests.exceptions.ReadTimeout("read timed out"))
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    message = receive(worker)

    assert message.content["media"]["status"] == "stored"
    # Each attempt looks the media up again: Meta's URL lives minutes.
    hosts = [c.request.url.split("/")[2] for c in meta.calls]
    assert hosts == ["graph.facebook.com", "lookaside.fbsbx.com"] * 2


def test_retries_are_bounded_then_the_media_is_failed(worker, number, meta, settings):
    settings.META_GRAPH_CIRCUIT_FAILURES = 100  # every attempt reaches "Meta"
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    cdn = meta.get(CDN, status=502, body=b"Bad Gateway")

    message = receive(worker)

    media = message.content["media"]
    assert media["status"] == "failed" and "after retries" in media["error"]
    assert cdn.call_count == settings.WHATSAPP_MEDIA_DOWNLOAD_RETRIES + 1


def test_the_token_never_goes_to_a_host_that_is_not_metas(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body(url="https://attacker.example/steal?mid=1"))

    message = receive(worker)

    assert message.content["media"]["status"] == "failed"
    assert "not one of Meta's media hosts" in message.content["media"]["error"]
    assert [c.request.url.split("?")[0] for c in meta.calls] == [graph_url(MEDIA_ID)]


def test_a_redirect_is_followed_only_to_metas_hosts(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    message = receive(worker)

    assert message.content["media"]["status"] == "failed"
    assert len(meta.calls) == 2


def test_a_file_larger_than_the_limit_is_not_stored(worker, number, meta, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 1000
    meta.get(graph_url(MEDIA_ID), json=lookup_body(file_size=None))  # Meta did not say
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    message = receive(worker)

    assert message.content["media"]["status"] == "failed" and "1000" in message.content["media"]["error"]
    assert not WhatsAppMedia.objects.get().file.name


def test_a_redelivered_webhook_downloads_once(worker, number, meta):
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=JPEG, content_type="image/jpeg")
    receive(worker)
    receive(worker)
    assert WhatsAppMedia.objects.count() == 1
    assert len(meta.calls) == 2


def test_a_download_whose_job_was_lost_is_queued_again_by_the_sweep(worker, number, meta):
    from whatsapp.media.actors import sweep_media

    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=JPEG, content_type="image/jpeg")
    # A pending download whose job the broker lost an hour ago (flushed, or down at commit).
    message = Message.objects.create(
        direction="inbound", phone_number=number, contact_wa_id="5215512345678", type="image",
        content={"id": MEDIA_ID, "mime_type": "image/jpeg"}, wamid="wamid.lost", status="received",
    )  # fmt: skip
    WhatsAppMedia.objects.create(
        phone_number=number, message=message, media_id=MEDIA_ID, kind="image",
        enqueued_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip

    sweep_media.send()
    worker.drain()

    message.refresh_from_db()
    assert message.content["media"]["status"] == "stored"


def test_a_disconnected_account_fails_its_pending_downloads(worker, number, meta):
    number.waba.account.status = "expired"
    number.waba.account.save()
    message = Message.objects.create(
        direction="inbound", phone_number=number, contact_wa_id="5215512345678", type="image",
        content={"id": MEDIA_ID}, wamid="wamid.x", status="received",
    )  # fmt: skip
    media = services.media_track_inbound(message=message)
    worker.drain()
    media.refresh_from_db()
    assert media.status == "failed" and "reconnect" in media.error
    assert len(meta.calls) == 0


# --- serving -----------------------------------------------------------------------------


@pytest.fixture
def stored(worker, number, meta) -> Message:
    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=JPEG, content_type="image/jpeg")
    return receive(worker)


def test_only_the_owner_gets_the_file(stored, alice_client, bob_client, bob, anon_client):
    url = stored.content["media"]["url"]
    make_whatsapp_account(bob, waba_id="310000000000009", phone_id="320000000000009")
    assert alice_client.get(url).status_code == 200
    assert_error(bob_client.get(url), 404, "NOT_FOUND")
    assert anon_client.get(url).status_code == 401
    assert_error(
        alice_client.get("/api/meta/whatsapp/media/6f1c2c1e-0000-4000-8000-000000000000"), 404, "NOT_FOUND"
    )
    assert_error(alice_client.get("/api/meta/whatsapp/media/not-a-uuid"), 404, "NOT_FOUND")


def test_it_serves_the_file_whatever_the_client_accepts(stored, alice_client):
    response = alice_client.get(stored.content["media"]["url"], HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_a_type_a_browser_would_run_is_never_served_inline(stored, alice_client):
    WhatsAppMedia.objects.update(mime_type="text/html")
    response = alice_client.get(stored.content["media"]["url"])
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_file_missing_from_storage_is_a_404(stored, alice_client):
    media = WhatsAppMedia.objects.get()
    media.file.storage.delete(media.file.name)
    assert_error(alice_client.get(stored.content["media"]["url"]), 404, "NOT_FOUND")


# --- retention ---------------------------------------------------------------------------


def test_retention_removes_old_files_and_marks_them_expired(
    worker, number, meta, alice_client, caplog, settings
):
    from whatsapp.media.actors import prune_media

    meta.get(graph_url(MEDIA_ID), json=lookup_body())
    meta.get(CDN, body=JPEG, content_type="image/jpeg")
    old = receive(worker)
    deliver(Client(), inbound(wamid="wamid.recent"))
    worker.drain()
    recent = Message.objects.get(wamid="wamid.recent")
    old_media = WhatsAppMedia.objects.get(message=old)
    WhatsAppMedia.objects.filter(pk=old_media.pk).update(stored_at=timezone.now() - timedelta(days=91))
    storage, name = old_media.file.storage, old_media.file.name
    assert storage.exists(name)

    with caplog.at_level(logging.INFO, logger="whatsapp.media.services"):
        prune_media.send()
        worker.drain()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.content["media"]["status"] == "expired" and "90 days" in old.content["media"]["error"]
    assert not storage.exists(name)
    assert recent.content["media"]["status"] == "stored"
    assert alice_client.get(recent.content["media"]["url"]).status_code == 200
    assert_error(alice_client.get(old.content["media"]["url"]), 404, "NOT_FOUND")
    assert any("removed 1 file(s) older than 90 days" in r.getMessage() for r in caplog.records)
    settings.WHATSAPP_MEDIA_RETENTION_DAYS = 0
    assert services.media_prune() == 1  # the recent one now


@pytest.mark.parametrize(
    ("expected", "matches"),
    [
        (hashlib.sha256(JPEG).hexdigest(), True),
        (hashlib.sha256(JPEG).hexdigest().upper(), True),
        (base64.b64encode(hashlib.sha256(JPEG).digest()).decode(), True),
        (base64.urlsafe_b64encode(hashlib.sha256(JPEG).digest()).decode().rstrip("="), True),
        (hashlib.sha256(b"x").hexdigest(), False),
        ("not base64 at all!", False),
        ("ñandú", False),
    ],
)
def test_metas_checksum_is_read_in_hex_or_base64(expected, matches):
    assert services._digest_matches(expected, hashlib.sha256(JPEG).hexdigest()) is matches
