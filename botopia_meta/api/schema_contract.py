"""The typed parts of the API contract that drf-spectacular cannot infer, applied by the
schema's postprocessing hook (botopia_meta/api/schema.py) after the names are camelCased:

- JSON fields (JSONField / DictField) get their real shape: one variant per message type, per
  template component, per template parameter part; Meta's structures keep Meta's names (they
  pass through the API untouched, see botopia_meta/api/camel.py OPAQUE_KEYS).
- Every operation gets a summary, a tag by platform, its error codes by HTTP status, and
  camelCase path parameters (the URL paths themselves are unchanged: only the placeholder is
  renamed in the schema).

Kept here rather than on each serializer and view so the product code stays as it is; a view's
own extend_schema(summary=...) wins over the table below. tests/test_api_contract.py fails on an
untyped property, a missing summary or a snake_case path parameter."""

import logging
import re
from typing import Any

from botopia_meta.api.camel import to_camel

logger = logging.getLogger(__name__)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _described(name: str, description: str) -> dict:
    """A reference with its own description (OpenAPI 3.0 ignores siblings of a bare $ref)."""
    return {"allOf": [_ref(name)], "description": description}


STRING_LIST = {"type": "array", "items": {"type": "string"}}
# Data Meta defines and passes on (a Flow's data, an order): any object.
FREE_OBJECT = {"type": "object", "properties": {}, "additionalProperties": True}
AMOUNT = {"type": "object", "properties": {"value": {"type": "integer"}, "offset": {"type": "integer"}}}
HTTPS_URL = {"type": "string", "format": "uri", "pattern": "^https://", "maxLength": 2048}

