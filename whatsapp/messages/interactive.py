"""Meta's interactive messages, one shape per kind (`interactive.type`), with the limits of
Meta's Cloud API messages reference: header, body and footer lengths, button, row, section
and product counts, the `action` each kind takes. Checked by whatsapp.messages.payloads."""

import re
from typing import Any

from whatsapp.messages.shapes import (
    Anything,
    List,
    Media,
    Num,
    Obj,
    Shape,
    Str,
    at,
    const,
    invalid,
)

HEADER_TEXT_MAX = 60
BODY_MAX = 1024
LIST_BODY_MAX = 4096
FOOTER_MAX = 60
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
ROW_ID_MAX = 200
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24
PRODUCTS_MAX = 30
CAROUSEL_CARDS = (2, 10)


def _header(*types: str) -> Obj:
    def rule(value: dict, path: str) -> None:
        kind = value["type"]
        if kind == "text" and not value.get("text"):
            raise invalid(at(path, "text"), "Required for a text header.")
        if kind != "text" and value.get(kind) is None:
            raise invalid(at(path, kind), f"Required for a {kind} header.")
        for other in ("text", "image", "video", "document"):
            if other != kind and value.get(other) is not None:
                raise invalid(at(path, other), f"A {kind} header takes no `{other}`.")

    fields: dict[str, Shape] = {"type": Str(choices=types), "text": Str(max=HEADER_TEXT_MAX)}
    for kind in ("image", "video", "document"):
        if kind in types:
            fields[kind] = Media(filename=kind == "document")
    return Obj(fields, required=("type",), rules=(rule,), what="`header`")


def _text(limit: int) -> Obj:
    return Obj({"text": Str(max=limit)}, required=("text",), what="It")


MEDIA_HEADER = _header("text", "image", "video", "document")
TEXT_HEADER = _header("text")
BODY = _text(BODY_MAX)
FOOTER = _text(FOOTER_MAX)


def _kind(
    action: Shape,
    *,
    header: Shape | None = None,
    header_required: bool = False,
    body: Shape | None = BODY,
    body_required: bool = True,
    footer: bool = True,
) -> Obj:
    fields: dict[str, Shape] = {"type": Str(), "action": action}
    required = ["type", "action"]
    if header is not None:
        fields["header"] = header
        if header_required:
            required.append("header")
    if body is not None:
        fields["body"] = body
        if body_required:
            required.append("body")
    if footer:
        fields["footer"] = FOOTER
    return Obj(fields, required=tuple(required), what="This interactive kind")


def _named(name: str, parameters: Shape | None = None, *, parameters_required: bool = True) -> Obj:
    fields: dict[str, Shape] = {"name": const(name)}
    if parameters is not None:
        fields["parameters"] = parameters
    required = ("name", "parameters") if parameters is not None and parameters_required else ("name",)
    return Obj(fields, required=required, what="`action`")


REPLY_BUTTON = Obj(
    {
        "type": const("reply"),
        "reply": Obj(
            {"id": Str(max=BUTTON_ID_MAX), "title": Str(max=BUTTON_TITLE_MAX)},
            required=("id", "title"),
            what="`reply`",
        ),
    },
    required=("type", "reply"),
    what="A reply button",
)


def _list_rows(value: dict, path: str) -> None:
    sections = value["sections"]
    rows = sum(len(s.get("rows") or []) for s in sections)
    if rows > 10:
        raise invalid(at(path, "sections"), f"At most 10 rows in all sections together (got {rows}).")
    if len(sections) > 1:
        for index, section in enumerate(sections):
            if not section.get("title"):
                raise invalid(
                    at(at(at(path, "sections"), index), "title"), "Required when there are several sections."
                )


LIST_ACTION = Obj(
    {
        "button": Str(max=BUTTON_TITLE_MAX),
        "sections": List(
            Obj(
                {
                    "title": Str(max=SECTION_TITLE_MAX),
                    "rows": List(
                        Obj(
                            {
                                "id": Str(max=ROW_ID_MAX),
                                "title": Str(max=ROW_TITLE_MAX),
                                "description": Str(max=ROW_DESCRIPTION_MAX),
                            },
                            required=("id", "title"),
                            what="A row",
                        ),
                        max=10,
                        unique=lambda row: row.get("id"),
                        unique_field="id",
                    ),
                },
                required=("rows",),
                what="A section",
            ),
            max=10,
        ),
    },
    required=("button", "sections"),
    rules=(_list_rows,),
    what="`action`",
)

PRODUCT_ITEM = Obj(
    {"product_retailer_id": Str(max=100)}, required=("product_retailer_id",), what="A product item"
)


