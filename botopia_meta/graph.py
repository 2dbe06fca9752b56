"""The one place that talks to Meta's Graph API over HTTP.

Every platform app's `graph.py` builds on `GraphClient`. It owns: base URL and version from
settings, a pooled session, timeouts, `appsecret_proof`, bounded retries with jittered
exponential backoff for transient failures only, Meta's usage headers, a circuit breaker per
target, and typed errors. Tokens, proofs, secrets, query strings and bodies are never logged.
"""

import hashlib
import hmac
import logging
import math
import os
import random
import re
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import django.dispatch
import requests
from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from botopia_meta import metrics, safe_urls, text

logger = logging.getLogger("botopia_meta.graph")

_sleep = time.sleep  # patched in tests
_now = time.time  # patched in tests to let a circuit run out

# Sent when Meta answers 190/102 (token invalid, expired, revoked): accounts marks the owner.
token_invalid = django.dispatch.Signal()

TOKEN_CODES = frozenset({190, 102})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 130429, 131056, *range(80001, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
# 131056 limits one sender/recipient pair, not the number: it must not pause the whole target.
_PAIR_RATE_LIMIT = 131056


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=20, pool_maxsize=50)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # requests reads the environment again on every call (proxy variables, ~/.netrc, the CA
    # bundle variables): ~20 % of the client's CPU for a message send. The CA bundle is read
    # once here; without a proxy configured nothing else is wanted from there (a netrc login
    # has no business going to Meta); with one, each call resolves it for its URL (NO_PROXY).
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = bool(urllib.request.getproxies())
    return session


def _call(
    method: str, url: str, *, timeout: tuple[float, float], headers: dict | None = None, **parts: Any
) -> requests.Response:
    """One Graph request on the pooled session's connections, streamed, no redirect followed:
    straight to its transport. Session.request would first merge the session's cookies and
    hooks and resolve its settings again, and afterwards follow a redirect, with the token in
    the query string, to wherever the answer pointed; none of which a Graph call wants, and
    about a fifth of a message send's client CPU."""
    session = _session
    sent_headers = session.headers if headers is None else {**session.headers, **headers}
    prepared = requests.Request(method, url, headers=sent_headers, **parts).prepare()
    proxies = requests.utils.resolve_proxies(prepared, dict(session.proxies), session.trust_env)
    verify = True if session.verify is None else session.verify
    return session.get_adapter(url).send(
        prepared, stream=True, timeout=timeout, verify=verify, cert=session.cert, proxies=proxies
    )


class MultipartBody:
    """A multipart/form-data body whose files are read while it is sent, never held whole:
    requests' own `files=` reads each file into memory and builds the body beside it (a 100 MB
    document cost ~200 MB for each upload in flight). Its length is known before it is sent
    (Content-Length, no chunked encoding) and it is read once; each file is sent from where it
    stands to its end, as requests did."""

    def __init__(self, fields: dict[str, Any], files: dict[str, tuple[str, IO[bytes], str]]):
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        pieces: list[bytes | IO[bytes]] = [
            _part_head(boundary, name) + str(value).encode() + b"\r\n" for name, value in fields.items()
        ]
        for name, (filename, file, mime_type) in files.items():
            pieces += [_part_head(boundary, name, filename, mime_type), file, b"\r\n"]
        pieces.append(f"--{boundary}--\r\n".encode())
        self._pieces = pieces
        self._length = sum(len(p) if isinstance(p, bytes) else _left_in(p) for p in pieces)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while self._pieces and (size < 0 or len(out) < size):
            piece, want = self._pieces[0], -1 if size < 0 else size - len(out)
            if isinstance(piece, bytes):
                taken = piece if want < 0 else piece[:want]
                if len(taken) < len(piece):
                    self._pieces[0] = piece[len(taken) :]
                else:
                    self._pieces.pop(0)
            else:
                taken = piece.read(want)
                if not taken:
                    self._pieces.pop(0)
            out += taken
        return bytes(out)


