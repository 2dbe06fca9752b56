from http import HTTPStatus

from django.http import HttpRequest, QueryDict

from botopia_meta.api.camel import to_snake
from botopia_meta.api.errors import error_response
from botopia_meta.text import clean_text

# Codes for errors produced outside DRF (URL resolution, Django's own 400/403/413, a crash).
_CODES = {
    400: "BAD_REQUEST",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    500: "INTERNAL_ERROR",
}


class ApiMiddleware:
    """For /api/ paths: camelCase query parameters arrive as snake_case (`startDate` →
    `start_date`), and any error response that is not already JSON (Django's debug pages,
    its 400/403/413 pages, a crash outside DRF) is replaced by the error envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        query = request.META.get("QUERY_STRING", "")
        # Query values go through the one text rule (botopia_meta.text) like bodies do: a NUL
        # would reach a filter and fail it on PostgreSQL. (Django already decodes the query
        # string with replacement, so no lone surrogate comes from it.)
        dirty = "%00" in query or "\x00" in query
        if dirty or any(c.isupper() for c in query):
            converted = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                if dirty:
                    key, values = clean_text(key), [clean_text(value) for value in values]
                converted.setlist(to_snake(key), values)
            converted._mutable = False
            request.GET = converted  # type: ignore[assignment]  # frozen above; the stubs can't tell
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            ("application/json", "text/plain")
        ):
            status = response.status_code
            message = "Something went wrong on our side." if status >= 500 else HTTPStatus(status).phrase
            replacement = error_response(
                status, _CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "ERROR"), message
            )
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
