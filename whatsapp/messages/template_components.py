"""A template send written Meta's way (`template.components`), checked against our mirror of the
template before any Graph call: which components take parameters, how many and of which type,
named parameters' names, button indexes and sub-types, carousel cards, limited-time offers.
The components pass to Meta unchanged. Our own `parameters` shape is built by substitution.py."""

from typing import Any

from whatsapp.messages.shapes import Anything, List, Media, Num, Obj, Shape, Str, at, const, invalid
from whatsapp.messages.substitution import POSITIONAL, SubstitutionError, placeholders, text_value

# A mirror button type → the `sub_type` a send names it with, and the parameter it takes.
BUTTON_SUB_TYPES = {
    "URL": "url",
    "QUICK_REPLY": "quick_reply",
    "COPY_CODE": "copy_code",
    "OTP": "url",  # authentication templates: the code rides on the button, as Meta documents
    "FLOW": "flow",
    "CATALOG": "catalog",
    "MPM": "mpm",
    "SPM": "spm",
    "VOICE_CALL": "voice_call",
}
MEDIA_KINDS = ("image", "video", "document")
PRODUCT_ITEMS = List(
    Obj({"product_retailer_id": Str(max=100)}, required=("product_retailer_id",), what="A product item"),
    max=30,
)
ACTIONS: dict[str, Obj] = {
    "flow": Obj({"flow_token": Str(max=1024), "flow_action_data": Anything()}, what="`action`"),
    "catalog": Obj({"thumbnail_product_retailer_id": Str(max=100)}, what="`action`"),
    "mpm": Obj(
        {
            "thumbnail_product_retailer_id": Str(max=100),
            "sections": List(
                Obj(
                    {"title": Str(max=24), "product_items": PRODUCT_ITEMS},
                    required=("title", "product_items"),
                    what="A section",
                ),
                max=10,
            ),
        },
        required=("thumbnail_product_retailer_id", "sections"),
        what="`action`",
    ),
}
CURRENCY = Obj(
    {"fallback_value": Str(max=1024), "code": Str(max=3), "amount_1000": Num(integer=True)},
    required=("fallback_value", "code", "amount_1000"),
    what="`currency`",
)
DATE_TIME = Obj({"fallback_value": Str(max=1024)}, required=("fallback_value",), what="`date_time`")
# A location: a send of type `location` and a template's LOCATION header take the same object.
LOCATION = Obj(
    {
        "latitude": Num(lo=-90, hi=90, strings=True),
        "longitude": Num(lo=-180, hi=180, strings=True),
        "name": Str(max=1000),
        "address": Str(max=1000),
    },
    required=("latitude", "longitude"),
    what="`location`",
)


def _upper(value: Any) -> str:
    return str(value or "").upper()


def _mirror(components: list[dict]) -> dict[str, dict]:
    return {_upper(c.get("type")): c for c in components or [] if isinstance(c, dict)}


def _text_param(value: dict, path: str, *, types: tuple[str, ...], named: list[str] | None) -> None:
    kind = value.get("type")
    if kind not in types:
        raise invalid(at(path, "type"), f"Must be one of {', '.join(types)}.")
    fields: dict[str, Shape] = {
        "type": Str(),
        kind: {"text": Str(), "currency": CURRENCY, "date_time": DATE_TIME}[kind],
    }
    if named is not None:
        fields["parameter_name"] = Str(choices=tuple(named))
    required = ("type", kind, "parameter_name") if named is not None else ("type", kind)
    Obj(fields, required=required, what="A parameter").check(value, path)
    if kind == "text":
        try:
            text_value(value["text"], "")
        except SubstitutionError as exc:
            raise invalid(at(path, "text"), exc.message) from None


def _parameters(given: Any, path: str, count: int) -> list:
    parameters = given.get("parameters") if isinstance(given, dict) else None
    if not isinstance(parameters, list):
        raise invalid(at(path, "parameters"), "Must be a list.")
    if len(parameters) != count:
        raise invalid(
            at(path, "parameters"), f"The template expects {count} parameter(s) here, got {len(parameters)}."
        )
    for index, item in enumerate(parameters):
        if not isinstance(item, dict):
            raise invalid(at(at(path, "parameters"), index), "Must be an object.")
    return parameters


