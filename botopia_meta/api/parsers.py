import json
import logging

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from botopia_meta import text
from botopia_meta.api.camel import underscoreize
from botopia_meta.exceptions import PayloadTooLarge

logger = logging.getLogger(__name__)


def _refuse_too_deep(exc: text.TooDeep) -> ParseError:
    # An attack or a broken client, not our bug: one line, no traceback.
    logger.warning("Malformed JSON refused: %s", exc)
    return ParseError(f"JSON parse error - {exc}")


def _cleaned(data):
    """Every body the API accepts goes through the one text rule (botopia_meta.text) and its
    depth limit before anything reads it."""
    try:
        return underscoreize(text.clean(data))
    except text.TooDeep as exc:
        raise _refuse_too_deep(exc) from None


class CamelCaseJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _refuse_too_deep(text.TooDeep("JSON nested too deeply.")) from None
        return _cleaned(data)


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
            data = json.loads(raw)
        except RecursionError:
            raise _refuse_too_deep(text.TooDeep("JSON nested too deeply.")) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return _cleaned(data)