def _part_head(boundary: str, name: str, filename: str | None = None, mime_type: str = "") -> bytes:
    # Quotes and line breaks in a name are escaped as browsers do (HTML's form encoding).
    def quoted(value: str) -> str:
        return '"' + value.translate({34: "%22", 13: "%0D", 10: "%0A"}) + '"'

    disposition = f"form-data; name={quoted(name)}"
    if filename is None:
        return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return (
        f"--{boundary}\r\nContent-Disposition: {disposition}; filename={quoted(filename)}\r\n"
        f"Content-Type: {mime_type}\r\n\r\n"
    ).encode()


def _left_in(file: IO[bytes]) -> int:
    """Bytes from the file's position to its end."""
    here = file.tell()
    end = file.seek(0, os.SEEK_END)
    file.seek(here)
    return end - here


_session = _new_session()


def _reset_session_after_fork() -> None:
    # A forked worker must not share the parent's pooled sockets.
    global _session
    _session = _new_session()


os.register_at_fork(after_in_child=_reset_session_after_fork)


class _RedactSecrets(logging.Filter):
    """urllib3 logs every request line with its query string at DEBUG: hide our secrets."""

    pattern = re.compile(
        r"((?:access_token|appsecret_proof|client_secret|fb_exchange_token|input_token|code)=)[^&\s\"']+"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSecrets())


class GraphError(Exception):
    """An error from (or on the way to) Meta's Graph API.

    `sent`: the request may have reached Meta. `outcome_unknown`: it may have been applied
    but its answer was lost (read timeout, dropped connection, gateway error page), so a
    non-idempotent call must not be repeated blindly.
    """

    permanent: bool = True

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
        outcome_unknown: bool = False,
        app_usage: dict | None = None,
        business_usage: dict | None = None,
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
        self.outcome_unknown = outcome_unknown
        self.app_usage = app_usage
        self.business_usage = business_usage

    def __str__(self) -> str:
        return f"{self.message} (code={self.code}, subcode={self.subcode}, fbtrace_id={self.fbtrace_id})"

    def details(self) -> dict[str, Any]:
        """What we tell a client or store about this error: Meta's code, subcode, trace id and
        the text Meta meant for users (else its own), without empty keys. The one spelling of
        these keys everywhere (API `details`, stored `error` fields)."""
        details = {
            "metaCode": self.code,
            "metaSubcode": self.subcode,
            "fbtraceId": self.fbtrace_id,
            "metaMessage": self.user_msg or self.message,
        }
        return {key: value for key, value in details.items() if value not in (None, "")}

    def __reduce__(self) -> tuple:
        # Keep every attribute when pickled (Dramatiq results, multiprocessing).
        return (self.__class__, (self.message,), self.__dict__)


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


@dataclass(frozen=True)
class Download:
    """A file fetched by `GraphClient.download`: its size, hex SHA-256 and declared type."""

    size: int
    sha256: str
    content_type: str


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, GraphError) and not exc.permanent


@dataclass(frozen=True)
class GraphResponse:
    data: dict | list
    status: int
    app_usage: dict | None = None
    business_usage: dict | None = None

    @property
    def json_object(self) -> dict:
        """The body where a JSON object is expected; {} if Meta answered something else."""
        return self.data if isinstance(self.data, dict) else {}


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
    if http_status >= 500:
        return GraphUnavailable
    if http_status == 429 and code is None:
        return GraphRateLimited
    return GraphError


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_json_header(value: str | None) -> dict | None:
    if not value:
        return None
    try:
        parsed = text.loads(value)
    except text.MalformedJson:
        return None
    return parsed if isinstance(parsed, dict) else None


def _usage_pressure(app_usage: dict | None, business_usage: dict | None) -> tuple[float, float]:
    """(highest percent used, minutes until access returns) across Meta's usage headers."""
    blocks: list[Any] = [app_usage or {}]
    for items in (business_usage or {}).values():
        if isinstance(items, list):
            blocks.extend(items)
    percents: list[float] = []
    regain_minutes = 0.0
    for block in blocks:
        if not isinstance(block, dict):
            continue
        for name in ("call_count", "total_cputime", "total_time"):
            value = block.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                percents.append(float(value))
        regain = block.get("estimated_time_to_regain_access")
        if isinstance(regain, int | float) and not isinstance(regain, bool):
            regain_minutes = max(regain_minutes, float(regain))
    return max(percents, default=0.0), regain_minutes