# --- message content: one object per send type -------------------------------------------
SCHEMAS: dict[str, dict] = {
    "TextContent": {
        "type": "object",
        "description": "A text message.",
        "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": 4096},
            "previewUrl": {"type": "boolean", "description": "Show a preview of the first URL."},
        },
        "required": ["body"],
    },
    "MediaContent": {
        "type": "object",
        "description": "Image, document, audio, video or sticker: exactly one of `link` or `id`. Audio "
        "and stickers take no caption; only documents take a filename.",
        "properties": {
            "link": HTTPS_URL,
            "id": {"type": "string", "description": "A media id uploaded to Meta."},
            "caption": {"type": "string", "maxLength": 1024},
            "filename": {"type": "string", "maxLength": 240},
        },
    },
    "InteractiveReplyButton": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["reply"]},
            "reply": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "maxLength": 256},
                    "title": {"type": "string", "maxLength": 20},
                },
                "required": ["id", "title"],
            },
        },
        "required": ["type", "reply"],
    },
    "InteractiveListSection": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 24},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "maxLength": 200},
                        "title": {"type": "string", "maxLength": 24},
                        "description": {"type": "string", "maxLength": 72},
                    },
                    "required": ["id", "title"],
                },
            },
        },
        "required": ["rows"],
    },
    "InteractiveHeader": {
        "type": "object",
        "description": "text (at most 60 characters) or a media header (button, cta_url, flow; list "
        "and product_list take text only; order_details an image).",
        "properties": {
            "type": {"type": "string", "enum": ["text", "image", "video", "document"]},
            "text": {"type": "string", "maxLength": 60},
            "image": _ref("MediaContent"),
            "video": _ref("MediaContent"),
            "document": _ref("MediaContent"),
        },
        "required": ["type"],
    },
    "InteractiveContent": {
        "type": "object",
        "description": "Meta's interactive object, every kind of its messages reference: `button` "
        "(1-3 reply buttons), `list` (1-10 sections, 10 rows in all), `cta_url`, `flow`, "
        "`location_request_message`, `product`, `product_list` (1-10 sections, 30 products), "
        "`catalog_message`, `order_details`, `order_status`, `carousel` (2-10 cards), `voice_call`, "
        "`address_message`. Meta's names, passed to Meta unchanged.",
        "properties": {
            "type": {
                "type": "string",
                "enum": [
                    "button",
                    "list",
                    "cta_url",
                    "flow",
                    "location_request_message",
                    "product",
                    "product_list",
                    "catalog_message",
                    "order_details",
                    "order_status",
                    "carousel",
                    "voice_call",
                    "address_message",
                ],
            },
            "header": _ref("InteractiveHeader"),
            "body": {
                "type": "object",
                "properties": {"text": {"type": "string", "maxLength": 4096}},
                "required": ["text"],
                "description": "At most 1024 characters (4096 for a list).",
            },
            "footer": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 60}}},
            "action": {
                "type": "object",
                "properties": {
                    "buttons": {"type": "array", "items": _ref("InteractiveReplyButton"), "maxItems": 3},
                    "button": {"type": "string", "maxLength": 20, "description": "The list's button label."},
                    "sections": {
                        "type": "array",
                        "maxItems": 10,
                        "items": {
                            "anyOf": [
                                _ref("InteractiveListSection"),
                                {
                                    "type": "object",
                                    "description": "A product_list section.",
                                    "properties": {
                                        "title": {"type": "string", "maxLength": 24},
                                        "product_items": {
                                            "type": "array",
                                            "maxItems": 30,
                                            "items": {
                                                "type": "object",
                                                "properties": {"product_retailer_id": {"type": "string"}},
                                                "required": ["product_retailer_id"],
                                            },
                                        },
                                    },
                                    "required": ["product_items"],
                                },
                            ]
                        },
                    },
                    "name": {
                        "type": "string",
                        "description": "cta_url, flow, send_location, catalog_message, review_and_pay, "
                        "review_order, voice_call or address_message.",
                    },
                    "parameters": {
                        "type": "object",
                        "description": "The kind's parameters as Meta names them (cta_url: display_text, "
                        "url; flow: flow_message_version, flow_id or flow_name, flow_cta, flow_token, "
                        "flow_action, flow_action_payload, mode; ...).",
                        "properties": {
                            **{
                                k: {"type": "string"}
                                for k in (
                                    "display_text",
                                    "url",
                                    "flow_message_version",
                                    "flow_token",
                                    "flow_id",
                                    "flow_name",
                                    "flow_cta",
                                    "flow_action",
                                    "mode",
                                    "thumbnail_product_retailer_id",
                                    "reference_id",
                                    "type",
                                    "currency",
                                    "payment_type",
                                    "country",
                                )
                            },
                            "flow_action_payload": {
                                "type": "object",
                                "properties": {"screen": {"type": "string"}, "data": FREE_OBJECT},
                            },
                            "total_amount": AMOUNT,
                            "order": FREE_OBJECT,
                            "ttl_minutes": {"type": "integer"},
                        },
                        "additionalProperties": True,
                    },
                    "catalog_id": {"type": "string"},
                    "product_retailer_id": {"type": "string"},
                    "cards": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 10,
                        "items": {
                            "type": "object",
                            "properties": {
                                "card_index": {"type": "integer"},
                                "type": {"type": "string", "enum": ["cta_url"]},
                                "header": _ref("InteractiveHeader"),
                                "body": {"type": "object", "properties": {"text": {"type": "string"}}},
                                "action": FREE_OBJECT,
                            },
                        },
                    },
                },
            },
        },
        "required": ["type", "action"],
    },
    "LocationContent": {
        "type": "object",
        "description": "A location pin.",
        "properties": {
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "name": {"type": "string"},
            "address": {"type": "string"},
        },
        "required": ["latitude", "longitude"],
    },
    "ContactCard": {
        "type": "object",
        "description": "Meta's contact card: name.formatted_name and one more name part required.",
        "properties": {
            "name": {
                "type": "object",
                "properties": {
                    k: {"type": "string"}
                    for k in ("formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix")
                },
                "required": ["formatted_name"],
            },
            "phones": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {k: {"type": "string"} for k in ("phone", "type", "wa_id")},
                },
            },
            "emails": {
                "type": "array",
                "items": {"type": "object", "properties": {k: {"type": "string"} for k in ("email", "type")}},
            },
            "urls": {
                "type": "array",
                "items": {"type": "object", "properties": {k: {"type": "string"} for k in ("url", "type")}},
            },
            "addresses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        k: {"type": "string"}
                        for k in ("street", "city", "state", "zip", "country", "country_code", "type")
                    },
                },
            },
            "org": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in ("company", "department", "title")},
            },
            "birthday": {"type": "string", "format": "date"},
        },
        "required": ["name"],
    },
    "TemplateSendComponent": {
        "type": "object",
        "description": "Meta's send component, checked against the template: header, body, button "
        "(with sub_type and index), carousel (cards) or limited_time_offer.",
        "properties": {
            "type": {
                "type": "string",
                "enum": ["header", "body", "button", "carousel", "limited_time_offer"],
            },
            "sub_type": {
                "type": "string",
                "enum": ["url", "quick_reply", "copy_code", "flow", "catalog", "mpm", "spm", "voice_call"],
            },
            "index": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "parameters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "Meta's parameter: {type: text, text} | currency | date_time | image | "
                    "video | document | location | payload | coupon_code | action | limited_time_offer.",
                    "properties": {"type": {"type": "string"}, "text": {"type": "string"}},
                    "additionalProperties": True,
                },
            },
            "cards": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "card_index": {"type": "integer"},
                        "components": {"type": "array", "items": {"type": "object", "properties": {}}},
                    },
                },
            },
        },
        "required": ["type"],
    },
    "ReactionContent": {
        "type": "object",
        "properties": {
            "messageId": {"type": "string", "description": "The wamid of the message reacted to."},
            "emoji": {"type": "string", "maxLength": 10, "description": "Empty removes the reaction."},
        },
        "required": ["messageId"],
    },
    "TemplateLanguage": {
        "oneOf": [
            {"type": "string", "description": "A language code, e.g. en_US."},
            {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
        ]
    },
    "TemplateParameters": {
        "type": "object",
        "description": "Values for the template's placeholders. Named keys are the template's own "
        "placeholder names (passed through as written).",
        "properties": {
            "header": {
                "oneOf": [
                    {**STRING_LIST, "description": "Positional text header values."},
                    {
                        "type": "object",
                        "description": "Named text header values, or the media of a media header.",
                        "properties": {
                            "image": _ref("MediaContent"),
                            "video": _ref("MediaContent"),
                            "document": _ref("MediaContent"),
                        },
                        "additionalProperties": {"type": "string"},
                    },
                ]
            },
            "body": {
                "oneOf": [
                    {**STRING_LIST, "description": "Positional body values ({{1}}, {{2}}...)."},
                    {
                        "type": "object",
                        "description": "Named body values ({{first_name}}...).",
                        "additionalProperties": {"type": "string"},
                    },
                ]
            },
            "buttons": {
                "type": "array",
                "description": "One value per template button, by position: a dynamic URL's suffix, a "
                "COPY_CODE code; null for the others.",
                "items": {"type": "string", "nullable": True},
            },
        },
    },
    "TemplateSend": {
        "type": "object",
        "description": "An APPROVED template of the number's WABA, with its parameters.",
        "properties": {
            "name": {"type": "string"},
            "language": _ref("TemplateLanguage"),
            "parameters": _ref("TemplateParameters"),
            "components": {
                "type": "array",
                "items": _ref("TemplateSendComponent"),
                "description": "Meta's own components shape, instead of `parameters`.",
            },
        },
        "required": ["name", "language"],
    },
    "BroadcastTemplate": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "language": _ref("TemplateLanguage")},
        "required": ["name", "language"],
    },
    "BroadcastRecipient": {
        "type": "object",
        "properties": {
            "to": {"type": "string", "description": "A phone number in international format."},
            "parameters": _ref("TemplateParameters"),
        },
        "required": ["to"],
    },
    # --- template components, as Meta defines them (Meta's names) --------------------------
    "TemplateHeaderComponent": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["HEADER"]},
            "format": {"type": "string", "enum": ["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]},
            "text": {"type": "string", "maxLength": 60},
            "example": {
                "type": "object",
                "properties": {
                    "header_text": STRING_LIST,
                    "header_handle": STRING_LIST,
                    "header_text_named_params": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"param_name": {"type": "string"}, "example": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "required": ["type", "format"],
    },
    "TemplateBodyComponent": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["BODY"]},
            "text": {"type": "string", "maxLength": 1024},
            "add_security_recommendation": {"type": "boolean"},
            "example": {
                "type": "object",
                "properties": {
                    "body_text": {"type": "array", "items": STRING_LIST},
                    "body_text_named_params": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"param_name": {"type": "string"}, "example": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "required": ["type"],
    },
    "TemplateFooterComponent": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["FOOTER"]},
            "text": {"type": "string", "maxLength": 60},
            "code_expiration_minutes": {"type": "integer"},
        },
        "required": ["type"],
    },
    "TemplateButton": {
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "enum": ["QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM"],
            },
            "text": {"type": "string", "maxLength": 25},
            "url": {"type": "string"},
            "phone_number": {"type": "string"},
            "otp_type": {"type": "string", "enum": ["COPY_CODE", "ONE_TAP", "ZERO_TAP"]},
            "example": {"oneOf": [STRING_LIST, {"type": "string"}]},
            "flow_id": {"type": "string"},
        },
        "required": ["type"],
    },
    "TemplateButtonsComponent": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["BUTTONS"]},
            "buttons": {"type": "array", "items": _ref("TemplateButton"), "maxItems": 10},
        },
        "required": ["type", "buttons"],
    },
    "TemplateOtherComponent": {
        "type": "object",
        "description": "A component type Meta added that we pass through as Meta gives it.",
        "properties": {"type": {"type": "string"}},
        "required": ["type"],
        "additionalProperties": True,
    },
    "TemplateComponent": {
        "anyOf": [
            _ref("TemplateHeaderComponent"),
            _ref("TemplateBodyComponent"),
            _ref("TemplateFooterComponent"),
            _ref("TemplateButtonsComponent"),
            _ref("TemplateOtherComponent"),
        ]
    },
    # --- what comes back --------------------------------------------------------------------
    "MessageContent": {
        "type": "object",
        "description": "The message's `<type>` object as sent to or received from Meta (Meta's "
        "names): body for text; id, link, caption, mime_type for media; name, language and "
        "components for a template; the interactive object or its reply.",
        "properties": {
            "body": {"type": "string"},
            "preview_url": {"type": "boolean"},
            "link": {"type": "string"},
            "id": {"type": "string"},
            "caption": {"type": "string"},
            "filename": {"type": "string"},
            "mime_type": {"type": "string"},
            "sha256": {"type": "string"},
            "name": {"type": "string"},
            "language": {
                "oneOf": [{"type": "string"}, {"type": "object", "properties": {"code": {"type": "string"}}}]
            },
            "components": {
                "type": "array",
                "items": {"type": "object", "properties": {"type": {"type": "string"}}},
            },
            "message_id": {"type": "string"},
            "emoji": {"type": "string"},
            "type": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "MetaErrorDetail": {
        "type": "object",
        "description": "What Meta answered when it refused.",
        "properties": {
            "code": {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
            "subcode": {"type": "integer", "nullable": True},
            "message": {"type": "string", "nullable": True},
            "fbtraceId": {"type": "string", "nullable": True},
        },
        "additionalProperties": True,
    },
    "SubscriptionError": {
        "type": "object",
        "properties": {
            "metaCode": {"type": "integer"},
            "metaSubcode": {"type": "integer"},
            "metaMessage": {"type": "string"},
            "fbtraceId": {"type": "string"},
        },
    },
    "InboxAttachment": {
        "type": "object",
        "description": "A Messenger / Instagram attachment as Meta gives it.",
        "properties": {
            "type": {"type": "string", "description": "image, video, audio, file, ..."},
            "payload": {
                "type": "object",
                "properties": {"url": {"type": "string"}},
                "additionalProperties": True,
            },
        },
        "additionalProperties": True,
    },
    "WebhookFields": {
        "type": "object",
        "description": "Meta object (whatsapp_business_account, page, instagram) → its subscribed fields "
        "(Meta's names: messages, feed, ...).",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}

# (component, property) → the property's schema.
PROPERTIES: dict[tuple[str, str], dict] = {
    **{
        ("MessageSendRequest", kind): _described("MediaContent", f"Required when type is {kind}.")
        for kind in ("image", "document", "audio", "video", "sticker")
    },
    ("MessageSendRequest", "location"): _described("LocationContent", "Required when type is location."),
    ("MessageSendRequest", "contacts"): {
        "type": "array",
        "items": _ref("ContactCard"),
        "minItems": 1,
        "description": "Required when type is contacts.",
    },
    ("MessageSendRequest", "text"): _described("TextContent", "Required when type is text."),
    ("MessageSendRequest", "template"): _described("TemplateSend", "Required when type is template."),
    ("MessageSendRequest", "interactive"): _described(
        "InteractiveContent", "Required when type is interactive."
    ),
    ("MessageSendRequest", "reaction"): _described("ReactionContent", "Required when type is reaction."),
    ("BroadcastCreateRequest", "template"): _ref("BroadcastTemplate"),
    ("BroadcastCreateRequest", "recipients"): {
        "type": "array",
        "items": _ref("BroadcastRecipient"),
        "minItems": 1,
        "maxItems": 100_000,
    },
    ("Template", "components"): {"type": "array", "items": _ref("TemplateComponent")},
    ("TemplateEditRequest", "components"): {"type": "array", "items": _ref("TemplateComponent")},
    ("TemplateWriteRequest", "components"): {"type": "array", "items": _ref("TemplateComponent")},
    ("WebhookConfig", "fields"): _ref("WebhookFields"),
    ("AuditEntry", "details"): {
        "type": "object",
        "description": "What changed, by name (names and ids; never a token or a body).",
        "additionalProperties": {
            "oneOf": [
                {"type": "string"},
                {"type": "integer"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "boolean"}},
            ],
            "nullable": True,
        },
    },
    ("InstagramPublish", "mediaUrls"): {"type": "array", "items": {"type": "string", "format": "uri"}},
    ("InstagramPublish", "error"): _described("MetaErrorDetail", "Why it failed (empty otherwise)."),
    ("InboxMessage", "error"): {"allOf": [_ref("MetaErrorDetail")], "nullable": True},
    ("InboxMessage", "attachments"): {"type": "array", "items": _ref("InboxAttachment")},
    ("SubscriptionResult", "error"): _ref("SubscriptionError"),
    ("Message", "content"): {"allOf": [_ref("MessageContent")], "readOnly": True},
    ("NotificationList", "pagination"): _ref("Pagination"),
    ("InstagramPublishList", "pagination"): _ref("Pagination"),
    ("FacebookScheduledPostList", "pagination"): _ref("Pagination"),
}

# Request bodies whose unknown fields are refused (400 naming them), not ignored.
CLOSED = (
    "MessageReadRequest", "TypingIndicatorRequest", "MessageContextRequest", "TextContent", "MediaContent",
    "LocationContent", "ContactCard", "ReactionContent", "InteractiveReplyButton", "InteractiveHeader",
)  # fmt: skip

# One variant per message type: the send body, as a whole, for each `type`.
SEND_TYPES = (
    "text", "template", "image", "document", "audio", "video", "sticker", "location", "contacts",
    "interactive", "reaction",
)  # fmt: skip

# --- per operation --------------------------------------------------------------------------
SUMMARIES: dict[str, str] = {
    "auth_token_create": "Trade a username and password for an API token",
    "analytics_insights": "Insights Meta computes (reach, impressions...) for one asset",
    "analytics_overview": "Totals across every platform for a date range",
    "analytics_report": "A report of the daily figures (JSON or CSV)",
    "analytics_settings": "The account's analytics settings (its reporting time zone)",
    "analytics_settings_update": "Change the reporting time zone (re-cuts the daily figures)",
    "meta_auth_connect_create": "Connect a Meta account from an OAuth code",
    "meta_auth_disconnect_create": "Disconnect a Meta account (revokes our access at Meta)",
    "meta_auth_refresh_token_create": "Exchange the account's token for a fresh long-lived one",
    "meta_auth_status_retrieve": "The connected Meta account, its token state and permissions",
    "inbox_comments_list": "Comments on the Facebook Pages and Instagram accounts, newest first",
    "inbox_comment_delete": "Delete a comment at Meta",
    "inbox_comment_hide": "Hide a comment at Meta",
    "inbox_comment_reply": "Reply to a comment",
    "inbox_comment_unhide": "Show a hidden comment again",
    "inbox_conversations_list": "Messenger and Instagram conversations, latest activity first",
    "inbox_conversation_messages_list": "The messages of a conversation, newest first",
    "inbox_conversation_message_send": "Queue a reply in a conversation",
    "inbox_conversation_read": "Mark a conversation read",
    "facebook_pages_list": "The Facebook Pages the account manages",
    "facebook_page_connect": "Connect a Page (subscribes it to webhooks)",
    "facebook_page_disconnect": "Disconnect a Page",
    "facebook_pages_sync": "Re-read the account's Pages from Meta",
    "facebook_posts_list": "A Page's published posts, from Meta",
    "facebook_posts_create": "Publish or schedule a Page post",
    "facebook_scheduled_post_cancel": "Cancel a scheduled post",
    "facebook_scheduled_posts_list": "Scheduled Page posts not published yet",
    "instagram_accounts_list": "The Instagram business accounts linked to the Pages",
    "instagram_account_connect": "Connect an Instagram account",
    "instagram_account_disconnect": "Disconnect an Instagram account",
    "instagram_media_list": "An Instagram account's published media, from Meta",
    "instagram_media_publish": "Publish or schedule an image, video, reel, story or carousel",
    "instagram_publishes_list": "Instagram publishes and their progress",
    "instagram_publish_get": "One Instagram publish and its progress",
    "instagram_publish_cancel": "Cancel a publish not started yet",
    "whatsapp_broadcasts_get": "A broadcast and its progress per status",
    "whatsapp_messages_list": "WhatsApp messages sent and received, newest first",
    "whatsapp_messages_get": "One WhatsApp message and its delivery status",
    "whatsapp_metrics": "WhatsApp message figures over time (sent, delivered, read, failed...)",
    "whatsapp_templates_get": "One message template from our mirror",
    "whatsapp_templates_delete": "Delete this language of a template at Meta",
}

TAGS = [
    ("/api/auth/", "Auth", "API tokens for Botopia users."),
    ("/api/meta/auth/", "Meta connection", "Connecting a Meta account, its token and permissions."),
    ("/api/meta/whatsapp/", "WhatsApp", "WhatsApp Business: numbers, messages, broadcasts, templates."),
    ("/api/meta/facebook/", "Facebook", "Facebook Pages and their posts."),
    ("/api/meta/instagram/", "Instagram", "Instagram business accounts and publishing."),
    ("/api/meta/comments", "Inbox", "Comments and conversations of Pages and Instagram accounts."),
    ("/api/meta/conversations", "Inbox", ""),
    ("/api/meta/notifications", "Notifications", "What the dashboard's activity feed shows."),
    ("/api/meta/webhook", "Webhooks", "Meta's webhook subscription of the account."),
    ("/api/meta/analytics/", "Analytics", "Figures over time, insights and reports."),
    ("/api/orgs", "Organizations", "Organizations, their members and roles, invitations, the audit log."),
    ("/api/invitations/", "Organizations", ""),
]

# HTTP status → what each error code means (botopia_meta/api/errors.py and the exceptions).
ERROR_STATUS = {
    "VALIDATION_ERROR": 400,
    "MALFORMED_JSON": 400,
    "BAD_REQUEST": 400,
    "INVALID_CREDENTIALS": 400,
    "META_AUTH_FAILED": 400,
    "AUTHENTICATION_REQUIRED": 401,
    "META_TOKEN_EXPIRED": 401,
    "PERMISSION_DENIED": 403,
    "MISSING_META_PERMISSION": 403,
    "INVITATION_EMAIL_MISMATCH": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "NOT_ACCEPTABLE": 406,
    "CONFLICT": 409,
    "ACCOUNT_NOT_CONNECTED": 409,
    "NO_ORGANIZATION": 409,
    "OUTSIDE_SERVICE_WINDOW": 409,
    "TEMPLATE_EDIT_REFUSED": 409,
    "PAGE_NOT_AVAILABLE": 409,
    "LAST_OWNER": 409,
    "ALREADY_MEMBER": 409,
    "INVITATION_USED": 409,
    "INVITATION_EXPIRED": 410,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "META_API_ERROR": 502,
    "META_UNAVAILABLE": 503,
    "SERVICE_UNAVAILABLE": 503,
}
META_CALL = [
    "ACCOUNT_NOT_CONNECTED",
    "META_TOKEN_EXPIRED",
    "MISSING_META_PERMISSION",
    "META_API_ERROR",
    "META_UNAVAILABLE",
]
# Paths whose operations act on the request's organization (X-Organization-Id or the default).
ORGANIZATION_SCOPED = "/api/meta/"
# Operations that call Meta while answering, and the codes particular to one operation.
SPECIFIC_ERRORS: dict[str, list[str]] = {
    "auth_token_create": ["INVALID_CREDENTIALS"],
    "meta_auth_connect_create": [
        "META_AUTH_FAILED",
        "META_API_ERROR",
        "META_UNAVAILABLE",
        "MISSING_META_PERMISSION",
    ],
    "meta_auth_refresh_token_create": META_CALL,
    "meta_auth_disconnect_create": ["META_API_ERROR", "META_UNAVAILABLE"],
    "inbox_comment_delete": META_CALL,
    "inbox_comment_hide": META_CALL,
    "inbox_comment_unhide": META_CALL,
    "inbox_comment_reply": META_CALL,
    "inbox_conversation_message_send": ["ACCOUNT_NOT_CONNECTED", "OUTSIDE_SERVICE_WINDOW"],
    "inbox_conversation_read": META_CALL,
    "facebook_page_connect": META_CALL,
    "facebook_page_disconnect": META_CALL,
    "facebook_pages_sync": META_CALL,
    "facebook_posts_list": META_CALL,
    "facebook_posts_create": META_CALL,
    "facebook_scheduled_post_cancel": [*META_CALL, "CONFLICT"],
    "instagram_account_connect": [*META_CALL, "PAGE_NOT_AVAILABLE"],
    "instagram_account_disconnect": META_CALL,
    "instagram_media_list": [*META_CALL, "PAGE_NOT_AVAILABLE"],
    "instagram_media_publish": ["ACCOUNT_NOT_CONNECTED", "PAGE_NOT_AVAILABLE"],
    "instagram_publish_cancel": ["CONFLICT"],
    "analytics_insights": META_CALL,
    "meta_webhook_configure_create": META_CALL,
    "whatsapp_account": ["ACCOUNT_NOT_CONNECTED"],
    "whatsapp_business_profile_update": META_CALL,
    "whatsapp_account_refresh": META_CALL,
    "whatsapp_broadcasts_create": ["ACCOUNT_NOT_CONNECTED", "MISSING_META_PERMISSION"],
    "whatsapp_broadcasts_cancel": ["CONFLICT"],
    "whatsapp_messages_send": [
        "ACCOUNT_NOT_CONNECTED",
        "MISSING_META_PERMISSION",
        "OUTSIDE_SERVICE_WINDOW",
        "CONFLICT",
    ],
    "whatsapp_messages_mark_read": META_CALL,
    "whatsapp_templates_create": [*META_CALL, "CONFLICT"],
    "whatsapp_templates_update": [*META_CALL, "TEMPLATE_EDIT_REFUSED"],
    "whatsapp_templates_delete": META_CALL,
    "whatsapp_templates_sync": META_CALL,
    "orgs_rename": ["PERMISSION_DENIED"],
    "orgs_delete": ["PERMISSION_DENIED", "META_API_ERROR", "META_UNAVAILABLE"],
    "orgs_members_update": ["PERMISSION_DENIED", "LAST_OWNER"],
    "orgs_members_remove": ["PERMISSION_DENIED", "LAST_OWNER"],
    "orgs_invitations_list": ["PERMISSION_DENIED"],
    "orgs_invitations_create": ["PERMISSION_DENIED", "ALREADY_MEMBER"],
    "orgs_invitations_revoke": ["PERMISSION_DENIED"],
    "orgs_audit_list": ["PERMISSION_DENIED"],
    "invitations_accept": [
        "INVITATION_EMAIL_MISMATCH",
        "ALREADY_MEMBER",
        "INVITATION_USED",
        "INVITATION_EXPIRED",
    ],
}


def _error_codes(operation: dict, path: str, method: str) -> list[str]:
    codes = ["RATE_LIMITED", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE"]
    if path != "/api/auth/token":
        codes.append("AUTHENTICATION_REQUIRED")
    if "requestBody" in operation:
        codes += ["VALIDATION_ERROR", "MALFORMED_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"]
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        codes.append("VALIDATION_ERROR")
    if path.startswith(ORGANIZATION_SCOPED):
        # orgs.context and orgs.permissions: a foreign or malformed X-Organization-Id, no
        # organization at all, a role without the operation's permission.
        codes += ["NOT_FOUND", "NO_ORGANIZATION", "PERMISSION_DENIED"]
    if "{" in path or any(
        p.get("in") == "query" and p["name"].endswith("Id") for p in operation.get("parameters", [])
    ):
        codes.append("NOT_FOUND")
    codes += SPECIFIC_ERRORS.get(operation.get("operationId", ""), [])
    return sorted(dict.fromkeys(codes), key=lambda code: (ERROR_STATUS[code], code))


def _errors(operation: dict, path: str, method: str) -> None:
    by_status: dict[int, list[str]] = {}
    for code in _error_codes(operation, path, method):
        by_status.setdefault(ERROR_STATUS[code], []).append(code)
    for status, codes in by_status.items():
        operation["responses"].setdefault(
            str(status),
            {
                "description": " or ".join(f"`{code}`" for code in codes),
                "content": {
                    "application/json": {
                        "schema": _ref("ErrorEnvelope"),
                        "examples": {
                            code: {
                                "value": {
                                    "success": False,
                                    "error": {"code": code, "message": "…", "details": {}},
                                }
                            }
                            for code in codes
                        },
                    }
                },
            },
        )
    operation["x-error-codes"] = [code for codes in by_status.values() for code in codes]


def _tag(path: str) -> str:
    return next((name for prefix, name, _ in TAGS if path.startswith(prefix)), "Other")


def _send_variants(components: dict) -> None:
    """MessageSendRequest: one variant per `type`, each naming the object it requires."""
    base = components.get("MessageSendRequest")
    if not base:
        return
    common = {k: v for k, v in base["properties"].items() if k not in SEND_TYPES}
    variants = []
    for kind in SEND_TYPES:
        name = f"{kind.capitalize()}MessageSendRequest"
        components[name] = {
            "type": "object",
            "description": f"A {kind} message.",
            "properties": {
                **common,
                "type": {"type": "string", "enum": [kind]},
                kind: base["properties"][kind],
            },
            "required": ["to", "type", kind],
            # Nothing a user sends is silently dropped: any other field is refused.
            "additionalProperties": False,
        }
        variants.append(_ref(name))
    base["oneOf"] = variants
    base["discriminator"] = {
        "propertyName": "type",
        "mapping": {
            kind: f"#/components/schemas/{kind.capitalize()}MessageSendRequest" for kind in SEND_TYPES
        },
    }


CURSOR_PARAMETER = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 1024},
    "description": "pagination.nextCursor of the previous page: the next page, at any depth, as fast "
    "as the first (offset stops at 10000). Opaque and signed: an altered cursor, or one of another "
    "list, is a 400 VALIDATION_ERROR naming `cursor`.",
}


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 10_000},
        "description": "Rows to skip, at most 10000 (deeper: `cursor`). Not with `cursor`.",
    },
    CURSOR_PARAMETER,
]


