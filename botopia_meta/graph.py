"""The one place that talks to Meta's Graph API over HTTP.

Every platform app's `graph.py` builds on `GraphClient`. It owns: base URL and version from
settings, a pooled session, timeouts, `appsecret_proof`, bounded retries with jittered
exponential backoff for transient failures only, Meta's usage headers, a circuit breaker per
target, and typed errors. Tokens, proofs and query strings are never logged.
"""

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import django.dispatch
import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter

logger = logging.getLogger("botopia_meta.graph")

_sleep = time.sleep  # patched in tests

_session = requests.Session()
_session.mount("https://", HTTPAdapter(pool_connections=20, pool_maxsize=50))
_session.mount("http://", HTTPAdapter(pool_connections=20, pool_maxsize=50))

# Sent when Meta answers 190/102 (token invalid, expired, revoked): accounts marks the owner.
token_invalid = django.dispatch.Signal()

RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 130429, 131056, *range(80001, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({190, 102})


class GraphError(Exception):
    permanent = True

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        type: str | None = None,
        http_status: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        error_data: Any = None,
        retry_after: float | None = None,
        sent: bool = True,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.type = type
        self.http_status = http_status
        self.user_title = user_title
        self.user_msg = user_msg
        self.error_data = error_data
        self.retry_after = retry_after
        self.sent = sent

    def __str__(self) -> str:
        return f"{self.message} (code={self.code}, subcode={self.subcode}, fbtrace_id={self.fbtrace_id})"


class GraphTokenExpired(GraphError):
    pass


class GraphPermissionError(GraphError):
    pass


class GraphInvalidParameter(GraphError):
    pass


class GraphRateLimited(GraphError):
    permanent = False


class GraphUnavailable(GraphError):
    permanent = False


class GraphTimeout(GraphUnavailable):
    pass


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, GraphError) and not exc.permanent


@dataclass(frozen=True)
class GraphResponse:
    data: Any
    status: int
    app_usage: dict | None = None
    business_usage: dict | None = None


def app_access_token() -> str:
    return f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"


def appsecret_proof(token: str, secret: str | None = None) -> str:
    key = (secret or settings.META_APP_SECRET).encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _error_class(code: int | None, http_status: int) -> type[GraphError]:
    if code in TOKEN_CODES:
        return GraphTokenExpired
    if code == 10 or (code is not None and 200 <= code <= 299):
        return GraphPermissionError
    if code in RATE_LIMIT_CODES:
        return GraphRateLimited
    if code in TRANSIENT_CODES:
        return GraphUnavailable
    if code == 100:
        return GraphInvalidParameter
    if code is None and http_status >= 500:
        return GraphUnavailable
    return GraphError


def _parse_json_header(value: str | None) -> dict | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _usage_pressure(app_usage: dict | None, business_usage: dict | None) -> tuple[float, float]:
    """(highest percent used, minutes until access returns) across Meta's usage headers."""
    percents: list[float] = []
    regain_minutes = 0.0
    for block in [app_usage or {}] + [
        item for items in (business_usage or {}).values() if isinstance(items, list) for item in items
    ]:
        if not isinstance(block, dict):
            continue
        for name in ("call_count", "total_cputime", "total_time"):
            value = block.get(name)
            if isinstance(value, int | float):
                percents.append(float(value))
        regain = block.get("estimated_time_to_regain_access")
        if isinstance(regain, int | float):
            regain_minutes = max(regain_minutes, float(regain))
    return max(percents, default=0.0), regain_minutes


class _Circuit:
    """Per-target breaker in the shared cache, so every process stops calling together."""

    def __init__(self, target: str):
        self.open_key = f"graph:circuit:{target}:open_until"
        self.fail_key = f"graph:circuit:{target}:failures"

    def remaining(self) -> float:
        until = cache.get(self.open_key)
        return max(0.0, until - time.time()) if until else 0.0

    def open(self, seconds: float) -> None:
        cache.set(self.open_key, time.time() + seconds, timeout=int(seconds) + 1)

    def failure(self) -> None:
        cache.add(self.fail_key, 0, timeout=settings.META_GRAPH_CIRCUIT_SECONDS * 4)
        try:
            failures = cache.incr(self.fail_key)
        except ValueError:
            failures = 1
        if failures >= settings.META_GRAPH_CIRCUIT_FAILURES:
            self.open(settings.META_GRAPH_CIRCUIT_SECONDS)
            cache.delete(self.fail_key)

    def success(self) -> None:
        cache.delete(self.fail_key)


