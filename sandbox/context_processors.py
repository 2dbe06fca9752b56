from django.conf import settings
from django.http import HttpRequest


def sandbox(request: HttpRequest) -> dict:
    """`meta_sandbox` for templates: admin shows a banner while Meta is simulated."""
    return {"meta_sandbox": settings.META_SANDBOX}
