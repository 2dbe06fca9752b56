import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from botopia_meta.api.camel import underscoreize
from botopia_meta.exceptions import PayloadTooLarge


class CamelCaseJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return underscoreize(super().parse(stream, media_type, parser_context))


class LargeJSONParser(BaseParser):
    """JSON for the few endpoints whose bodies are legitimately big (a 100,000-recipient
    broadcast is ~7 MB): bounded by LARGE_BODY_MAX_BYTES instead of Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE. Not a JSONParser subclass on purpose: DRF reads those through
    `request.body`, which enforces the global limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        cap = settings.LARGE_BODY_MAX_BYTES
        request = parser_context["request"]
        if int(request.META.get("CONTENT_LENGTH") or 0) > cap:
            raise PayloadTooLarge(f"The request body exceeds {cap} bytes.")
        raw = stream.read(cap + 1) if stream is not None else b""
        if len(raw) > cap:
            raise PayloadTooLarge(f"The request body exceeds {cap} bytes.")
        try:
            return underscoreize(json.loads(raw))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
