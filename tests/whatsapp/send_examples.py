# ruff: noqa: E501, RUF001  (Meta's examples, verbatim)
"""Send bodies as Meta's Cloud API messages reference writes them (its examples, with real
values): one per send type and interactive kind. Shared by the API tests and the sandbox's."""

MEDIA_LINK = "https://cdn.example.com/media/file"

TYPES: dict[str, dict] = {
    "text": {
        "type": "text",
        "text": {"preview_url": True, "body": "As requested, here's the link: https://example.com"},
    },
    "image-id": {"type": "image", "image": {"id": "1479537139650973", "caption": "The best succulent ever?"}},
    "image-link": {"type": "image", "image": {"link": f"{MEDIA_LINK}.jpg", "caption": "Your order"}},
    "video": {"type": "video", "video": {"link": f"{MEDIA_LINK}.mp4", "caption": "A succulent eclipse!"}},
    "audio": {"type": "audio", "audio": {"id": "1013859600285441"}},
    "document": {
        "type": "document",
        "document": {"id": "1376223850470843", "filename": "order_abc123.pdf", "caption": "Your order"},
    },
    "sticker-id": {"type": "sticker", "sticker": {"id": "798882015472548"}},
    "sticker-link": {"type": "sticker", "sticker": {"link": f"{MEDIA_LINK}.webp"}},
    "location": {
        "type": "location",
        "location": {
            "latitude": 37.44216251868683,
            "longitude": -122.16153582049394,
            "name": "Philz Coffee",
            "address": "101 Forest Ave, Palo Alto, CA 94301",
        },
    },
    "contacts": {
        "type": "contacts",
        "contacts": [
            {
                "addresses": [
                    {
                        "street": "1 Lucky Shrub Way",
                        "city": "Menlo Park",
                        "state": "CA",
                        "zip": "94025",
                        "country": "United States",
                        "country_code": "US",
                        "type": "Office",
                    }
                ],
                "birthday": "1999-01-23",
                "emails": [{"email": "bjohnson@luckyshrub.com", "type": "Work"}],
                "name": {
                    "formatted_name": "Barbara J. Johnson",
                    "first_name": "Barbara",
                    "last_name": "Johnson",
                    "middle_name": "Joana",
                    "suffix": "Esq.",
                    "prefix": "Dr.",
                },
                "org": {"company": "Lucky Shrub", "department": "Legal", "title": "Lead Counsel"},
                "phones": [
                    {"phone": "+16505559999", "type": "Landline"},
                    {"phone": "+19195551234", "type": "Mobile", "wa_id": "19195551234"},
                ],
                "urls": [{"url": "https://www.luckyshrub.com", "type": "Company"}],
            }
        ],
    },
    "reaction": {
        "type": "reaction",
        "reaction": {
            "message_id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA",
            "emoji": "\U0001f600",
        },
    },
}

