"""Meta's rules for message templates, checked before any Graph call.

Pure functions: `template_errors(...)` returns `{"<field path>": ["message", ...]}` naming the
exact component and field (`components[1].example`, `components[2].buttons[0].url`), so a
user fixes everything in one round trip instead of discovering Meta's rules one rejection at
a time. Sources: Meta's template guidelines (see /work/shared/meta-graph-notes.md).
"""

import re
from typing import Any, TypeGuard

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
COMPONENT_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER")
# PRODUCT: the header of a single-product (SPM) template.
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "PRODUCT")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
BUTTON_TYPES = (
    "QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "SPM", "VOICE_CALL",
)  # fmt: skip
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")
FLOW_ACTIONS = ("NAVIGATE", "DATA_EXCHANGE")
# Per-template limits of each button kind (Meta: ≤10 buttons, ≤2 URL, ≤1 phone, ≤1 copy code).
BUTTON_LIMITS = {
    "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1, "FLOW": 1, "CATALOG": 1, "MPM": 1, "SPM": 1,
    "VOICE_CALL": 1,
}  # fmt: skip
# Buttons that make a template a catalog / multi-product / single-product one: alone, or with
# quick replies at most (Meta's catalog, MPM and SPM templates).
COMMERCE_BUTTONS = ("CATALOG", "MPM", "SPM")
SUPPORTED_APPS_MAX = 5
CODE_EXPIRATION_MINUTES = (1, 90)
CAROUSEL_CARDS = (2, 10)
CAROUSEL_BODY_MAX = 160
CAROUSEL_BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "SPM")
CAROUSEL_HEADER_FORMATS = ("IMAGE", "VIDEO", "PRODUCT")
OFFER_TEXT_MAX = 16
PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")

NAME_MAX = 512
HEADER_TEXT_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTON_TEXT_MAX = 25
BUTTONS_MAX = 10
URL_MAX = 2000

NAME_RE = re.compile(r"^[a-z0-9_]+$")
# Meta's language codes: "en", "en_US", "pt_BR", "fil", "zh_HK".
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}")
POSITIONAL_RE = re.compile(r"^[1-9][0-9]*$")
NAMED_RE = re.compile(r"^[a-z][a-z0-9_]*$")
ADJACENT_RE = re.compile(r"\}\}\s*\{\{")
# Control characters (but tab and line breaks), surrogates, and U+FFFD: what the API's text
# rule (botopia_meta.text) leaves of a lone surrogate. Meta would store such a template, and
# its customers would see the broken character: refused before Meta is called.
BROKEN_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffd]")

Errors = dict[str, list[str]]


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def placeholders(text: str) -> list[str]:
    """The placeholder names in order of appearance: ["1", "2"] or ["first_name"]."""
    return [raw.strip() for raw in PLACEHOLDER_RE.findall(text or "")]


def _check_placeholders(
    errors: Errors, key: str, text: str, parameter_format: str, *, edges_forbidden: bool
) -> list[str]:
    """Check the `{{...}}` in `text`; returns the distinct names in order of first use."""
    found = PLACEHOLDER_RE.findall(text)
    rest = PLACEHOLDER_RE.sub("", text)
    if "{{" in rest or "}}" in rest:
        _add(errors, key, "Unbalanced braces: placeholders are written {{1}} (or {{name}} when NAMED).")
    names: list[str] = []
    for raw in found:
        if raw != raw.strip() or not raw:
            _add(errors, key, f"Placeholder '{{{{{raw}}}}}' must not contain spaces or be empty.")
            continue
        if parameter_format == "POSITIONAL" and not POSITIONAL_RE.match(raw):
            if NAMED_RE.match(raw):
                _add(
                    errors,
                    key,
                    f"Named placeholder '{{{{{raw}}}}}' needs parameter_format NAMED; "
                    "positional templates use {{1}}, {{2}}, ...",
                )
            else:
                _add(errors, key, f"Placeholder '{{{{{raw}}}}}' must be a number: {{{{1}}}}, {{{{2}}}}, ...")
            continue
        if parameter_format == "NAMED" and not NAMED_RE.match(raw):
            _add(
                errors,
                key,
                f"Placeholder '{{{{{raw}}}}}' must be a lowercase name (letters, digits, underscores) "
                "in a NAMED template.",
            )
            continue
        if raw not in names:
            names.append(raw)
    if parameter_format == "POSITIONAL" and names and all(POSITIONAL_RE.match(n) for n in names):
        numbers = sorted(int(n) for n in names)
        expected = list(range(1, len(numbers) + 1))
        if numbers != expected:
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            _add(
                errors,
                key,
                "Placeholders must be numbered {{1}}..{{n}} without gaps"
                + (f"; missing {', '.join(f'{{{{{m}}}}}' for m in missing)}." if missing else "."),
            )
    if found and ADJACENT_RE.search(text):
        _add(errors, key, "Two placeholders must not be next to each other: put text between them.")
    stripped = text.strip()
    if edges_forbidden and found and (stripped.startswith("{{") or stripped.endswith("}}")):
        _add(errors, key, "The text must not start or end with a placeholder.")
    return names