class GraphClient:
    def __init__(
        self,
        access_token: str | None = None,
        *,
        target: str = "app",
        owner: object = None,
        app_token: bool = False,
    ):
        self.app_token = app_token or access_token is None
        self.access_token = app_access_token() if self.app_token else access_token
        self.target = target
        self.owner = owner
        self.circuit = _Circuit(target)

    # --- public calls -------------------------------------------------------------------

    def get(self, path: str, params: dict | None = None, *, retries: int | None = None) -> GraphResponse:
        return self._request("GET", path, params=params, retries=retries)

    def post(
        self,
        path: str,
        data: dict | None = None,
        *,
        json: dict | None = None,
        params: dict | None = None,
        files=None,
        retries: int | None = None,
        idempotent: bool = True,
    ) -> GraphResponse:
        return self._request(
            "POST",
            path,
            params=params,
            data=data,
            json_body=json,
            files=files,
            retries=retries,
            idempotent=idempotent,
        )

    def delete(self, path: str, params: dict | None = None, *, retries: int | None = None) -> GraphResponse:
        return self._request("DELETE", path, params=params, retries=retries)

    def page(self, path: str, params: dict | None = None) -> tuple[list[dict], dict]:
        """One page of a cursor-paged edge: (items, {"before": ..., "after": ...})."""
        data = self.get(path, params).data
        cursors = (data.get("paging") or {}).get("cursors") or {}
        return list(data.get("data") or []), {"before": cursors.get("before"), "after": cursors.get("after")}

    def iter_items(self, path: str, params: dict | None = None, *, max_pages: int = 1000) -> Iterator[dict]:
        """Every item of a cursor-paged edge. We follow `paging.cursors.after` on the same path
        rather than the `paging.next` URL, which embeds the token and could point anywhere."""
        params = dict(params or {})
        for _ in range(max_pages):
            data = self.get(path, params).data
            yield from data.get("data") or []
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            params["after"] = after

    # --- internals ----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{settings.META_GRAPH_URL}/{settings.META_GRAPH_VERSION}/{path.lstrip('/')}"

    def _auth(self) -> dict[str, str]:
        auth = {"access_token": self.access_token}
        if not self.app_token:
            auth["appsecret_proof"] = appsecret_proof(self.access_token)
        return auth

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        json_body: dict | None = None,
        files=None,
        retries: int | None = None,
        idempotent: bool = True,
    ) -> GraphResponse:
        max_retries = settings.META_GRAPH_MAX_RETRIES if retries is None else retries
        path = path.lstrip("/")
        attempt = 0
        while True:
            try:
                return self._attempt(method, path, params, data, json_body, files, attempt, idempotent)
            except GraphError as exc:
                if exc.permanent or attempt >= max_retries:
                    raise
                if isinstance(exc, GraphTimeout) and exc.sent and not idempotent:
                    raise
                delay = self._backoff(attempt, exc)
                if delay is None:
                    raise
                logger.info(
                    "Graph %s /%s retry %d in %.2fs (code=%s)", method, path, attempt + 1, delay, exc.code
                )
                _sleep(delay)
                attempt += 1

    def _backoff(self, attempt: int, exc: GraphError) -> float | None:
        cap = settings.META_GRAPH_BACKOFF_MAX
        if exc.retry_after is not None and exc.retry_after > cap:
            return None  # too long to wait here: the caller (an actor) retries later
        delay = min(cap, settings.META_GRAPH_BACKOFF_BASE * 2**attempt) * random.random()
        return max(delay, exc.retry_after or 0.0)

    def _attempt(self, method, path, params, data, json_body, files, attempt, idempotent) -> GraphResponse:
        remaining = self.circuit.remaining()
        if remaining:
            raise GraphRateLimited(
                f"Calls to {self.target} are paused for {remaining:.0f}s "
                "after Meta's throttling or repeated failures.",
                retry_after=remaining,
                sent=False,
            )
        query = dict(params or {})
        body = dict(data) if data is not None else None
        if method == "POST" and json_body is None:
            body = {**(body or {}), **self._auth()}
        else:
            query.update(self._auth())
        timeout = (settings.META_GRAPH_CONNECT_TIMEOUT, settings.META_GRAPH_READ_TIMEOUT)
        try:
            response = _session.request(
                method, self._url(path), params=query, data=body, json=json_body, files=files, timeout=timeout
            )
        except requests.exceptions.ConnectTimeout:
            self.circuit.failure()
            logger.warning("Graph %s /%s connect timeout (attempt %d)", method, path, attempt + 1)
            raise GraphTimeout("Timed out connecting to Meta.", sent=False) from None
        except requests.exceptions.Timeout:
            self.circuit.failure()
            logger.warning("Graph %s /%s read timeout (attempt %d)", method, path, attempt + 1)
            raise GraphTimeout(
                "Meta did not answer in time; the request may have been applied.", sent=True
            ) from None
        except requests.exceptions.ConnectionError:
            self.circuit.failure()
            logger.warning("Graph %s /%s connection error (attempt %d)", method, path, attempt + 1)
            raise GraphUnavailable("Could not connect to Meta.", sent=False) from None
        return self._handle(method, path, response, attempt)

    def _handle(self, method: str, path: str, response: requests.Response, attempt: int) -> GraphResponse:
        app_usage = _parse_json_header(response.headers.get("X-App-Usage"))
        business_usage = _parse_json_header(response.headers.get("X-Business-Use-Case-Usage"))
        self._respect_usage(app_usage, business_usage)
        try:
            payload = response.json()
        except ValueError:
            payload = None

        if (
            response.status_code < 400
            and payload is not None
            and not (isinstance(payload, dict) and "error" in payload)
        ):
            self.circuit.success()
            logger.debug("Graph %s /%s -> %s", method, path, response.status_code)
            return GraphResponse(payload, response.status_code, app_usage, business_usage)

        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            cls = GraphUnavailable if response.status_code >= 500 else GraphError
            exc = cls(
                f"Meta answered HTTP {response.status_code} with a body that is not Graph JSON.",
                http_status=response.status_code,
            )
        else:
            code = error.get("code") if isinstance(error.get("code"), int) else None
            subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
            cls = _error_class(code, response.status_code)
            retry_after = None
            if cls is GraphRateLimited:
                _, regain = _usage_pressure(app_usage, business_usage)
                retry_after = regain * 60 if regain else None
            exc = cls(
                str(error.get("message") or "Meta returned an error."),
                code=code,
                subcode=subcode,
                fbtrace_id=error.get("fbtrace_id"),
                type=error.get("type"),
                http_status=response.status_code,
                user_title=error.get("error_user_title"),
                user_msg=error.get("error_user_msg"),
                error_data=error.get("error_data"),
                retry_after=retry_after,
            )
        logger.warning(
            "Graph %s /%s -> %s code=%s subcode=%s fbtrace_id=%s (attempt %d)",
            method,
            path,
            response.status_code,
            exc.code,
            exc.subcode,
            exc.fbtrace_id,
            attempt + 1,
        )
        if not exc.permanent:
            self.circuit.failure()
        if isinstance(exc, GraphTokenExpired):
            token_invalid.send(sender=GraphClient, owner=self.owner, error=exc)
        raise exc

    def _respect_usage(self, app_usage: dict | None, business_usage: dict | None) -> None:
        percent, regain_minutes = _usage_pressure(app_usage, business_usage)
        if regain_minutes > 0:
            self.circuit.open(regain_minutes * 60)
        elif percent >= settings.META_GRAPH_USAGE_THRESHOLD:
            self.circuit.open(settings.META_GRAPH_CIRCUIT_SECONDS)
        if percent >= settings.META_GRAPH_USAGE_THRESHOLD or regain_minutes:
            logger.warning("Meta usage at %.0f%% for %s: pausing calls", percent, self.target)
