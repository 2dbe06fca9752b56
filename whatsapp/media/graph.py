"""Cloud API media calls, built on the shared transport."""

from typing import IO

from botopia_meta.graph import Download, GraphClient


def media_upload(
    client: GraphClient, phone_number_id: str, *, file: IO[bytes], filename: str, mime_type: str
) -> dict:
    """→ {"id"}. Not retried in-process: the file object is read by the first attempt (a
    second would send an empty file); the caller gets the error and may upload again."""
    return client.post(
        f"{phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime_type},
        files={"file": (filename, file, mime_type)},
        retries=0,
    ).json_object


def media_lookup(client: GraphClient, media_id: str) -> dict:
    """→ {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}. The URL lives
    about five minutes: download it at once. Not retried in-process: the actor retries."""
    return client.get(media_id, retries=0).json_object


def media_download(client: GraphClient, url: str, into: IO[bytes], *, max_bytes: int) -> Download:
    return client.download(url, into, max_bytes=max_bytes)
