"""Transactional outbox: the event row commits with the state change it announces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from chassis.contracts import ensure_valid
from chassis.envelope import dumps, new_event, routing_key
from chassis.tables import outbox


def record_event(
    session: Session,
    exchange: str,
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str,
    top_unit: str,
    version: int = 1,
) -> dict[str, Any]:
    """Build the CloudEvent, check it against its contract and stage it for the relay."""
    event = new_event(event_type, data, source=source, subject=subject, unit=top_unit, version=version)
    ensure_valid(event)
    session.execute(
        insert(outbox).values(
            event_id=event["id"],
            event_type=event_type,
            exchange=exchange,
            routing_key=routing_key(event_type, top_unit),
            body=dumps(event),
            created_at=datetime.now(UTC),
        )
    )
    return event
