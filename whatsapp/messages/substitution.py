"""Template substitution: our mirror's template + the caller's parameters → Meta's `components`.

Pure functions. Every mistake is found before any Graph call and raised as
`SubstitutionError(field, message)` naming what is missing or extra.

Parameters, as the API takes them:
  {"body": ["Ana", "A-17"]}                      positional body ({{1}}, {{2}})
  {"body": {"first_name": "Ana"}}                named body ({{first_name}})
  {"header": ["A-17"]} / {"header": {"name": v}} text header with placeholders
  {"header": {"image": {"link": "https://..."}}} media header (image/video/document; link or id)
  {"buttons": [null, "A-17"]}                    one value per template button, by position:
                                                 the URL suffix of a dynamic URL button, the code
                                                 of a COPY_CODE button; null for the others.
"""

import re
from dataclasses import dataclass
from typing import Any

from botopia_meta.safe_urls import meta_fetched_url_reason

POSITIONAL = re.compile(r"{{\s*(\d+)\s*}}")
NAMED = re.compile(r"{{\s*([a-z_][a-z0-9_]*)\s*}}")
MEDIA_FORMATS = {"IMAGE", "VIDEO", "DOCUMENT"}
MAX_PARAM_LEN = 1024


@dataclass
class SubstitutionError(Exception):
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def placeholders(text: str, parameter_format: str) -> list[str]:
    """The placeholders of a text in order of first appearance, without repeats."""
    pattern = NAMED if parameter_format == "NAMED" else POSITIONAL
    seen: list[str] = []
    for match in pattern.findall(text or ""):
        if match not in seen:
            seen.append(match)
    if parameter_format != "NAMED":
        seen.sort(key=int)
    return seen


def text_value(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SubstitutionError(field, "Must be a string.")
    text = str(value)
    if not text.strip():
        raise SubstitutionError(field, "Must not be empty.")
    if len(text) > MAX_PARAM_LEN:
        raise SubstitutionError(field, f"At most {MAX_PARAM_LEN} characters.")
    if "\n" in text or "\t" in text or "    " in text:
        # Meta refuses (132018) parameters with newlines, tabs or more than 4 spaces.
        raise SubstitutionError(field, "Must not contain newlines, tabs or more than 4 consecutive spaces.")
    return text


def _text_parameters(names: list[str], given: Any, parameter_format: str, field: str) -> list[dict]:
    if parameter_format == "NAMED":
        if not isinstance(given, dict):
            raise SubstitutionError(field, f"Named template: give an object with {names}.")
        missing = [n for n in names if n not in given]
        extra = sorted(set(given) - set(names))
        if missing:
            raise SubstitutionError(field, f"Missing parameter(s): {', '.join(missing)}.")
        if extra:
            raise SubstitutionError(field, f"Unexpected parameter(s): {', '.join(extra)}.")
        return [
            {"type": "text", "parameter_name": n, "text": text_value(given[n], f"{field}.{n}")} for n in names
        ]
    if not isinstance(given, list):
        raise SubstitutionError(field, f"Give a list of {len(names)} value(s).")
    if len(given) != len(names):
        raise SubstitutionError(field, f"Expected {len(names)} parameter(s), got {len(given)}.")
    return [{"type": "text", "text": text_value(v, f"{field}[{i}]")} for i, v in enumerate(given)]


def _media_parameter(fmt: str, given: Any) -> dict:
    kind = fmt.lower()
    media = given.get(kind) if isinstance(given, dict) else None
    if media is None and isinstance(given, dict) and ("link" in given or "id" in given):
        media = given
    if not isinstance(media, dict) or not (media.get("link") or media.get("id")):
        raise SubstitutionError(
            "header", f"The template's header is {fmt}: give {{'{kind}': {{'link' or 'id'}}}}."
        )
    link, media_id = media.get("link"), media.get("id")
    if link and (reason := meta_fetched_url_reason(link)):
        raise SubstitutionError(f"header.{kind}.link", reason)
    value = {"link": link} if link else {"id": str(media_id)}
    if kind == "document" and media.get("filename"):
        value["filename"] = str(media["filename"])
    return {"type": kind, kind: value}


def _text_component(
    kind: str, component: dict, parameters: dict, parameter_format: str, used: set[str]
) -> list[dict]:
    """The `header` (TEXT) or `body` component filled from `parameters[kind]`: none when the
    template's text has no placeholder."""
    names = placeholders(component.get("text", ""), parameter_format)
    if not names:
        return []
    used.add(kind)
    if kind not in parameters:
        raise SubstitutionError(kind, f"Missing {kind} parameter(s): {names}.")
    return [{"type": kind, "parameters": _text_parameters(names, parameters[kind], parameter_format, kind)}]


def build_components(*, components: list[dict], parameter_format: str, parameters: dict | None) -> list[dict]:
    """Meta's `components` for a send of this template with these parameters."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise SubstitutionError("parameters", "Must be an object.")
    known = {"header", "body", "buttons"}
    extra = sorted(set(parameters) - known)
    if extra:
        raise SubstitutionError("parameters", f"Unknown part(s): {', '.join(extra)}.")
    fmt_named = (parameter_format or "POSITIONAL").upper()
    out: list[dict] = []
    used: set[str] = set()
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt in MEDIA_FORMATS:
                used.add("header")
                if "header" not in parameters:
                    raise SubstitutionError(
                        "header", f"The template's header is {fmt}: the media is missing."
                    )
                out.append({"type": "header", "parameters": [_media_parameter(fmt, parameters["header"])]})
            elif fmt == "TEXT":
                out.extend(_text_component("header", component, parameters, fmt_named, used))
        elif ctype == "BODY":
            out.extend(_text_component("body", component, parameters, fmt_named, used))
        elif ctype == "BUTTONS":
            out.extend(_buttons(component.get("buttons") or [], parameters, used))
    extra = sorted(set(parameters) - used)
    if extra:
        raise SubstitutionError(extra[0], "The template has no placeholder here: remove it.")
    return out


def _buttons(buttons: list[dict], parameters: dict, used: set[str]) -> list[dict]:
    needing = []
    for index, button in enumerate(buttons):
        btype = str(button.get("type", "")).upper()
        if btype == "URL" and POSITIONAL.search(button.get("url", "") or ""):
            needing.append((index, "url"))
        elif btype == "COPY_CODE":
            needing.append((index, "copy_code"))
    if not needing:
        return []
    used.add("buttons")
    given = parameters.get("buttons")
    if not isinstance(given, list) or len(given) != len(buttons):
        raise SubstitutionError(
            "buttons", f"Give a list of {len(buttons)} value(s), one per button (null where none)."
        )
    needed_idx = {i for i, _ in needing}
    for i, value in enumerate(given):
        if i not in needed_idx and value is not None:
            raise SubstitutionError(f"buttons[{i}]", "This button takes no parameter: use null.")
    out = []
    for index, sub_type in needing:
        value = text_value(given[index], f"buttons[{index}]")
        param = (
            {"type": "coupon_code", "coupon_code": value}
            if sub_type == "copy_code"
            else {"type": "text", "text": value}
        )
        out.append({"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [param]})
    return out
