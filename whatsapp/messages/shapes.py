"""A small declarative checker for Meta's send objects: each shape checks a value found at a
field path and raises ValidationFailed naming that exact path (`interactive.action.buttons[3].
reply.title`), in the contract's error shape. Objects refuse keys Meta does not document, so
nothing a user sends is silently dropped. The value itself is never rewritten: what passes is
what Meta receives."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botopia_meta.exceptions import ValidationFailed
from botopia_meta.safe_urls import meta_fetched_url_reason


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Shape:
    def check(self, value: Any, path: str) -> None:  # pragma: no cover - every shape overrides it
        raise NotImplementedError


@dataclass
class Anything(Shape):
    """Opaque to us (a Flow's own data): any JSON value of the given Python types."""

    types: tuple[type, ...] = (dict,)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, self.types):
            names = " or ".join(
                "an object" if t is dict else "a list" if t is list else t.__name__ for t in self.types
            )
            raise invalid(path, f"Must be {names}.")


@dataclass
class Str(Shape):
    max: int | None = None
    choices: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    hint: str = ""
    https: bool = False  # a URL Meta fetches or opens: https, public

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise invalid(path, "Must be a non-empty string.")
        if self.choices and value not in self.choices:
            raise invalid(path, f"Must be one of {', '.join(self.choices)}.")
        if self.max is not None and len(value) > self.max:
            raise invalid(path, f"At most {self.max} characters (got {len(value)}).")
        if self.pattern is not None and not self.pattern.match(value):
            raise invalid(path, self.hint or "Invalid format.")
        if self.https and (reason := meta_fetched_url_reason(value)):
            raise invalid(path, reason)


@dataclass
class Num(Shape):
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    strings: bool = False  # Meta's reference also writes some numbers as strings ("37.44")

    def check(self, value: Any, path: str) -> None:
        number = value
        if isinstance(value, str) and self.strings:
            try:
                number = float(value)
            except ValueError:
                raise invalid(path, "Must be a number.") from None
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise invalid(path, "Must be a number.")
        if self.integer and not (isinstance(number, int) or float(number).is_integer()):
            raise invalid(path, "Must be a whole number.")
        if (self.lo is not None and number < self.lo) or (self.hi is not None and number > self.hi):
            raise invalid(path, f"Must be between {self.lo} and {self.hi}.")


@dataclass
class Bool(Shape):
    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise invalid(path, "Must be true or false.")


@dataclass
class Obj(Shape):
    fields: dict[str, Shape]
    required: tuple[str, ...] = ()
    # Cross-field rules (exactly one of, depends on): called once the fields passed.
    rules: tuple[Callable[[dict, str], None], ...] = ()
    what: str = "This object"

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise invalid(path, "Must be an object.")
        # Known fields first: a wrong `type` says more than the fields that go with another type.
        for key, item in value.items():
            if key in self.fields and item is not None:
                self.fields[key].check(item, at(path, key))
        for key in value:
            if key not in self.fields:
                raise invalid(at(path, key), f"Unknown field. {self.what} takes: {', '.join(self.fields)}.")
        for key in self.required:
            if value.get(key) is None:
                raise invalid(at(path, key), "Required.")
        for rule in self.rules:
            rule(value, path)


@dataclass
class List(Shape):
    item: Shape
    min: int = 1
    max: int | None = None
    unique: Callable[[Any], Any] | None = None  # the key items must not repeat
    unique_field: str = ""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise invalid(path, "Must be a list.")
        if len(value) < self.min:
            raise invalid(path, f"Give at least {self.min}.")
        if self.max is not None and len(value) > self.max:
            raise invalid(path, f"At most {self.max} (got {len(value)}).")
        seen: set = set()
        for index, item in enumerate(value):
            self.item.check(item, at(path, index))
            if self.unique is not None:
                key = self.unique(item)
                if key in seen:
                    raise invalid(at(at(path, index), self.unique_field), "Must be unique in this list.")
                seen.add(key)


@dataclass
class Media(Shape):
    """An uploaded media `id` or an https `link` Meta fetches; caption and filename where Meta
    takes them."""

    caption: bool = False
    filename: bool = False
    extra: dict[str, Shape] = field(default_factory=dict)

    def check(self, value: Any, path: str) -> None:
        fields: dict[str, Shape] = {"id": Str(max=128), "link": Str(max=2048, https=True)}
        if self.caption:
            fields["caption"] = Str(max=1024)
        if self.filename:
            fields["filename"] = Str(max=240)
        fields.update(self.extra)
        what = path.rsplit(".", 1)[-1]
        Obj(fields, rules=(exactly_one("id", "link"),), what=f"`{what}`").check(value, path)


def exactly_one(*names: str) -> Callable[[dict, str], None]:
    def rule(value: dict, path: str) -> None:
        given = [n for n in names if value.get(n) not in (None, "")]
        if len(given) != 1:
            raise invalid(path, f"Give exactly one of {' or '.join(f'`{n}`' for n in names)}.")

    return rule


def const(value: str) -> Str:
    return Str(choices=(value,))
