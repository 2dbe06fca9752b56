"""What a sandbox endpoint receives: the request's parameters (query, form and JSON body
merged, as Meta reads them) and the caller's token."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest

from sandbox.models import Token

_SECRET_PARAMS = ("access_token", "appsecret_proof", "client_secret", "fb_exchange_token", "input_token")


@dataclass
class Ctx:
    request: HttpRequest
    data: dict[str, Any]
    path: str  # without the version: "me/accounts"
    token: Token | None = None  # None with the app token
    app_token: bool = False

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def limit(self, default: int = 25) -> int:
        value = str(self.get("limit", default))
        return max(1, min(int(value), 500)) if value.isdigit() else default

    def url_without_cursor(self) -> str:
        """This call's URL for `paging.next`, without tokens (they never leave in our answers)."""
        query = urlencode(
            [(k, v) for k, v in self.request.GET.items() if k not in (*_SECRET_PARAMS, "after", "before")]
        )
        base = self.request.build_absolute_uri(self.request.path)
        return f"{base}?{query}" if query else base