def _product_count(value: dict, path: str) -> None:
    total = sum(len(s.get("product_items") or []) for s in value["sections"])
    if total > PRODUCTS_MAX:
        raise invalid(at(path, "sections"), f"At most {PRODUCTS_MAX} products in all sections (got {total}).")
    if len(value["sections"]) > 1:
        for index, section in enumerate(value["sections"]):
            if not section.get("title"):
                raise invalid(
                    at(at(at(path, "sections"), index), "title"), "Required when there are several sections."
                )


PRODUCT_LIST_ACTION = Obj(
    {
        "catalog_id": Str(max=64),
        "sections": List(
            Obj(
                {"title": Str(max=SECTION_TITLE_MAX), "product_items": List(PRODUCT_ITEM, max=PRODUCTS_MAX)},
                required=("product_items",),
                what="A section",
            ),
            max=10,
        ),
    },
    required=("catalog_id", "sections"),
    rules=(_product_count,),
    what="`action`",
)


def _flow_identity(value: dict, path: str) -> None:
    if bool(value.get("flow_id")) == bool(value.get("flow_name")):
        raise invalid(at(path, "flow_id"), "Give exactly one of `flow_id` or `flow_name`.")
    payload = value.get("flow_action_payload")
    if value.get("flow_action", "navigate") == "navigate":
        if payload is None:
            raise invalid(
                at(path, "flow_action_payload"), "Required when flow_action is navigate (the default)."
            )
        if not payload.get("screen"):
            raise invalid(
                at(at(path, "flow_action_payload"), "screen"), "Required when flow_action is navigate."
            )
        if "data" in payload and not payload["data"]:
            raise invalid(at(at(path, "flow_action_payload"), "data"), "When given, a non-empty object.")
    if value.get("flow_action") == "data_exchange" and payload is not None:
        raise invalid(at(path, "flow_action_payload"), "Only a navigate flow takes a flow_action_payload.")


FLOW_PARAMETERS = Obj(
    {
        "flow_message_version": const("3"),
        "flow_token": Str(max=1024),
        "flow_id": Str(max=64),
        "flow_name": Str(max=200),
        "flow_cta": Str(max=20),
        "flow_action": Str(choices=("navigate", "data_exchange")),
        "flow_action_payload": Obj(
            {"screen": Str(max=200), "data": Anything()}, what="`flow_action_payload`"
        ),
        "mode": Str(choices=("draft", "published")),
    },
    required=("flow_message_version", "flow_cta"),
    rules=(_flow_identity,),
    what="A flow's `parameters`",
)

AMOUNT = Obj(
    {"value": Num(lo=0, integer=True), "offset": Num(lo=1, integer=True), "description": Str(max=60)},
    required=("value", "offset"),
    what="An amount",
)
ORDER_ITEM = Obj(
    {
        "retailer_id": Str(max=100),
        "product_id": Str(max=100),
        "name": Str(max=60),
        "amount": AMOUNT,
        "sale_amount": AMOUNT,
        "quantity": Num(lo=1, integer=True),
        "country_of_origin": Str(max=100),
        "importer_name": Str(max=200),
        "importer_address": Anything(),
        "image": Anything(),
        "description": Str(max=200),
    },
    required=("retailer_id", "name", "amount", "quantity"),
    what="An order item",
)
ORDER_DETAILS_PARAMETERS = Obj(
    {
        "reference_id": Str(max=35),
        "type": Str(choices=("digital-goods", "physical-goods")),
        "payment_type": Str(max=60),
        "payment_settings": List(Anything()),
        "payment_configuration": Str(max=60),
        "currency": Str(pattern=re.compile(r"^[A-Z]{3}$"), hint="A currency code, e.g. BRL."),
        "total_amount": AMOUNT,
        "order": Obj(
            {
                "status": const("pending"),
                "type": Str(max=60),
                "catalog_id": Str(max=64),
                "expiration": Obj(
                    {"timestamp": Str(max=20), "description": Str(max=120)},
                    required=("timestamp",),
                    what="`expiration`",
                ),
                "items": List(ORDER_ITEM, max=999),
                "subtotal": AMOUNT,
                "tax": AMOUNT,
                "shipping": AMOUNT,
                "discount": Obj(
                    {
                        "value": Num(lo=0, integer=True),
                        "offset": Num(lo=1, integer=True),
                        "description": Str(max=60),
                        "discount_program_name": Str(max=60),
                    },
                    required=("value", "offset"),
                    what="`discount`",
                ),
            },
            required=("status", "items", "subtotal", "tax"),
            what="`order`",
        ),
    },
    required=("reference_id", "type", "currency", "total_amount", "order"),
    what="`parameters`",
)
ORDER_STATUS_PARAMETERS = Obj(
    {
        "reference_id": Str(max=35),
        "order": Obj(
            {
                "status": Str(
                    choices=("pending", "processing", "partially-shipped", "shipped", "completed", "canceled")
                ),
                "description": Str(max=120),
            },
            required=("status",),
            what="`order`",
        ),
        "payment": Anything(),
    },
    required=("reference_id", "order"),
    what="`parameters`",
)


