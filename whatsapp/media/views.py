"""Media: upload a file to Meta (its id is what a send references); serve an inbound
message's stored media to its owner."""

import re
from pathlib import Path

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.camel import to_snake
from botopia_meta.api.views import AuthedRequest, validated
from botopia_meta.exceptions import NotFound, PayloadTooLarge, ValidationFailed
from botopia_meta.text import clean_text
from whatsapp.account.selectors import sending_number
from whatsapp.media import rules, selectors, services
from whatsapp.media.serializers import MediaUploadedSerializer, MediaUploadSerializer
from whatsapp.models import WhatsAppMedia

# The form around the file (boundaries, headers, the other fields) is far smaller than this.
FORM_OVERHEAD = 1024 * 1024
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "video/mp4", "video/3gpp"}
_MIME = re.compile(r"[\w.+-]{1,127}/[\w.+-]{1,127}")


class MediaUploadParser(MultiPartParser):
    """Multipart for this endpoint only (every other one takes JSON), bounded by the largest
    file Meta takes (a 100 MB document) plus the form: Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    does not count file parts, so this is the limit. Files past 2.5 MB spool to disk."""

    def parse(self, stream, media_type=None, parser_context=None):
        cap = rules.MAX_BYTES + FORM_OVERHEAD
        length = str((parser_context or {})["request"].META.get("CONTENT_LENGTH") or "0")
        if not length.isdigit() or int(length) > cap:
            raise PayloadTooLarge(f"The request body exceeds {cap} bytes.")
        return super().parse(stream, media_type, parser_context)


class MediaUploadView(APIView):
    parser_classes = [MediaUploadParser]

    @extend_schema(
        operation_id="whatsapp_media_upload",
        request={"multipart/form-data": MediaUploadSerializer},
        parameters=[
            OpenApiParameter(
                "phoneNumberId",
                str,
                required=False,
                description="The number to upload for (default: the first)",
            )
        ],
        responses={201: MediaUploadedSerializer},
        summary="Upload a file to Meta (checked against Meta's type and size limits first): its media id.",
    )
    def post(self, request: AuthedRequest) -> Response:
        # The number named in the query is checked before the body is read.
        phone_number_id = request.query_params.get("phone_number_id")
        number = sending_number(org=request.org, phone_number_id=phone_number_id)
        files = request.FILES.getlist("file")
        if len(files) > 1:
            raise ValidationFailed(
                "file: Upload one file at a time.", details={"file": ["Upload one file at a time."]}
            )
        form = {to_snake(key): clean_text(str(value)) for key, value in request.POST.items()}
        form.update({to_snake(key): value for key, value in request.FILES.items()})
        body = validated(MediaUploadSerializer, form)
        if body.get("phone_number_id") and body["phone_number_id"] != phone_number_id:
            number = sending_number(org=request.org, phone_number_id=body["phone_number_id"])
        upload = body["file"]
        kind = body.get("type")
        declared = clean_text(upload.content_type or "")
        if kind and "/" in kind:  # Meta's `type`: the mime type
            declared, kind = kind, None
        uploaded = services.media_upload(
            number=number,
            file=upload,
            filename=clean_text(upload.name or ""),
            declared_type=declared,
            size=upload.size or 0,
            kind=kind.strip().lower() if kind else None,
        )
        return Response(MediaUploadedSerializer(uploaded).data, status=201)


class AnyAccept(BaseContentNegotiation):
    """A file is answered whatever the client's Accept says (an <img> asks for image/*);
    errors still go out as the JSON envelope."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class MediaFileView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="whatsapp_media_get",
        responses={
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, with its own type")
        },
        summary="An inbound message's media file, to its owner only (404 while not stored).",
    )
    def get(self, request: AuthedRequest, media_id: str) -> FileResponse:
        media = selectors.media_get(org=request.org, media_id=media_id)
        if media.status != WhatsAppMedia.Status.STORED or not media.file.name:
            raise NotFound(f"The media is not stored ({media.status}).", details={"status": media.status})
        try:
            handle = media.file.storage.open(media.file.name, "rb")
        except FileNotFoundError:
            raise NotFound("The media file is no longer stored.", details={"status": media.status}) from None
        mime_type = media.mime_type if _MIME.fullmatch(media.mime_type or "") else "application/octet-stream"
        response = FileResponse(
            handle,
            content_type=mime_type,
            as_attachment=not (mime_type in INLINE_TYPES or mime_type.startswith("audio/")),
            filename=_filename(media, mime_type),
        )
        if media.size is not None:
            response["Content-Length"] = str(media.size)
        response["X-Content-Type-Options"] = "nosniff"
        # Opened directly, the file runs nothing and loads nothing, whatever it contains.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, max-age=3600"
        return response


def _filename(media: WhatsAppMedia, mime_type: str) -> str:
    """The sender's name as the stem only: the suffix is always the one of the type we serve,
    so a file saved from an attachment never becomes `x.html` or `x.exe`."""
    suffix = rules.SUFFIXES.get(mime_type, "")
    stem = Path(media.filename).stem if media.filename else ""
    given = re.sub(r"[^\w.\- ]+", "_", stem).strip(" ._")[:120]
    return f"{given or f'whatsapp-{media.kind}-{media.pk}'}{suffix}"
