from django.http import HttpRequest, QueryDict

from botopia_meta.api.camel import to_snake


class ApiQueryParamsMiddleware:
    """Query parameters under /api/ arrive camelCase (`startDate`); views read snake_case."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path.startswith("/api/") and any(
            c.isupper() for c in request.META.get("QUERY_STRING", "")
        ):
            converted = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                converted.setlist(to_snake(key), values)
            converted._mutable = False
            request.GET = converted
        return self.get_response(request)