def _ordered(names: list[str], parameter_format: str) -> list[str]:
    return sorted(names, key=int) if parameter_format == "POSITIONAL" else names


def _check_named_examples(errors: Errors, key: str, example: Any, field: str, names: list[str]) -> None:
    given = example.get(field) if isinstance(example, dict) else None
    if not isinstance(given, list) or not given:
        _add(
            errors,
            key,
            f"{field} must list an example for each placeholder: "
            + ", ".join(f'{{"param_name": "{n}", "example": "..."}}' for n in names),
        )
        return
    seen: dict[str, Any] = {}
    for item in given:
        if not isinstance(item, dict) or not isinstance(item.get("param_name"), str):
            _add(errors, key, f'Each {field} item must be {{"param_name": "...", "example": "..."}}.')
            return
        seen[item["param_name"]] = item.get("example")
    missing = [n for n in names if not _non_empty_str(seen.get(n))]
    extra = [n for n in seen if n not in names]
    if missing:
        _add(errors, key, f"{field} lacks an example for: {', '.join(missing)}.")
    if extra:
        _add(errors, key, f"{field} names placeholders the text does not use: {', '.join(extra)}.")


def _non_empty_str(value: object) -> TypeGuard[str]:
    """A string with something besides whitespace; narrows Meta's untyped JSON to str."""
    return isinstance(value, str) and bool(value.strip())


def _check_header(errors: Errors, key: str, component: dict, parameter_format: str) -> None:
    fmt = str(component.get("format") or "").upper()
    if fmt not in HEADER_FORMATS:
        _add(errors, f"{key}.format", f"Must be one of {', '.join(HEADER_FORMATS)}.")
        return
    example = component.get("example")
    if fmt == "TEXT":
        text = component.get("text")
        if not _non_empty_str(text):
            _add(errors, f"{key}.text", "A TEXT header needs text.")
            return
        if len(text) > HEADER_TEXT_MAX:
            _add(errors, f"{key}.text", f"At most {HEADER_TEXT_MAX} characters (got {len(text)}).")
        names = _check_placeholders(errors, f"{key}.text", text, parameter_format, edges_forbidden=False)
        if len(names) > 1:
            _add(errors, f"{key}.text", "A header may have at most one placeholder.")
        if not names:
            return
        if parameter_format == "NAMED":
            _check_named_examples(errors, f"{key}.example", example, "header_text_named_params", names)
            return
        given = example.get("header_text") if isinstance(example, dict) else None
        if not isinstance(given, list) or len(given) != 1 or not _non_empty_str(given[0]):
            _add(errors, f"{key}.example", 'header_text must give one example: {"header_text": ["..."]}.')
        return
    if component.get("text"):
        _add(errors, f"{key}.text", f"A {fmt} header has no text.")
    if fmt in MEDIA_FORMATS:
        handles = example.get("header_handle") if isinstance(example, dict) else None
        if not isinstance(handles, list) or not handles or not all(_non_empty_str(h) for h in handles):
            _add(
                errors,
                f"{key}.example",
                f'A {fmt} header needs a sample: {{"header_handle": ["<upload handle>"]}}.',
            )


