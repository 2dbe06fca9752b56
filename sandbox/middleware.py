import sandbox

HEADER = "X-Botopia-Sandbox"


class SandboxMarkerMiddleware:
    """In sandbox mode every response of this process, the service's own included, carries
    `X-Botopia-Sandbox: true`, so no one mistakes sandbox data for production."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if sandbox.enabled():
            response[HEADER] = "true"
        return response