def _carousel_cards(value: dict, path: str) -> None:
    cards = value["cards"]
    for index, card in enumerate(cards):
        if card.get("card_index") != index:
            raise invalid(
                at(at(at(path, "cards"), index), "card_index"), f"Must be {index} (cards in order from 0)."
            )
    kinds = {card.get("type") for card in cards}
    if len(kinds) > 1:
        raise invalid(at(path, "cards"), "Every card is of the same type.")


CAROUSEL_ACTION = Obj(
    {
        "cards": List(
            Obj(
                {
                    "card_index": Num(lo=0, hi=9, integer=True),
                    "type": Str(choices=("cta_url",)),
                    "header": _header("image", "video"),
                    "body": BODY,
                    "action": _named(
                        "cta_url",
                        Obj(
                            {"display_text": Str(max=BUTTON_TITLE_MAX), "url": Str(max=2000, https=True)},
                            required=("display_text", "url"),
                            what="`parameters`",
                        ),
                    ),
                },
                required=("card_index", "type", "header", "action"),
                what="A card",
            ),
            min=CAROUSEL_CARDS[0],
            max=CAROUSEL_CARDS[1],
        )
    },
    required=("cards",),
    rules=(_carousel_cards,),
    what="`action`",
)

# Every interactive kind Meta's messages reference documents, and its shape.
KINDS: dict[str, Obj] = {
    "button": _kind(
        Obj(
            {
                "buttons": List(
                    REPLY_BUTTON,
                    max=3,
                    unique=lambda b: (b.get("reply") or {}).get("id"),
                    unique_field="reply.id",
                )
            },
            required=("buttons",),
            what="`action`",
        ),
        header=MEDIA_HEADER,
    ),
    "list": _kind(LIST_ACTION, header=TEXT_HEADER, body=_text(LIST_BODY_MAX)),
    "cta_url": _kind(
        _named(
            "cta_url",
            Obj(
                {"display_text": Str(max=BUTTON_TITLE_MAX), "url": Str(max=2000, https=True)},
                required=("display_text", "url"),
                what="`parameters`",
            ),
        ),
        header=MEDIA_HEADER,
    ),
    "flow": _kind(_named("flow", FLOW_PARAMETERS), header=MEDIA_HEADER),
    "location_request_message": _kind(_named("send_location"), footer=False),
    "product": _kind(
        Obj(
            {"catalog_id": Str(max=64), "product_retailer_id": Str(max=100)},
            required=("catalog_id", "product_retailer_id"),
            what="`action`",
        ),
        body_required=False,
    ),
    "product_list": _kind(PRODUCT_LIST_ACTION, header=TEXT_HEADER, header_required=True),
    "catalog_message": _kind(
        _named(
            "catalog_message",
            Obj({"thumbnail_product_retailer_id": Str(max=100)}, what="`parameters`"),
            parameters_required=False,
        )
    ),
    "order_details": _kind(_named("review_and_pay", ORDER_DETAILS_PARAMETERS), header=_header("image")),
    "order_status": _kind(_named("review_order", ORDER_STATUS_PARAMETERS)),
    "carousel": _kind(CAROUSEL_ACTION, footer=False),
    "voice_call": _kind(
        _named(
            "voice_call",
            Obj(
                {
                    "display_text": Str(max=BUTTON_TITLE_MAX),
                    "ttl_minutes": Num(lo=1, hi=43200, integer=True),
                    "payload": Str(max=512),
                },
                required=("display_text",),
                what="`parameters`",
            ),
        ),
    ),
    "address_message": _kind(
        _named(
            "address_message",
            Obj(
                {
                    "country": Str(pattern=re.compile(r"^[A-Z]{2}$"), hint="A country code, e.g. IN."),
                    "values": Anything(),
                    "saved_addresses": List(Anything(), max=10),
                    "validation_errors": Anything(),
                },
                required=("country",),
                what="`parameters`",
            ),
        ),
        header=TEXT_HEADER,
    ),
}
INTERACTIVE_KINDS = tuple(KINDS)


def check_interactive(value: Any) -> dict:
    if not isinstance(value, dict):
        raise invalid("interactive", "Must be an object.")
    kind = value.get("type")
    if kind not in KINDS:
        raise invalid("interactive.type", f"Must be one of {', '.join(INTERACTIVE_KINDS)}.")
    KINDS[kind].check(value, "interactive")
    return value