def _pages_our_table(operation: dict, components: dict) -> bool:
    """Its answer carries our `Pagination` (botopia_meta.api.pagination), not Meta's cursors."""
    schema = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
    data = schema.get("schema", {}).get("properties", {}).get("data", {}).get("$ref", "")
    listing = components.get(data.rsplit("/", 1)[-1], {}) if data else {}
    return listing.get("properties", {}).get("pagination") == _ref("Pagination")


def _page_parameters(operation: dict, components: dict) -> None:
    """Every list paged over our own tables documents limit, offset and cursor (the cursor
    wherever offset is taken: botopia_meta.api.pagination serves both)."""
    parameters = operation.setdefault("parameters", [])
    names = {(p.get("in"), p.get("name")) for p in parameters}
    if ("query", "offset") not in names and not _pages_our_table(operation, components):
        return
    for parameter in PAGE_PARAMETERS:
        if parameter["name"] == "offset" and ("query", "offset") in names:
            for existing in parameters:
                if (existing.get("in"), existing.get("name")) == ("query", "offset"):
                    existing.setdefault("schema", {})["maximum"] = 10_000
        if ("query", parameter["name"]) not in names:
            parameters.append(dict(parameter))
        elif parameter["name"] == "cursor":  # a serializer's own: the documented one wins
            parameters[:] = [p for p in parameters if (p.get("in"), p.get("name")) != ("query", "cursor")]
            parameters.append(dict(parameter))