def _check_body(errors: Errors, key: str, component: dict, parameter_format: str, category: str) -> None:
    text = component.get("text")
    if category == "AUTHENTICATION" and text is None:
        return  # Meta writes authentication bodies itself (add_security_recommendation).
    if not _non_empty_str(text):
        _add(errors, f"{key}.text", "The body needs text.")
        return
    if len(text) > BODY_MAX:
        _add(errors, f"{key}.text", f"At most {BODY_MAX} characters (got {len(text)}).")
    names = _check_placeholders(errors, f"{key}.text", text, parameter_format, edges_forbidden=True)
    if not names:
        return
    example = component.get("example")
    if parameter_format == "NAMED":
        _check_named_examples(errors, f"{key}.example", example, "body_text_named_params", names)
        return
    rows = example.get("body_text") if isinstance(example, dict) else None
    row = rows[0] if isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], list) else None
    if row is None:
        _add(
            errors,
            f"{key}.example",
            "body_text must give one example per placeholder: "
            f'{{"body_text": [[{", ".join(["..."] * len(names))}]]}}.',
        )
    elif len(row) != len(names) or not all(_non_empty_str(v) for v in row):
        _add(
            errors,
            f"{key}.example",
            f"body_text has {len(row)} example(s) for {len(names)} placeholder(s) "
            f"({', '.join(f'{{{{{n}}}}}' for n in _ordered(names, parameter_format))}); give one non-empty "
            "example for each.",
        )


def _check_footer(errors: Errors, key: str, component: dict, category: str) -> None:
    text = component.get("text")
    if category == "AUTHENTICATION" and text is None:
        return  # code_expiration_minutes footers carry no text.
    if not _non_empty_str(text):
        _add(errors, f"{key}.text", "The footer needs text.")
        return
    if len(text) > FOOTER_MAX:
        _add(errors, f"{key}.text", f"At most {FOOTER_MAX} characters (got {len(text)}).")
    if PLACEHOLDER_RE.search(text):
        _add(errors, f"{key}.text", "A footer cannot have placeholders.")


def _check_button(errors: Errors, key: str, button: Any, category: str) -> str | None:
    if not isinstance(button, dict):
        _add(errors, key, "Each button must be an object.")
        return None
    kind = str(button.get("type") or "").upper()
    if kind not in BUTTON_TYPES:
        _add(errors, f"{key}.type", f"Must be one of {', '.join(BUTTON_TYPES)}.")
        return None
    if category == "AUTHENTICATION" and kind != "OTP":
        _add(errors, f"{key}.type", "Authentication templates take only an OTP button.")
    if category != "AUTHENTICATION" and kind == "OTP":
        _add(errors, f"{key}.type", "OTP buttons belong to AUTHENTICATION templates only.")
    if kind == "OTP":
        _check_otp(errors, key, button)
        return kind
    text = button.get("text")
    if kind != "COPY_CODE":
        if not _non_empty_str(text):
            _add(errors, f"{key}.text", "The button needs a label.")
        elif len(text) > BUTTON_TEXT_MAX:
            _add(errors, f"{key}.text", f"At most {BUTTON_TEXT_MAX} characters (got {len(text)}).")
    if kind == "URL":
        url = button.get("url")
        if not _non_empty_str(url) or not re.match(r"^https?://", url) or len(url) > URL_MAX:
            _add(errors, f"{key}.url", f"Must be an http(s) URL of at most {URL_MAX} characters.")
            return kind
        names = placeholders(url)
        if len(names) > 1 or (names and (names[0] != "1" or not url.endswith("}}"))):
            _add(errors, f"{key}.url", "A URL may have one placeholder, {{1}}, at its end only.")
        elif names:
            example = button.get("example")
            if not isinstance(example, list) or len(example) != 1 or not _non_empty_str(example[0]):
                _add(errors, f"{key}.example", 'A URL with {{1}} needs a full example URL: ["https://..."].')
    elif kind == "PHONE_NUMBER":
        phone = button.get("phone_number")
        if not _non_empty_str(phone) or not re.match(r"^\+?[0-9]{6,20}$", phone.replace(" ", "")):
            _add(
                errors, f"{key}.phone_number", "Must be a phone number with country code, e.g. +15550001111."
            )
    elif kind == "COPY_CODE":
        example = button.get("example")
        if not _non_empty_str(example if isinstance(example, str) else None):
            _add(errors, f"{key}.example", 'A COPY_CODE button needs an example code: "SAVE20".')
    elif kind == "FLOW":
        if not any(button.get(f) for f in ("flow_id", "flow_name", "flow_json")):
            _add(errors, f"{key}.flow_id", "A FLOW button needs flow_id, flow_name or flow_json.")
        action = button.get("flow_action")
        if action is not None and str(action).upper() not in FLOW_ACTIONS:
            _add(errors, f"{key}.flow_action", f"Must be one of {', '.join(FLOW_ACTIONS)}.")
        if button.get("navigate_screen") is not None and not _non_empty_str(button.get("navigate_screen")):
            _add(errors, f"{key}.navigate_screen", "The screen the flow opens on, e.g. WELCOME_SCREEN.")
    return kind


