from django.http import HttpRequest

from sandbox import enabled


def sandbox(request: HttpRequest) -> dict:
    """`meta_sandbox` for templates: admin shows a banner while Meta is simulated."""
    return {"meta_sandbox": enabled()}
