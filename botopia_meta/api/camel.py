"""camelCase on the wire, snake_case in Python.

Values under OPAQUE_KEYS are Meta's own structures (template components and examples,
message content, webhook field maps, named template parameters): their inner keys are
Meta's names or user data and pass through untouched, both ways.
"""

import re
from typing import Any

OPAQUE_KEYS = frozenset(
    {"components", "content", "parameters", "fields", "example", "raw", "dimensions", "error_data", "meta"}
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest) if rest else name


def to_snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub(lambda m: "_" + m.group(1).lower(), name)


def _convert(data: Any, key_fn) -> Any:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            new_key = key_fn(key) if isinstance(key, str) else key
            out[new_key] = value if new_key in OPAQUE_KEYS or key in OPAQUE_KEYS else _convert(value, key_fn)
        return out
    if isinstance(data, list | tuple):
        return [_convert(item, key_fn) for item in data]
    return data


def camelize(data: Any) -> Any:
    return _convert(data, to_camel)


def underscoreize(data: Any) -> Any:
    return _convert(data, to_snake)
