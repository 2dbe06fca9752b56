from rest_framework.renderers import JSONRenderer

from botopia_meta import text
from botopia_meta.api.camel import camelize


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps every successful payload as {"success": true, "data": ...}, camelCased.

    Error payloads are already enveloped by the exception handler.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            payload = camelize(data)
        else:
            payload = {"success": True, "data": camelize(data)}
        try:
            return super().render(payload, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate stored before the input rule existed (botopia_meta.text):
            # answer it as U+FFFD rather than fail the whole page, for good.
            cleaned = text.clean(payload, max_depth=text.MAX_JSON_DEPTH * 4)
            return super().render(cleaned, accepted_media_type, renderer_context)