# Meta's largest answers (a page of templates, of posts) are well under a megabyte: a bigger
# one is not read, whatever it claims to be.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


class _AnswerTooLarge(Exception):
    def __init__(self, cap: int, status: int):
        super().__init__(cap)
        self.cap, self.status = cap, status


def _read_capped(response: requests.Response) -> None:
    """Read a streamed answer into `response.content`, never more than MAX_ANSWER_BYTES + one
    chunk; _AnswerTooLarge beyond that (or when Content-Length says so up front)."""
    cap = MAX_ANSWER_BYTES
    chunks = _capped_chunks(response, cap, lambda: _AnswerTooLarge(cap, response.status_code))
    response._content = b"".join(chunks)  # what response.content answers from now on


def _capped_chunks(
    response: requests.Response, cap: int, too_large: Callable[[], Exception]
) -> Iterator[bytes]:
    """A streamed body's chunks, raising too_large() once it passes `cap` bytes (or up front
    when Content-Length says it will): never more than `cap` + one chunk is read."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large()
    size = 0
    for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
        size += len(chunk)
        if size > cap:
            raise too_large()
        yield chunk


def _path_for_log(path: str) -> str:
    return "/" + path.split("?", 1)[0]


CLOSED_FRESH_SECONDS = 0.25


class _Circuit:
    """Per-target breaker in the shared cache, so every process stops calling together.

    The open state is `(until, reason)`; reason "usage" (Meta said slow down) answers callers
    with GraphRateLimited, reason "failures" (repeated transient failures) with GraphUnavailable.
    """

    def __init__(self, target: str):
        self.open_key = f"graph:circuit:{target}:open"
        self.fail_key = f"graph:circuit:{target}:failures"
        # Whether the last state() saw failures counted: a success then clears them. When
        # none were, the success costs no round trip (one call, one read, on the hot path).
        self._failures_seen = True
        # A closed breaker with no failures counted, read less than CLOSED_FRESH_SECONDS ago,
        # isn't read again: a job sending fifty messages asks the cache a few times, not fifty.
        # Another process opening it is seen that much later (a few more calls at most).
        self._closed_until = 0.0

    # The breaker is bookkeeping in the shared cache: when the cache (Redis) is unreachable it
    # steps aside instead of failing the call. Above all, it must never turn an answer Meta
    # already gave into an exception (a send Meta accepted would then look failed and be sent
    # again).

    def state(self) -> tuple[float, str]:
        if time.monotonic() < self._closed_until:
            return 0.0, ""
        try:
            values = cache.get_many([self.open_key, self.fail_key])
        except Exception as exc:
            _cache_unavailable(exc)
            return 0.0, ""
        value = values.get(self.open_key)
        self._failures_seen = bool(values.get(self.fail_key))
        if not (isinstance(value, tuple | list) and len(value) == 2):
            if not self._failures_seen:
                self._closed_until = time.monotonic() + CLOSED_FRESH_SECONDS
            return 0.0, ""
        until, reason = value
        return max(0.0, float(until) - _now()), str(reason)

    def open(self, seconds: float, reason: str) -> None:
        self._closed_until = 0.0  # read afresh: never shorten a longer pause set elsewhere
        remaining, _ = self.state()
        self._closed_until = 0.0  # and open from now on
        if remaining >= seconds:
            return  # never shorten a longer pause set by another process
        try:
            cache.set(self.open_key, (_now() + seconds, reason), timeout=math.ceil(seconds) + 1)
        except Exception as exc:
            _cache_unavailable(exc)
        metrics.record_circuit_open(self.open_key, reason, time.time() + seconds)

    def failure(self) -> None:
        self._closed_until = 0.0
        try:
            cache.add(self.fail_key, 0, timeout=max(60, settings.META_GRAPH_CIRCUIT_SECONDS * 4))
            try:
                failures = cache.incr(self.fail_key)
            except ValueError:  # expired between add and incr
                failures = 1
            if failures >= settings.META_GRAPH_CIRCUIT_FAILURES:
                self.open(settings.META_GRAPH_CIRCUIT_SECONDS, "failures")
                cache.delete(self.fail_key)
        except Exception as exc:
            _cache_unavailable(exc)

    def success(self) -> None:
        if not self._failures_seen:
            return
        try:
            cache.delete(self.fail_key)
        except Exception as exc:
            _cache_unavailable(exc)


def _cache_unavailable(exc: BaseException) -> None:
    logger.warning("Graph circuit breaker skipped: the cache is unavailable (%s)", type(exc).__name__)


def _paging(data: dict) -> tuple[dict, dict]:
    """A paged edge's `paging` and `paging.cursors`, each {} when absent or not an object."""
    paging = data.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    cursors = paging.get("cursors")
    return paging, cursors if isinstance(cursors, dict) else {}


