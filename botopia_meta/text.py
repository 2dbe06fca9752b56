"""The one rule for text that comes from outside (API bodies and queries, Meta's webhooks,
Meta's Graph answers) before anything stores it: NUL characters are removed and unpaired
surrogates become U+FFFD, in strings and in the keys and values of JSON alike.

Why: PostgreSQL refuses NUL in text and jsonb (a DataError that fails the whole transaction:
every message of a webhook change lost), and a lone surrogate ("\\ud800" is valid JSON) cannot
be encoded as UTF-8, so a row holding one breaks every page that renders it, on any database.

JSON is also bounded in depth: a body nested thousands of levels deep is refused as malformed
instead of exhausting the interpreter's recursion limit."""

import json
import re
from typing import Any

# Meta's deepest payloads (template components with button examples, webhook values) are about
# ten levels; an API body has no business being deeper than this.
MAX_JSON_DEPTH = 64

# In a Python str, a surrogate code point is always unpaired: json decodes a valid "\ud83d\ude00"
# pair into the one character it stands for.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"

# How JSON text can carry what `clean_text` removes: a NUL only as the escape "\u0000" (a raw
# control character is not JSON), a surrogate as an escape "\ud800".."\udfff" or, in bytes (json
# decodes them with surrogatepass), as its three UTF-8-like bytes. JSON text without any of
# these decodes to clean text as it is: `loads` then skips the rebuild of every object, list
# and string (most of its cost on a webhook body). A false alarm (an escaped valid pair, an
# escaped backslash before "u0000") only costs the full pass.
_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# Quotes and brackets kept, braces read as brackets: depth doesn't care which kind.
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}')))


class MalformedJson(ValueError):
    pass


class TooDeep(MalformedJson):
    pass


def clean_text(value: str) -> str:
    """`value` without NUL characters and with every unpaired surrogate replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():
        return value
    return _SURROGATE.sub(REPLACEMENT, value)


def clean(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`data` (decoded JSON) with every string, key or value, cleaned by `clean_text`.
    TooDeep when arrays and objects nest deeper than `max_depth`."""
    return _clean(data, 0, max_depth)


def _clean(data: Any, depth: int, max_depth: int) -> Any:
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, dict | list):
        if depth >= max_depth:
            raise TooDeep(f"JSON nested deeper than {max_depth} levels.")
        if isinstance(data, list):
            return [_clean(item, depth + 1, max_depth) for item in data]
        return {
            (clean_text(key) if isinstance(key, str) else key): _clean(value, depth + 1, max_depth)
            for key, value in data.items()
        }
    return data


def loads(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, then `clean`. Any failure (not JSON, not UTF-8, nested too deep, even past
    the interpreter's recursion limit) is a MalformedJson with a short reason."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels.") from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedJson(str(exc)) from None
    brackets = _brackets_if_clean(raw)
    if brackets is None:
        return clean(data, max_depth=max_depth)
    for _ in range(max_depth):  # each pass removes the innermost level
        if not brackets:
            return data
        brackets = brackets.replace(b"[]", b"")
    if brackets:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels.")
    return data


def _brackets_if_clean(raw: bytes | str) -> bytes | None:
    """The brackets of `raw` (valid JSON) outside its strings, braces as brackets, when what
    json decoded from it needs no cleaning and no string holds a bracket; otherwise None (the
    full pass, which counts the depth as it goes). None too for UTF-16 or -32, a BOM, a str
    holding a surrogate."""
    if isinstance(raw, str):
        try:
            utf8 = raw.encode()
        except UnicodeEncodeError:
            return None
    elif json.detect_encoding(raw) == "utf-8":
        utf8 = raw
    else:
        return None
    if _NUL_OR_SURROGATE_ESCAPE.search(utf8) or _SURROGATE_BYTES.search(utf8):
        return None
    if b"\\" in utf8:
        utf8 = _ESCAPE.sub(b"", utf8)  # an escaped quote is not the end of a string
    shape = utf8.translate(_AS_BRACKETS, _NOT_QUOTE_OR_BRACKET)
    # Strings are now quote pairs around the brackets they hold. Removing the empty ones left
    # to right leaves a quote exactly when some string holds a bracket: its opening quote,
    # followed by that bracket, is never part of a removed pair.
    brackets = shape.replace(b'""', b"")
    return None if b'"' in brackets else brackets
