"""Meta's answer shapes: the error body, ids, field selection."""

import secrets

from django.http import JsonResponse

from sandbox.middleware import HEADER


class MetaError(Exception):
    """Raised by a sandbox endpoint; answered as Meta's error body."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        type: str = "OAuthException",
        status: int = 400,
        user_title: str | None = None,
        user_msg: str | None = None,
    ):
        super().__init__(message)
        self.body = {"message": message, "type": type, "code": code}
        if subcode is not None:
            self.body["error_subcode"] = subcode
        if user_title:
            self.body["error_user_title"] = user_title
        if user_msg:
            self.body["error_user_msg"] = user_msg
        self.status = status


def answer(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response[HEADER] = "true"
    response["x-fb-trace-id"] = trace_id()
    # Meta reports how much of the app's budget is spent; the sandbox never throttles.
    response["X-App-Usage"] = '{"call_count":1,"total_cputime":1,"total_time":1}'
    return response


def error_answer(exc: MetaError) -> JsonResponse:
    return answer({"error": {**exc.body, "fbtrace_id": trace_id()}}, status=exc.status)


def trace_id() -> str:
    return "Sbx" + secrets.token_urlsafe(8)


def new_id() -> str:
    """A fresh Meta-style numeric id."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def no_object(node: str, method: str = "GET") -> MetaError:
    return MetaError(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        type="GraphMethodException",
    )


def unknown_path(path: str) -> MetaError:
    return MetaError(f"Unknown path components: /{path}", code=2500)


def field_names(fields: str) -> list[str]:
    """Top-level names of a `fields` expression: `a,b{c,d},e.f(g,h)` → [a, b, e]."""
    names, depth, current = [], 0, ""
    for char in fields:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += char
    names.append(current)
    out = []
    for name in names:
        for stop in ".{(":
            name = name.split(stop)[0]
        if name.strip():
            out.append(name.strip())
    return out


def pick(obj: dict, fields: str | None, default: tuple[str, ...] = ("id",)) -> dict:
    """Only the fields asked for (and the id), as Meta answers."""
    wanted = field_names(fields) if fields else list(default)
    return {name: obj[name] for name in ["id", *wanted] if name in obj}


def paged(items: list, *, limit: int, after: str | None, url: str) -> dict:
    """Meta's cursor paging over a list (cursors are offsets); `url` is the request's URL
    without its cursor, for `paging.next`."""
    start = int(after) if after and after.isdigit() else 0
    chunk = items[start : start + limit]
    body: dict = {"data": chunk}
    if items:
        end = start + len(chunk)
        body["paging"] = {"cursors": {"before": str(start), "after": str(end)}}
        if end < len(items):
            body["paging"]["next"] = f"{url}{'&' if '?' in url else '?'}after={end}"
    return body