class GraphClient:
    def __init__(
        self,
        access_token: str | None = None,
        *,
        target: str = "app",
        owner: object = None,
        app_token: bool = False,
    ):
        """`access_token` is a user, page or system-user token; without one (or with
        `app_token=True`) calls use the app token `<app id>|<app secret>`, without proof."""
        if not app_token and access_token is not None and not access_token:
            raise ValueError("GraphClient needs a non-empty access token (or app_token=True).")
        self.app_token = app_token or access_token is None
        self._access_token = None if self.app_token else access_token
        self.target = target
        self.owner = owner
        self.circuit = _Circuit(target)

    def __repr__(self) -> str:
        return f"<GraphClient target={self.target!r} app_token={self.app_token}>"

    # --- public calls -------------------------------------------------------------------
    # Each is wrapped in sensitive_variables(): Django's exception reports (the DEBUG page, the
    # admins' mail) hide the locals of the call and of every frame below it, where the access
    # token, the appsecret_proof and the app secret live.

    @sensitive_variables()
    def get(self, path: str, params: dict | None = None, *, retries: int | None = None) -> GraphResponse:
        return self._request("GET", path, params=params, retries=retries)

    @sensitive_variables()
    def post(
        self,
        path: str,
        data: dict | None = None,
        *,
        json: dict | None = None,
        params: dict | None = None,
        files: dict[str, tuple[str, IO[bytes], str]] | None = None,
        retries: int | None = None,
        idempotent: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> GraphResponse:
        """`before_send`: called as the last thing before each attempt's request leaves (after
        the circuit breaker said yes): a paced send's gate. What it raises, the call raises."""
        if data is not None and json is not None:
            raise ValueError("Send either form `data` or a `json` body, not both.")
        return self._request(
            "POST",
            path,
            params=params,
            data=data,
            json_body=json,
            files=files,
            retries=retries,
            idempotent=idempotent,
            before_send=before_send,
        )

    @sensitive_variables()
    def delete(self, path: str, params: dict | None = None, *, retries: int | None = None) -> GraphResponse:
        return self._request("DELETE", path, params=params, retries=retries)

    @sensitive_variables()
    def download(self, url: str, into: IO[bytes], *, max_bytes: int, max_redirects: int = 3) -> Download:
        """Stream a file from a URL Meta handed us (a WhatsApp media URL) into `into`, with
        the token as a Bearer header, as Meta requires. Only Meta's media hosts (or
        META_GRAPH_URL's own origin: the sandbox) ever see the token, redirects included.
        Never more than `max_bytes` is read. Errors as GraphError: 5xx, 429 and timeouts are
        transient; 404/410 (the media is gone) and the rest are not."""
        token = self._access_token or app_access_token()
        headers = {"Authorization": f"Bearer {token}", "User-Agent": "botopia-meta"}
        timeout = (settings.META_GRAPH_CONNECT_TIMEOUT, settings.META_GRAPH_READ_TIMEOUT)
        for _ in range(max_redirects + 1):
            host = urlsplit(url).hostname or "?"
            reason = safe_urls.meta_media_url_reason(url, graph_url=settings.META_GRAPH_URL)
            if reason:
                raise GraphError(f"Refused to download media from {host}: {reason}", sent=False)
            try:
                response = _session.get(
                    url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
                )
                try:
                    if response.is_redirect and response.headers.get("Location"):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    return self._read_download(response, host, into, max_bytes)
                finally:
                    response.close()
            except requests.exceptions.RequestException as exc:
                error = self._transport_error(exc)
                if error is None:
                    raise
                logger.warning("Media download from %s failed: %s", host, type(error).__name__)
                raise error from None  # requests' messages carry the URL
        raise GraphError(f"Media download from {host} redirected more than {max_redirects} times.")

    @staticmethod
    def _read_download(response: requests.Response, host: str, into: IO[bytes], max_bytes: int) -> Download:
        status = response.status_code
        if status >= 400:
            logger.warning("Media download from %s -> HTTP %s", host, status)
            message = f"The media host answered HTTP {status}."
            if status >= 500:
                raise GraphUnavailable(message, http_status=status)
            if status == 429:
                raise GraphRateLimited(message, http_status=status)
            raise GraphError(message, http_status=status)
        digest, size = hashlib.sha256(), 0
        for chunk in _capped_chunks(
            response,
            max_bytes,
            lambda: GraphError(f"The media is larger than {max_bytes} bytes.", http_status=status),
        ):
            size += len(chunk)
            digest.update(chunk)
            into.write(chunk)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return Download(size=size, sha256=digest.hexdigest(), content_type=content_type)

    def page(self, path: str, params: dict | None = None) -> tuple[list[dict], dict]:
        """One page of a cursor-paged edge: (items, {"before": ..., "after": ...})."""
        data = self.get(path, params).data
        if not isinstance(data, dict):
            return list(data), {"before": None, "after": None}
        _, cursors = _paging(data)
        return list(data.get("data") or []), {"before": cursors.get("before"), "after": cursors.get("after")}

    def iter_items(self, path: str, params: dict | None = None, *, max_pages: int = 1000) -> Iterator[dict]:
        """Every item of a cursor-paged edge. We follow `paging.cursors.after` on the same path
        rather than the `paging.next` URL, which embeds the token and could point anywhere."""
        params = dict(params or {})
        for _ in range(max_pages):
            data = self.get(path, params).data
            if not isinstance(data, dict):
                yield from data
                return
            yield from data.get("data") or []
            paging, cursors = _paging(data)
            after = cursors.get("after")
            if not paging.get("next") or not after:
                return
            params["after"] = after
        logger.warning("Graph GET %s stopped after %d pages", _path_for_log(path.lstrip("/")), max_pages)

    # --- internals ----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if "://" in path:
            # Never send our token to a URL Meta (or anyone) handed us.
            raise ValueError("GraphClient takes a Graph path such as 'me/accounts', not a URL.")
        return f"{settings.META_GRAPH_URL}/{settings.META_GRAPH_VERSION}/{path}"

    def _auth(self) -> dict[str, str]:
        if self._access_token is None:
            return {"access_token": app_access_token()}
        return {"access_token": self._access_token, "appsecret_proof": appsecret_proof(self._access_token)}

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        json_body: dict | None = None,
        files: dict[str, tuple[str, IO[bytes], str]] | None = None,
        retries: int | None = None,
        idempotent: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> GraphResponse:
        max_retries = settings.META_GRAPH_MAX_RETRIES if retries is None else retries
        path = path.lstrip("/")
        attempt = 0
        while True:
            try:
                return self._attempt(method, path, params, data, json_body, files, attempt, before_send)
            except GraphError as exc:
                delay = self._retry_delay(exc, attempt, max_retries, idempotent)
                if delay is None:
                    raise
                logger.info(
                    "Graph %s %s retry %d in %.2fs after %s (code=%s)",
                    method,
                    _path_for_log(path),
                    attempt + 1,
                    delay,
                    type(exc).__name__,
                    exc.code,
                )
                _sleep(delay)
                attempt += 1

    @staticmethod
    def _retry_delay(exc: GraphError, attempt: int, max_retries: int, idempotent: bool) -> float | None:
        """Seconds to wait before the next attempt, or None to raise now."""
        if exc.permanent or attempt >= max_retries:
            return None
        if not idempotent and exc.outcome_unknown:
            return None  # Meta may have applied it (e.g. sent the message): the caller decides
        cap = settings.META_GRAPH_BACKOFF_MAX
        if exc.retry_after is not None and exc.retry_after > cap:
            return None  # too long to wait in-process: the caller (an actor) retries later
        delay = min(cap, settings.META_GRAPH_BACKOFF_BASE * 2**attempt) * random.random()
        return max(delay, exc.retry_after or 0.0)

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict | None,
        data: dict | None,
        json_body: dict | None,
        files: dict[str, tuple[str, IO[bytes], str]] | None,
        attempt: int,
        before_send: Callable[[], None] | None = None,
    ) -> GraphResponse:
        remaining, reason = self.circuit.state()
        if remaining:
            cls = GraphRateLimited if reason == "usage" else GraphUnavailable
            why = "Meta's usage limits" if reason == "usage" else "repeated failures"
            raise cls(
                f"Calls for {self.target} are paused for {remaining:.0f}s after {why}.",
                retry_after=remaining,
                sent=False,
            )
        query = dict(params or {})
        body = dict(data) if data is not None else None
        # The token travels in the form body of a form POST, else in the query string.
        if method == "POST" and json_body is None:
            body = {**(body or {}), **self._auth()}
        else:
            query.update(self._auth())
        timeout = (settings.META_GRAPH_CONNECT_TIMEOUT, settings.META_GRAPH_READ_TIMEOUT)
        log_path = _path_for_log(path)
        parts: dict[str, Any] = {"data": body, "json": json_body}
        headers = None
        if files:  # the form streamed from its files; its fields (the token among them) first
            form = MultipartBody(body or {}, files)
            parts, headers = {"data": form}, {"Content-Type": form.content_type}
        if before_send is not None:
            before_send()
        try:
            # Streamed, so an answer larger than MAX_ANSWER_BYTES is never read whole.
            response = _call(method, self._url(path), params=query, headers=headers, timeout=timeout, **parts)
            try:
                _read_capped(response)
            finally:
                response.close()
        except _AnswerTooLarge as exc:
            logger.warning(
                "Graph %s %s answered more than %d bytes (attempt %d)", method, log_path, exc.cap, attempt + 1
            )
            # Meta did answer, so a send went through or not: we cannot tell. Not retried
            # (the same call gets the same answer), and a send is never repeated blindly.
            raise GraphError(
                f"Meta's answer exceeded {exc.cap} bytes and was not read.",
                http_status=exc.status,
                sent=True,
                outcome_unknown=True,
            ) from None
        except requests.exceptions.RequestException as exc:
            error = self._transport_error(exc)
            if error is None:
                raise
            self.circuit.failure()
            metrics.record_graph_call(type(error).__name__)
            logger.warning(
                "Graph %s %s failed: %s sent=%s (attempt %d)",
                method,
                log_path,
                type(error).__name__,
                error.sent,
                attempt + 1,
            )
            raise error from None  # requests' messages carry the full URL with the token
        return self._handle(method, log_path, response, attempt)

    @staticmethod
    def _transport_error(exc: requests.exceptions.RequestException) -> GraphError | None:
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return GraphTimeout("Timed out connecting to Meta.", sent=False)
        reason = exc.args[0] if exc.args else None
        if isinstance(exc, requests.exceptions.Timeout) or isinstance(reason, ReadTimeoutError):
            return GraphTimeout(
                "Meta did not answer in time; the request may have been applied.",
                sent=True,
                outcome_unknown=True,
            )
        if isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        ):
            return GraphUnavailable("Meta's answer was cut off.", sent=True, outcome_unknown=True)
        if isinstance(exc, requests.exceptions.ConnectionError):
            # requests wraps a failure to connect in MaxRetryError, but a connection dropped
            # after the request left (reset, "Connection aborted") as a bare ProtocolError/OSError.
            if isinstance(reason, ProtocolError | OSError):
                return GraphUnavailable(
                    "The connection to Meta dropped; the request may have been applied.",
                    sent=True,
                    outcome_unknown=True,
                )
            return GraphUnavailable("Could not connect to Meta.", sent=False)
        return None  # invalid URL and the like: a bug or bad settings, not Meta being down

    def _handle(self, method: str, log_path: str, response: requests.Response, attempt: int) -> GraphResponse:
        status = response.status_code
        app_usage = _parse_json_header(response.headers.get("X-App-Usage"))
        business_usage = _parse_json_header(response.headers.get("X-Business-Use-Case-Usage"))
        pause = self._respect_usage(app_usage, business_usage)
        try:
            # Meta's text goes through the one rule (botopia_meta.text) before anything
            # stores it: a NUL in a template or a profile must not fail a sync on PostgreSQL.
            payload = text.loads(response.content) if response.content else None
        except text.MalformedJson:
            payload = None

        if 300 <= status < 400:
            # Graph calls are never redirected; one that is carries its token in the query.
            exc: GraphError = GraphError(
                f"Meta answered HTTP {status}, a redirect: not followed.",
                http_status=status,
                outcome_unknown=True,
            )
        elif status < 400 and not (isinstance(payload, dict) and "error" in payload):
            if payload is None and response.content:
                exc = GraphError(
                    f"Meta answered HTTP {status} with a body that is not JSON.", http_status=status
                )
            else:
                self.circuit.success()
                metrics.record_graph_call("ok")
                logger.debug("Graph %s %s -> %s (attempt %d)", method, log_path, status, attempt + 1)
                if payload is None:
                    payload = {}
                elif not isinstance(payload, dict | list):
                    payload = {"success": payload}  # some legacy edges answer a bare `true`
                return GraphResponse(payload, status, app_usage, business_usage)
        else:
            exc = self._error_from(payload, status, app_usage, business_usage, pause)

        logger.warning(
            "Graph %s %s -> %s %s code=%s subcode=%s fbtrace_id=%s (attempt %d)",
            method,
            log_path,
            status,
            type(exc).__name__,
            exc.code,
            exc.subcode,
            exc.fbtrace_id,
            attempt + 1,
        )
        metrics.record_graph_call(exc.code if exc.code is not None else f"http_{status}")
        if not exc.permanent and exc.code != _PAIR_RATE_LIMIT:
            self.circuit.failure()
        if isinstance(exc, GraphTokenExpired):
            token_invalid.send_robust(sender=GraphClient, owner=self.owner, error=exc)
        raise exc

    @staticmethod
    def _error_from(
        payload: Any, status: int, app_usage: dict | None, business_usage: dict | None, pause: float
    ) -> GraphError:
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            if status >= 500:
                # A gateway error page: Meta may or may not have handled the request.
                return GraphUnavailable(
                    f"Meta answered HTTP {status} without a Graph error body.",
                    http_status=status,
                    outcome_unknown=True,
                    app_usage=app_usage,
                    business_usage=business_usage,
                )
            cls = GraphRateLimited if status == 429 else GraphError
            return cls(
                f"Meta answered HTTP {status} with a body that is not a Graph error.",
                http_status=status,
                retry_after=pause or None,
                app_usage=app_usage,
                business_usage=business_usage,
            )
        code = _int_or_none(error.get("code"))
        cls = _error_class(code, status)
        message = error.get("message")
        fbtrace_id = error.get("fbtrace_id")
        return cls(
            str(message) if message else "Meta returned an error.",
            code=code,
            subcode=_int_or_none(error.get("error_subcode")),
            fbtrace_id=str(fbtrace_id) if fbtrace_id else None,
            type=error.get("type"),
            http_status=status,
            user_title=error.get("error_user_title"),
            user_msg=error.get("error_user_msg"),
            error_data=error.get("error_data"),
            # If this answer paused the target, retrying before the pause ends is pointless.
            retry_after=pause if (pause and not cls.permanent) else None,
            app_usage=app_usage,
            business_usage=business_usage,
        )

    def _respect_usage(self, app_usage: dict | None, business_usage: dict | None) -> float:
        """Pause the target when Meta says we are near (or past) a limit; return the pause."""
        percent, regain_minutes = _usage_pressure(app_usage, business_usage)
        if regain_minutes > 0:
            pause = regain_minutes * 60.0
        elif percent >= settings.META_GRAPH_USAGE_THRESHOLD:
            pause = float(settings.META_GRAPH_CIRCUIT_SECONDS)
        else:
            return 0.0
        self.circuit.open(pause, "usage")
        logger.warning(
            "Meta usage at %.0f%% (regain access in %.0f min) for %s: pausing calls for %.0fs",
            percent,
            regain_minutes,
            self.target,
            pause,
        )
        return pause