def _check_otp(errors: Errors, key: str, button: dict) -> None:
    """Authentication's one button: copy code, one tap (autofill in the app named by
    supported_apps) or zero tap (the code reaches the app without a tap)."""
    otp_type = str(button.get("otp_type") or "").upper()
    if otp_type not in OTP_TYPES:
        _add(errors, f"{key}.otp_type", f"Must be one of {', '.join(OTP_TYPES)}.")
        return
    for label in ("text", "autofill_text"):
        value = button.get(label)
        if value is not None and (not _non_empty_str(value) or len(value) > BUTTON_TEXT_MAX):
            _add(errors, f"{key}.{label}", f"At most {BUTTON_TEXT_MAX} characters, not empty.")
    if otp_type == "COPY_CODE":
        return
    apps = button.get("supported_apps")
    if apps is None and button.get("package_name"):  # Meta's older single-app form
        apps = [{"package_name": button.get("package_name"), "signature_hash": button.get("signature_hash")}]
    if not isinstance(apps, list) or not 1 <= len(apps) <= SUPPORTED_APPS_MAX:
        _add(
            errors,
            f"{key}.supported_apps",
            f"A {otp_type} button names 1 to {SUPPORTED_APPS_MAX} Android apps: "
            '[{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}].',
        )
    else:
        for index, app in enumerate(apps):
            app_key = f"{key}.supported_apps[{index}]"
            app = app if isinstance(app, dict) else {}
            package = app.get("package_name")
            if not _non_empty_str(package) or len(package) > 224 or not PACKAGE_RE.match(package):
                _add(errors, f"{app_key}.package_name", "An Android package name, e.g. com.example.app.")
            signature = app.get("signature_hash")
            if not _non_empty_str(signature) or len(signature) != 11:
                _add(errors, f"{app_key}.signature_hash", "The app's 11-character signing key hash.")
    if otp_type == "ZERO_TAP" and button.get("zero_tap_terms_accepted") is not True:
        _add(
            errors,
            f"{key}.zero_tap_terms_accepted",
            "Zero tap needs zero_tap_terms_accepted: true (Meta's terms for zero-tap delivery).",
        )


