"""Actors of WhatsApp media: download an inbound message's media, re-queue lost downloads,
delete stored files past the retention."""

from django.conf import settings

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from whatsapp.media import services


def _download_gave_up(media_pk: str, *, exc: BaseException) -> None:
    services.media_give_up(media_pk=media_pk, exc=exc)


@actor(
    queue_name="whatsapp_media",
    max_retries=settings.WHATSAPP_MEDIA_DOWNLOAD_RETRIES,
    on_give_up=_download_gave_up,
    time_limit=10 * 60 * 1000,  # 100 MB from Meta's CDN
)
def download_media(media_pk: str) -> None:
    services.media_download(media_pk=media_pk)


@periodic(seconds=600)
@actor(queue_name="whatsapp_media", max_retries=0)
def sweep_media() -> None:
    for media_pk in services.media_sweep():
        download_media.send(media_pk)


@periodic(seconds=24 * 3600)
@actor(queue_name="whatsapp_media", time_limit=60 * 60 * 1000)
def prune_media() -> None:
    services.media_prune()