def _text_parameters(given: dict, path: str, text: str, parameter_format: str) -> None:
    names = placeholders(text, parameter_format)
    parameters = _parameters(given, path, len(names))
    named = names if parameter_format == "NAMED" else None
    seen: set[str] = set()
    for index, item in enumerate(parameters):
        item_path = at(at(path, "parameters"), index)
        _text_param(item, item_path, types=("text", "currency", "date_time"), named=named)
        if named is not None:
            if item["parameter_name"] in seen:
                raise invalid(at(item_path, "parameter_name"), "Given twice.")
            seen.add(item["parameter_name"])


def _header(given: dict, path: str, mirror: dict, parameter_format: str) -> None:
    fmt = _upper(mirror.get("format") or "TEXT")
    if fmt == "TEXT":
        _text_parameters(given, path, mirror.get("text", ""), parameter_format)
        return
    (item,) = _parameters(given, path, 1)
    kind = fmt.lower()
    item_path = at(at(path, "parameters"), 0)
    if fmt == "LOCATION":
        Obj(
            {"type": const("location"), "location": LOCATION}, required=("type", "location"), what="It"
        ).check(item, item_path)
    elif kind in MEDIA_KINDS:
        Obj(
            {"type": const(kind), kind: Media(filename=kind == "document")},
            required=("type", kind),
            what="The media header parameter",
        ).check(item, item_path)
    elif fmt == "PRODUCT":
        product = Obj(
            {"catalog_id": Str(max=64), "product_retailer_id": Str(max=100)},
            required=("catalog_id", "product_retailer_id"),
            what="`product`",
        )
        Obj({"type": const("product"), "product": product}, required=("type", "product"), what="It").check(
            item, item_path
        )


def _button(given: dict, path: str, buttons: list[dict]) -> int:
    index = given.get("index")
    try:
        position = int(str(index))
    except (TypeError, ValueError):
        raise invalid(at(path, "index"), 'Required: the button\'s position, "0" to "9".') from None
    if not 0 <= position < len(buttons):
        raise invalid(
            at(path, "index"), f"The template has {len(buttons)} button(s): 0 to {len(buttons) - 1}."
        )
    mirror = buttons[position] if isinstance(buttons[position], dict) else {}
    expected = BUTTON_SUB_TYPES.get(_upper(mirror.get("type")))
    if expected is None:
        raise invalid(at(path, "index"), f"Button {position} ({mirror.get('type')}) takes no parameter.")
    if given.get("sub_type") != expected:
        raise invalid(
            at(path, "sub_type"), f"Button {position} is {mirror.get('type')}: sub_type must be {expected!r}."
        )
    if (
        expected == "url"
        and _upper(mirror.get("type")) == "URL"
        and not POSITIONAL.search(mirror.get("url") or "")
    ):
        raise invalid(at(path, "index"), f"Button {position}'s URL is fixed: it takes no parameter.")
    if expected == "voice_call":
        return position
    (item,) = _parameters(given, path, 1)
    item_path = at(at(path, "parameters"), 0)
    if expected == "url":
        _text_param(item, item_path, types=("text",), named=None)
    elif expected == "quick_reply":
        Obj(
            {"type": const("payload"), "payload": Str(max=1000)}, required=("type", "payload"), what="It"
        ).check(item, item_path)
    elif expected == "copy_code":
        Obj(
            {"type": const("coupon_code"), "coupon_code": Str(max=15)},
            required=("type", "coupon_code"),
            what="It",
        ).check(item, item_path)
    elif expected in ACTIONS:
        Obj(
            {"type": const("action"), "action": ACTIONS[expected]}, required=("type", "action"), what="It"
        ).check(item, item_path)
    return position


def _needs(mirror: dict[str, dict], parameter_format: str) -> dict[str, str]:
    """The parts a send must give, and why."""
    needs: dict[str, str] = {}
    header = mirror.get("HEADER")
    if header is not None:
        fmt = _upper(header.get("format") or "TEXT")
        if fmt != "TEXT" or placeholders(header.get("text", ""), parameter_format):
            needs["header"] = f"The template's {fmt} header needs its parameter."
    if placeholders((mirror.get("BODY") or {}).get("text", ""), parameter_format):
        needs["body"] = "The template's body has placeholders."
    if "CAROUSEL" in mirror:
        needs["carousel"] = "The template is a carousel: give its cards."
    if "LIMITED_TIME_OFFER" in mirror and (mirror["LIMITED_TIME_OFFER"].get("limited_time_offer") or {}).get(
        "has_expiration"
    ):
        needs["limited_time_offer"] = "The offer expires: give its expiration_time_ms."
    return needs