def _check_buttons(errors: Errors, key: str, component: dict, category: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        _add(errors, f"{key}.buttons", "BUTTONS needs a non-empty buttons list.")
        return
    if len(buttons) > BUTTONS_MAX:
        _add(errors, f"{key}.buttons", f"At most {BUTTONS_MAX} buttons (got {len(buttons)}).")
    counts: dict[str, int] = {}
    for index, button in enumerate(buttons):
        kind = _check_button(errors, f"{key}.buttons[{index}]", button, category)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    for kind, limit in BUTTON_LIMITS.items():
        if counts.get(kind, 0) > limit:
            _add(errors, f"{key}.buttons", f"At most {limit} {kind} button(s) (got {counts[kind]}).")
    commerce = [kind for kind in COMMERCE_BUTTONS if counts.get(kind)]
    if commerce and sum(counts.values()) > 1:
        _add(errors, f"{key}.buttons", f"A {commerce[0]} button is the template's only button.")


def template_errors(
    *,
    name: Any,
    language: Any,
    category: Any,
    components: Any,
    parameter_format: Any = "POSITIONAL",
) -> Errors:
    """Every rule the request breaks, keyed by field path; empty when Meta should accept it."""
    errors: Errors = {}
    if not _non_empty_str(name):
        _add(errors, "name", "Required.")
    elif len(name) > NAME_MAX:
        _add(errors, "name", f"At most {NAME_MAX} characters.")
    elif not NAME_RE.match(name):
        _add(errors, "name", "Only lowercase letters a-z, digits and underscores, e.g. order_update.")
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        _add(errors, "language", "A Meta language code such as en, en_US, es_MX or pt_BR.")
    category = str(category or "").upper()
    if category not in CATEGORIES:
        _add(errors, "category", f"Must be one of {', '.join(CATEGORIES)}.")
    parameter_format = str(parameter_format or "POSITIONAL").upper()
    if parameter_format not in PARAMETER_FORMATS:
        _add(errors, "parameter_format", f"Must be one of {', '.join(PARAMETER_FORMATS)}.")
        parameter_format = "POSITIONAL"
    if not isinstance(components, list) or not components:
        _add(errors, "components", "A non-empty list of components (at least a BODY).")
        return errors

    seen: dict[str, int] = {}
    for index, component in enumerate(components):
        key = f"components[{index}]"
        if not isinstance(component, dict):
            _add(errors, key, "Each component must be an object.")
            continue
        kind = str(component.get("type") or "").upper()
        if kind not in COMPONENT_TYPES:
            _add(errors, f"{key}.type", f"Must be one of {', '.join(COMPONENT_TYPES)}.")
            continue
        if kind in seen:
            _add(errors, f"{key}.type", f"Only one {kind} per template (already components[{seen[kind]}]).")
            continue
        seen[kind] = index
        if kind == "HEADER" and category == "AUTHENTICATION":
            _add(errors, f"{key}.type", "Authentication templates have no header.")
        elif kind == "HEADER":
            _check_header(errors, key, component, parameter_format)
        elif kind == "BODY":
            _check_body(errors, key, component, parameter_format, category)
        elif kind == "FOOTER":
            _check_footer(errors, key, component, category)
        elif kind == "BUTTONS":
            _check_buttons(errors, key, component, category)
        elif kind == "CAROUSEL":
            _check_carousel(errors, key, component, parameter_format, category)
        else:
            _check_offer(errors, key, component, category)
    if "BODY" not in seen:
        _add(errors, "components", "A BODY component is required.")
    _check_kinds(errors, components, seen, category)
    for key, text in _strings(components, "components"):
        if BROKEN_TEXT_RE.search(text):
            _add(errors, key, "Contains a control character or a broken character (U+FFFD): retype it.")
    return errors


def _buttons_of(component: Any) -> list[dict]:
    buttons = component.get("buttons") if isinstance(component, dict) else None
    return [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []


def _check_kinds(errors: Errors, components: list, seen: dict[str, int], category: str) -> None:
    """Rules across components: what authentication, carousel, limited-time offer, multi-product
    and single-product templates must (not) have."""
    buttons = _buttons_of(components[seen["BUTTONS"]]) if "BUTTONS" in seen else []
    types = [str(b.get("type") or "").upper() for b in buttons]
    header = components[seen["HEADER"]] if "HEADER" in seen else {}
    header_format = str(header.get("format") or "").upper() if isinstance(header, dict) else ""
    if category == "AUTHENTICATION":
        if types.count("OTP") != 1:
            _add(errors, "components", "An AUTHENTICATION template needs BUTTONS with one OTP button.")
        body = components[seen["BODY"]] if "BODY" in seen else {}
        flag = body.get("add_security_recommendation") if isinstance(body, dict) else None
        if flag is not None and not isinstance(flag, bool):
            _add(errors, f"components[{seen['BODY']}].add_security_recommendation", "Must be true or false.")
        footer = components[seen["FOOTER"]] if "FOOTER" in seen else {}
        minutes = footer.get("code_expiration_minutes") if isinstance(footer, dict) else None
        low, high = CODE_EXPIRATION_MINUTES
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high
        ):
            _add(
                errors, f"components[{seen['FOOTER']}].code_expiration_minutes", f"Minutes, {low} to {high}."
            )
    if "CAROUSEL" in seen:
        for other in ("HEADER", "FOOTER", "BUTTONS", "LIMITED_TIME_OFFER"):
            if other in seen:
                _add(
                    errors,
                    f"components[{seen[other]}].type",
                    f"A carousel template has no top-level {other}.",
                )
        if category not in ("MARKETING", "UTILITY"):
            _add(errors, "category", "Carousel templates are MARKETING or UTILITY.")
    if "LIMITED_TIME_OFFER" in seen:
        if category != "MARKETING":
            _add(errors, "category", "Limited-time offer templates are MARKETING.")
        if "FOOTER" in seen:
            _add(errors, f"components[{seen['FOOTER']}].type", "A limited-time offer template has no footer.")
    if "MPM" in types and header_format != "TEXT":
        _add(errors, "components", "A multi-product (MPM) template needs a TEXT header.")
    if "SPM" in types and header_format != "PRODUCT":
        _add(errors, "components", "A single-product (SPM) template needs a PRODUCT header.")
    if header_format == "PRODUCT" and "SPM" not in types:
        _add(errors, f"components[{seen['HEADER']}].format", "A PRODUCT header goes with an SPM button.")


def _check_offer(errors: Errors, key: str, component: dict, category: str) -> None:
    offer = component.get("limited_time_offer")
    if not isinstance(offer, dict):
        _add(
            errors,
            f"{key}.limited_time_offer",
            'Required: {"text": "Expiring offer!", "has_expiration": true}.',
        )
        return
    text = offer.get("text")
    if not _non_empty_str(text) or len(text) > OFFER_TEXT_MAX:
        _add(
            errors,
            f"{key}.limited_time_offer.text",
            f"The offer's headline, 1 to {OFFER_TEXT_MAX} characters.",
        )
    if "has_expiration" in offer and not isinstance(offer["has_expiration"], bool):
        _add(errors, f"{key}.limited_time_offer.has_expiration", "Must be true or false.")


def _check_carousel(errors: Errors, key: str, component: dict, parameter_format: str, category: str) -> None:
    """Media card carousel: 2 to 10 cards, each with an IMAGE or VIDEO (or PRODUCT) header, an
    optional body of at most 160 characters and 1 or 2 buttons; every card alike."""
    cards = component.get("cards")
    low, high = CAROUSEL_CARDS
    if not isinstance(cards, list) or not low <= len(cards) <= high:
        _add(errors, f"{key}.cards", f"A carousel has {low} to {high} cards.")
        return
    shapes = set()
    for index, card in enumerate(cards):
        card_key = f"{key}.cards[{index}]"
        parts = card.get("components") if isinstance(card, dict) else None
        if not isinstance(parts, list) or not parts:
            _add(errors, f"{card_key}.components", "Each card has components: HEADER, BODY, BUTTONS.")
            continue
        found: dict[str, tuple[int, dict]] = {}
        for part_index, part in enumerate(parts):
            part_key = f"{card_key}.components[{part_index}]"
            kind = str(part.get("type") or "").upper() if isinstance(part, dict) else ""
            if kind not in ("HEADER", "BODY", "BUTTONS") or kind in found:
                _add(errors, f"{part_key}.type", "A card takes one HEADER, one BODY and one BUTTONS.")
                continue
            found[kind] = (part_index, part)
            if kind == "HEADER":
                _check_header(errors, part_key, part, parameter_format)
                if str(part.get("format") or "").upper() not in CAROUSEL_HEADER_FORMATS:
                    _add(
                        errors, f"{part_key}.format", f"Must be one of {', '.join(CAROUSEL_HEADER_FORMATS)}."
                    )
            elif kind == "BODY":
                _check_body(errors, part_key, part, parameter_format, category)
                if len(str(part.get("text") or "")) > CAROUSEL_BODY_MAX:
                    _add(
                        errors,
                        f"{part_key}.text",
                        f"A card's body has at most {CAROUSEL_BODY_MAX} characters.",
                    )
            else:
                _check_buttons(errors, part_key, part, category)
                card_buttons = _buttons_of(part)
                if not 1 <= len(card_buttons) <= 2:
                    _add(errors, f"{part_key}.buttons", "A card has 1 or 2 buttons.")
                for button_index, button in enumerate(card_buttons):
                    if str(button.get("type") or "").upper() not in CAROUSEL_BUTTON_TYPES:
                        _add(
                            errors,
                            f"{part_key}.buttons[{button_index}].type",
                            f"A card's buttons are {', '.join(CAROUSEL_BUTTON_TYPES)}.",
                        )
        for required in ("HEADER", "BUTTONS"):
            if required not in found:
                _add(errors, f"{card_key}.components", f"Each card needs a {required}.")
        header = found.get("HEADER", (0, {}))[1]
        buttons = _buttons_of(found.get("BUTTONS", (0, {}))[1])
        shapes.add(
            (
                str(header.get("format") or "").upper(),
                tuple(str(b.get("type") or "").upper() for b in buttons),
            )
        )
    if len(shapes) > 1:
        _add(errors, f"{key}.cards", "Every card has the same header format and the same buttons, in order.")


def _strings(value: Any, key: str) -> list[tuple[str, str]]:
    """(field path, string) for every string inside `value`."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _strings(v, f"{key}.{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _strings(v, f"{key}[{i}]")]
    return []


def normalized(
    *, name: str, language: str, category: str, components: list[dict], parameter_format: str | None
) -> dict:
    """The payload Meta receives once `template_errors` found nothing: Meta's upper-case names."""
    out_components = []
    for component in components:
        component = {**component, "type": str(component["type"]).upper()}
        if "format" in component:
            component["format"] = str(component["format"]).upper()
        if isinstance(component.get("buttons"), list):
            component["buttons"] = [{**b, "type": str(b["type"]).upper()} for b in component["buttons"]]
        out_components.append(component)
    return {
        "name": name,
        "language": language,
        "category": category.upper(),
        "parameter_format": (parameter_format or "POSITIONAL").upper(),
        "components": out_components,
    }
