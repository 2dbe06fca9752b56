from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from botopia_meta.api.errors import error_response
from webhooks import receiver
from webhooks.services import WEBHOOK_PATH


class DeliveryMiddleware:
    """Meta's deliveries (POST /api/meta/webhook/events), the busiest request of the service,
    go straight to the receiver after SecurityMiddleware (HTTPS redirect, HSTS, nosniff) and
    the host check: nothing after them applies to a signed server-to-server POST (sessions,
    CORS, CSRF — the view is exempt —, users, messages, frame options, query renaming) and
    they cost ~15 % of its CPU. Everything else, the handshake (GET) included, takes the
    whole stack."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == WEBHOOK_PATH:
            try:
                request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
            except DisallowedHost:
                return error_response(400, "BAD_REQUEST", "Bad Request")
            return receiver.webhook_events(request)
        return self.get_response(request)
