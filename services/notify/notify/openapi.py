"""The OpenAPI 3.1 document of the notify API, built from its marshmallow schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chassis.openapi import document as build_document
from chassis.openapi import errors, json_body, path, query
from notify import schemas

SCHEMAS = (
    "PreferencesIn",
    "PreferencesOut",
    "MessageOut",
    "InboxPage",
    "SubscriptionIn",
    "SubscriptionOut",
    "DeliveryOut",
    "DeliveryPage",
)
SECURED = [{"bearer": []}]
PAGE = [
    query("limit", "Page size, 1–200", {"type": "integer", "minimum": 1, "maximum": 200}),
    query("offset", "`next_offset` of the previous page", {"type": "integer", "minimum": 0, "maximum": 1000000}),
]
MAILBOX = query(
    "mailbox",
    "A unit's role mailbox, `<role>@<unit>` (its admin); default the caller's own",
    {"type": "string", "pattern": "^(reviewer|unit_admin|support_team)@[A-Z][A-Z0-9-]{0,63}$"},
)
STATUS = query("status", "Delivery status", {"type": "string", "enum": ["pending", "sent", "parked"]})


def _op(summary: str, ok: dict[str, Any], *codes: int, **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": SECURED, "responses": {**ok, **errors(401, *codes)}, **extra}


def _operations() -> dict[str, dict[str, Any]]:
    sub_id = path("subscription_id", "uuid")
    return {
        "/api/v1/inbox": {
            "get": _op(
                "The caller's messages and their role's at their unit, newest first",
                {"200": {"description": "A page", **json_body("InboxPage")}},
                422,
                parameters=[
                    query("unread", "`true`: unread only", {"type": "string", "enum": ["true", "false"]}),
                    *PAGE,
                ],
            )
        },
        "/api/v1/inbox/{message_id}/read": {
            "post": _op(
                "Mark a message read",
                {"204": {"description": "Read"}},
                404,
                503,
                parameters=[path("message_id", "uuid")],
            )
        },
        "/api/v1/inbox/read-all": {
            "post": _op(
                "Mark every message read",
                {
                    "200": {
                        "description": "How many",
                        **json_body({"type": "object", "properties": {"marked": {"type": "integer"}}}),
                    }
                },
                503,
            )
        },
        "/api/v1/preferences": {
            "get": _op(
                "Contact details and channels",
                {"200": {"description": "OK", **json_body("PreferencesOut")}},
                403,
                422,
                parameters=[MAILBOX],
            ),
            "put": _op(
                "Set contact details and channels (besides the in-app inbox)",
                {"200": {"description": "Saved", **json_body("PreferencesOut")}},
                403,
                413,
                415,
                422,
                503,
                parameters=[MAILBOX],
                requestBody={"required": True, **json_body("PreferencesIn")},
            ),
        },
        "/api/v1/webhooks": {
            "post": _op(
                "Subscribe a URL to events (signed with the secret)",
                {"201": {"description": "Subscribed", **json_body("SubscriptionOut")}},
                403,
                413,
                415,
                422,
                503,
                requestBody={"required": True, **json_body("SubscriptionIn")},
            ),
            "get": _op(
                "Webhook subscriptions",
                {
                    "200": {
                        "description": "OK",
                        **json_body({"type": "array", "items": {"$ref": "#/components/schemas/SubscriptionOut"}}),
                    }
                },
                403,
            ),
        },
        "/api/v1/webhooks/{subscription_id}/disable": {
            "post": _op(
                "Stop deliveries to a subscription",
                {"200": {"description": "Disabled", **json_body("SubscriptionOut")}},
                403,
                404,
                503,
                parameters=[sub_id],
            )
        },
        "/api/v1/webhooks/{subscription_id}/deliveries": {
            "get": _op(
                "A subscription's deliveries and their status",
                {"200": {"description": "A page", **json_body("DeliveryPage")}},
                403,
                404,
                422,
                parameters=[sub_id, STATUS, *PAGE],
            )
        },
        "/api/v1/deliveries": {
            "get": _op(
                "Every channel's deliveries (operators)",
                {"200": {"description": "A page", **json_body("DeliveryPage")}},
                403,
                422,
                parameters=[STATUS, *PAGE],
            )
        },
        "/api/v1/deliveries/{delivery_id}/replay": {
            "post": _op(
                "Send a parked delivery again",
                {"200": {"description": "Queued", **json_body("DeliveryOut")}},
                403,
                404,
                409,
                503,
                parameters=[path("delivery_id", "uuid")],
            )
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return build_document(
        "Nền tảng sáng kiến Công đoàn — notify API",
        "Hộp thư, cài đặt nhận thông báo, webhook cho hệ thống công đoàn khác.",
        [(name, getattr(schemas, name)) for name in SCHEMAS],
        _operations(),
    )
