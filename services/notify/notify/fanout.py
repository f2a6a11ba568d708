"""Notices become rows: an inbox message each, and a delivery per outside channel the recipient chose.

Contacts and webhook subscriptions are read for a whole batch at once; the rows are plain dicts,
written by the caller in one statement per table (`notify.writing`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chassis.envelope import dumps
from notify import audience
from notify.audience import Notice
from notify.models import Contact, Subscription

ADDRESS_OF = {"email": "email", "zalo": "zalo_user_id", "sms": "phone"}
CONTACTS = Contact.__table__
SUBSCRIPTIONS = Subscription.__table__
Row = dict[str, Any]


def contacts(session: Session, recipients: Collection[str]) -> dict[str, Row | None]:
    """Each recipient's language, channels and addresses (None: never gave any): one query."""
    if not recipients:
        return {}
    c = CONTACTS.c
    found = session.execute(
        select(c.recipient, c.language, c.channels, c.email, c.phone, c.zalo_user_id).where(
            c.recipient.in_(sorted(recipients))
        )
    ).mappings()
    known: dict[str, Row | None] = dict.fromkeys(recipients)
    known.update((r["recipient"], dict(r)) for r in found)
    return known


def language(contact: Row | None) -> str:
    return (contact or {}).get("language") or "vi"


def message_row(event_id: str, notice: Notice, subject: str, body: str, now: datetime) -> Row:
    initiative_id = notice.context.get("initiative_id")
    return {
        "id": str(uuid.uuid4()),
        "recipient": notice.recipient,
        "event_id": event_id,
        "category": notice.category,
        "subject": subject[:500],
        "body": body,
        "initiative_id": initiative_id if isinstance(initiative_id, str) else None,
        "created_at": now,
        "read_at": None,
    }


def delivery_row(
    event_id: str, recipient: str, channel: str, category: str, address: str, subject: str, body: str, now: datetime
) -> Row:
    return {
        "id": str(uuid.uuid4()),
        "event_id": event_id,
        "recipient": recipient,
        "channel": channel,
        "category": category,
        "address": address,
        "subject": subject[:500],
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def deliveries_to(
    contact: Row | None, event_id: str, notice: Notice, subject: str, body: str, now: datetime
) -> list[Row]:
    """A delivery per outside channel the recipient chose and gave an address for."""
    rows = []
    for channel in (contact or {}).get("channels") or []:
        address = contact.get(ADDRESS_OF[channel]) if contact and channel in ADDRESS_OF else None
        if address:
            rows.append(delivery_row(event_id, notice.recipient, channel, notice.category, address, subject, body, now))
    return rows


def subscriptions(session: Session) -> list[Row]:
    """The active webhook subscriptions: read once per batch."""
    s = SUBSCRIPTIONS.c
    found = session.execute(select(s.id, s.url, s.event_types, s.units).where(s.active.is_(True))).mappings()
    return [dict(r) for r in found]


def webhook_rows(subs: list[Row], event: dict[str, Any], now: datetime) -> list[Row]:
    """The event itself, signed later by the dispatcher, to each subscription that wants it."""
    wanting = [sub for sub in subs if audience.webhook_wants(sub["event_types"], sub["units"], event)]
    if not wanting:
        return []
    body, kind = dumps(event), event["type"]
    return [
        delivery_row(event["id"], f"webhook:{s['id']}", "webhook", kind, s["url"], kind, body, now) for s in wanting
    ]
