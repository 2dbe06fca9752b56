"""WhatsApp media against the sandbox, offline, through HTTP: an upload answers a media id; a
customer on a number ending in 7 sometimes replies with a photo or a voice note, which the
product looks up, downloads (the sandbox serves real files with their real sha256), checks
and serves to its owner. Nothing is mocked."""

import hashlib
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sandbox import events, media
from tests.sandbox.conftest import connect
from tests.sandbox.test_flows import configure_webhooks, send
from whatsapp.media import services as media_services
from whatsapp.models import Message, WhatsAppPhoneNumber

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def connected(alice, alice_client, worker):
    connect(alice_client, worker)
    configure_webhooks(alice_client)
    alice_client.post("/api/meta/whatsapp/templates/sync", format="json")
    worker.drain()
    return alice_client


def test_an_upload_works_offline(connected):
    file = SimpleUploadedFile("logo.png", media.IMAGE.data, content_type="image/png")
    response = connected.post("/api/meta/whatsapp/media", {"file": file}, format="multipart")
    assert response.status_code == 201, response.content
    answer = response.json()["data"]
    assert answer["id"].isdigit() and answer["kind"] == "image" and answer["size"] == len(media.IMAGE.data)


@pytest.mark.parametrize("asset", [media.IMAGE, media.VOICE], ids=["image", "voice note"])
def test_a_customer_replies_with_media_that_downloads_offline(connected, worker, monkeypatch, asset):
    monkeypatch.setattr(events, "reply_media", lambda: asset)
    send(connected, "+1 555 123 4567")
    worker.drain()

    reply = Message.objects.get(direction="inbound")
    assert reply.type == asset.kind
    stored = reply.content["media"]
    assert stored["status"] == "stored", stored
    assert (stored["mimeType"], stored["size"]) == (asset.mime_type, len(asset.data))
    response = connected.get(stored["url"])
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == asset.sha256
    if asset is media.VOICE:
        assert reply.content["voice"] is True and data.startswith(b"OggS") and b"OpusHead" in data
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_replies_are_sometimes_an_image_or_a_voice_note():
    assert {events.reply_media() for _ in range(300)} == {None, media.IMAGE, media.VOICE}


def test_the_sandbox_download_needs_the_token(connected, sandbox):
    import requests

    url = f"{sandbox.url}/sandbox/graph/{media.DOWNLOAD_PATH}?mid={media.IMAGE.media_id}"
    assert requests.get(url, timeout=5).json()["error"]["code"] == 104


def test_a_large_document_goes_to_meta_streamed_from_disk_never_whole_in_memory(connected, tmp_path):
    """A 40 MB document (WhatsApp takes up to 100 MB) reaches Meta read from its stored file
    while it is sent: requests' own form encoding read the file whole and built the body
    beside it, twice its size in memory for each upload in flight."""
    path = tmp_path / "catalogue.pdf"
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        for _ in range(40):
            out.write(b"\x01" * 1024 * 1024)
    number = WhatsAppPhoneNumber.objects.order_by("pk").first()

    with path.open("rb") as file:
        tracemalloc.start()
        try:
            uploaded = media_services.media_upload(
                number=number, file=file, filename="catalogue.pdf", declared_type="application/pdf",
                size=path.stat().st_size,
            )  # fmt: skip
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert uploaded.id.isdigit() and uploaded.kind == "document"  # Meta (the sandbox) took it whole
    assert peak < 4 * 1024 * 1024, (
        f"{peak / 2**20:.1f} MiB held for a {path.stat().st_size / 2**20:.0f} MiB upload"
    )