INTERACTIVE: dict[str, dict] = {
    "button": {
        "type": "button",
        "header": {"type": "image", "image": {"id": "2762702990552401"}},
        "body": {
            "text": "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!"
        },
        "footer": {"text": "Lucky Shrub: Your gateway to succulents!™"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
            ]
        },
    },
    "list": {
        "type": "list",
        "header": {"type": "text", "text": "Choose Shipping Option"},
        "body": {"text": "Which shipping option do you prefer?"},
        "footer": {"text": "Lucky Shrub: Your gateway to succulents™"},
        "action": {
            "button": "Shipping Options",
            "sections": [
                {
                    "title": "I want it ASAP!",
                    "rows": [
                        {
                            "id": "priority_express",
                            "title": "Priority Mail Express",
                            "description": "Next Day to 2 Days",
                        },
                        {"id": "priority_mail", "title": "Priority Mail", "description": "1–3 Days"},
                    ],
                },
                {
                    "title": "I can wait a bit",
                    "rows": [
                        {
                            "id": "ground_advantage",
                            "title": "USPS Ground Advantage",
                            "description": "2–5 Days",
                        }
                    ],
                },
            ],
        },
    },
    "cta_url": {
        "type": "cta_url",
        "header": {
            "type": "image",
            "image": {"link": "https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"},
        },
        "body": {"text": "Tap the button below to see available dates."},
        "footer": {"text": "Dates subject to change."},
        "action": {
            "name": "cta_url",
            "parameters": {
                "display_text": "See Dates",
                "url": "https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4",
            },
        },
    },
    "flow": {
        "type": "flow",
        "header": {"type": "text", "text": "Flow message header"},
        "body": {"text": "Flow message body"},
        "footer": {"text": "Flow message footer"},
        "action": {
            "name": "flow",
            "parameters": {
                "flow_message_version": "3",
                "flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.",
                "flow_id": "1",
                "flow_cta": "Book!",
                "flow_action": "navigate",
                "flow_action_payload": {
                    "screen": "<SCREEN_NAME>",
                    "data": {
                        "product_name": "name",
                        "productDescription": "description",
                        "product_price": 100,
                    },
                },
            },
        },
    },
    "location_request_message": {
        "type": "location_request_message",
        "body": {
            "text": "Let's start with your pickup. You can either manually *enter an address* or *share your current location*."
        },
        "action": {"name": "send_location"},
    },
    "product": {
        "type": "product",
        "body": {"text": "Hi Pablo! Check out this succulent."},
        "footer": {"text": "Lucky Shrub"},
        "action": {"catalog_id": "194836987003835", "product_retailer_id": "di9ozbzfi4"},
    },
    "product_list": {
        "type": "product_list",
        "header": {"type": "text", "text": "Our top succulents"},
        "body": {"text": "Hi Pablo! Here are our best sellers."},
        "footer": {"text": "Lucky Shrub"},
        "action": {
            "catalog_id": "194836987003835",
            "sections": [
                {
                    "title": "Bestsellers",
                    "product_items": [
                        {"product_retailer_id": "di9ozbzfi4"},
                        {"product_retailer_id": "nqryix03ez"},
                    ],
                },
                {"title": "New arrivals", "product_items": [{"product_retailer_id": "p07oq4yvb7"}]},
            ],
        },
    },
    "catalog_message": {
        "type": "catalog_message",
        "body": {
            "text": "Hello! Thanks for your interest. Ordering is easy. Just visit our catalog and add items to purchase."
        },
        "footer": {"text": "Best grocery deals on WhatsApp!"},
        "action": {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": "2lc20305pt"}},
    },
    "order_details": {
        "type": "order_details",
        "header": {"type": "image", "image": {"link": "https://www.luckyshrub.com/order.png"}},
        "body": {"text": "Your order is ready to pay."},
        "footer": {"text": "Lucky Shrub"},
        "action": {
            "name": "review_and_pay",
            "parameters": {
                "reference_id": "ref-0001",
                "type": "physical-goods",
                "payment_type": "br",
                "payment_settings": [
                    {
                        "type": "pix_dynamic_code",
                        "pix_dynamic_code": {
                            "code": "00020101021226700014br.gov.bcb.pix",
                            "merchant_name": "Lucky Shrub",
                            "key": "39580525000189",
                            "key_type": "CNPJ",
                        },
                    }
                ],
                "currency": "BRL",
                "total_amount": {"value": 50000, "offset": 100},
                "order": {
                    "status": "pending",
                    "tax": {"value": 0, "offset": 100, "description": "optional text"},
                    "items": [
                        {
                            "retailer_id": "1234567",
                            "name": "Cake",
                            "amount": {"value": 50000, "offset": 100},
                            "quantity": 1,
                        }
                    ],
                    "subtotal": {"value": 50000, "offset": 100},
                },
            },
        },
    },
    "order_status": {
        "type": "order_status",
        "body": {"text": "Your order has shipped."},
        "action": {
            "name": "review_order",
            "parameters": {
                "reference_id": "ref-0001",
                "order": {"status": "shipped", "description": "On its way"},
            },
        },
    },
    "carousel": {
        "type": "carousel",
        "body": {"text": "Check out our latest offers!"},
        "action": {
            "cards": [
                {
                    "card_index": index,
                    "type": "cta_url",
                    "header": {
                        "type": "image",
                        "image": {"link": f"https://www.luckyshrub.com/card{index}.png"},
                    },
                    "body": {"text": f"Offer {index}"},
                    "action": {
                        "name": "cta_url",
                        "parameters": {"display_text": "Shop now", "url": "https://www.luckyshrub.com/shop"},
                    },
                }
                for index in range(2)
            ]
        },
    },
    "voice_call": {
        "type": "voice_call",
        "body": {"text": "You can call us on WhatsApp now for faster service!"},
        "action": {
            "name": "voice_call",
            "parameters": {"display_text": "Call on WhatsApp", "ttl_minutes": 100},
        },
    },
    "address_message": {
        "type": "address_message",
        "body": {"text": "Thanks for your order! Tell us what address you'd like this order delivered to."},
        "action": {"name": "address_message", "parameters": {"country": "IN"}},
    },
}

ALL: dict[str, dict] = {
    **TYPES,
    **{f"interactive-{k}": {"type": "interactive", "interactive": v} for k, v in INTERACTIVE.items()},
}