def apply(result: dict) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.update(SCHEMAS)
    for (component, prop), schema in PROPERTIES.items():
        properties = components.get(component, {}).get("properties")
        if properties is None or prop not in properties:
            logger.warning(
                "schema contract: %s.%s is gone; update botopia_meta/api/schema_contract.py", component, prop
            )
            continue
        properties[prop] = schema
    _send_variants(components)
    for name in CLOSED:
        if name in components:
            components[name]["additionalProperties"] = False
    # ErrorEnvelope.details: field → messages for a validation error, else named values.
    details = components.get("ErrorEnvelope", {}).get("properties", {}).get("error", {}).get("properties", {})
    if "details" in details:
        details["details"] = {
            "type": "object",
            "description": "VALIDATION_ERROR: field → its messages; others: named values (metaCode, "
            "retryAfter, ...).",
            "additionalProperties": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "integer"},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "array", "items": {"type": "string"}},
                    {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                ],
                "nullable": True,
            },
        }

    paths: dict[str, Any] = {}
    for path, item in result.get("paths", {}).items():
        renamed = re.sub(r"\{(\w+)\}", lambda m: "{" + path_parameter_name(m.group(1)) + "}", path)
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["name"] = path_parameter_name(parameter["name"])
            if not operation.get("summary"):
                summary = SUMMARIES.get(operation.get("operationId", ""))
                if summary:
                    operation["summary"] = summary
            operation["tags"] = [_tag(path)]
            _page_parameters(operation, components)
            _errors(operation, path, method)
        paths[renamed] = item
    result["paths"] = paths
    seen: dict[str, str] = {}
    for _prefix, name, description in TAGS:
        if description and name not in seen:
            seen[name] = description
    result["tags"] = [{"name": name, "description": description} for name, description in seen.items()]
    return result


def path_parameter_name(name: str) -> str:
    """post_pk → postId, comment_id → commentId, wa_id → waId."""
    if name.endswith("_pk"):
        name = name[: -len("_pk")] + "_id"
    return to_camel(name)