def check_components(*, components: list[dict], parameter_format: str, given: Any, path: str) -> None:
    """400 naming the field when `given` (Meta's send `components`) does not fit the template."""
    parameter_format = _upper(parameter_format) or "POSITIONAL"
    if not isinstance(given, list):
        raise invalid(path, "Must be a list of components.")
    mirror = _mirror(components)
    buttons = [b for b in (mirror.get("BUTTONS") or {}).get("buttons") or []]
    seen: set[str] = set()
    pressed: set[int] = set()
    for index, component in enumerate(given):
        item_path = at(path, index)
        if not isinstance(component, dict):
            raise invalid(item_path, "Must be an object.")
        kind = component.get("type")
        if kind not in ("header", "body", "button", "carousel", "limited_time_offer"):
            raise invalid(
                at(item_path, "type"), "Must be one of header, body, button, carousel, limited_time_offer."
            )
        allowed = {"type", "parameters"} | ({"sub_type", "index"} if kind == "button" else set())
        allowed |= {"cards"} if kind == "carousel" else set()
        for key in component:
            if key not in allowed:
                raise invalid(
                    at(item_path, key),
                    f"Unknown field. A {kind} component takes: {', '.join(sorted(allowed))}.",
                )
        if kind == "button":
            position = _button(component, item_path, buttons)
            if position in pressed:
                raise invalid(at(item_path, "index"), f"Button {position} is given twice.")
            pressed.add(position)
            continue
        if kind in seen:
            raise invalid(at(item_path, "type"), f"Only one {kind} component.")
        seen.add(kind)
        source = mirror.get(kind.upper())
        if source is None:
            raise invalid(at(item_path, "type"), f"The template has no {kind.upper()} component.")
        if kind == "header":
            _header(component, item_path, source, parameter_format)
        elif kind == "body":
            _text_parameters(component, item_path, source.get("text", ""), parameter_format)
        elif kind == "carousel":
            _carousel(component, item_path, source, parameter_format)
        else:
            (offer,) = _parameters(component, item_path, 1)
            Obj(
                {
                    "type": const("limited_time_offer"),
                    "limited_time_offer": Obj(
                        {"expiration_time_ms": Num(lo=0, integer=True)},
                        required=("expiration_time_ms",),
                        what="`limited_time_offer`",
                    ),
                },
                required=("type", "limited_time_offer"),
                what="It",
            ).check(offer, at(at(item_path, "parameters"), 0))
    for part, why in _needs(mirror, parameter_format).items():
        if part not in seen:
            raise invalid(path, f"Missing the {part} component. {why}")
    for position, button in enumerate(buttons):
        btype = _upper(button.get("type") if isinstance(button, dict) else "")
        dynamic = btype in ("COPY_CODE", "OTP") or (
            btype == "URL" and POSITIONAL.search(button.get("url") or "")
        )
        if dynamic and position not in pressed:
            raise invalid(
                path, f"Missing the button component for button {position} ({btype}): it takes a parameter."
            )


def _carousel(given: dict, path: str, mirror: dict, parameter_format: str) -> None:
    cards = given.get("cards")
    expected = mirror.get("cards") or []
    if not isinstance(cards, list) or len(cards) != len(expected):
        raise invalid(at(path, "cards"), f"The template has {len(expected)} card(s): give one entry each.")
    for index, card in enumerate(cards):
        card_path = at(at(path, "cards"), index)
        Obj(
            {"card_index": Num(lo=0, integer=True), "components": Anything(types=(list,))},
            required=("card_index", "components"),
            what="A card",
        ).check(card, card_path)
        if card["card_index"] != index:
            raise invalid(at(card_path, "card_index"), f"Must be {index} (cards in order from 0).")
        card_mirror = expected[index] if isinstance(expected[index], dict) else {}
        check_components(
            components=card_mirror.get("components") or [],
            parameter_format=parameter_format,
            given=card["components"],
            path=at(card_path, "components"),
        )
