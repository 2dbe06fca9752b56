"""Reads of stored WhatsApp media, always starting from the request's organization's accounts."""

from uuid import UUID

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NotFound
from orgs.models import Organization
from whatsapp.account.selectors import waba_owned_by
from whatsapp.models import WhatsAppMedia


def media_get(*, org: Organization, media_id: UUID | str) -> WhatsAppMedia:
    """The caller's media, any status; someone else's (or none) is the same 404."""
    pk = uuid_or_404(media_id, "media")
    media = WhatsAppMedia.objects.filter(waba_owned_by(org, via="phone_number__waba"), pk=pk).first()
    if media is None:
        raise NotFound("No such media.")
    return media
