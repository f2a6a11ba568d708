"""Transactional outbox: the event row commits with the state change it announces."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from chassis.contracts import ensure_valid
from chassis.envelope import dumps, new_event, routing_key
from chassis.tables import outbox

# Set on a session that staged events: Db.transaction wakes the in-process relays once it commits.
WRITTEN = "outbox_written"
_relays: weakref.WeakSet = weakref.WeakSet()


class Wakeable(Protocol):
    def wake(self) -> None: ...


def listen(relay: Wakeable) -> None:
    """`relay.wake()` is called after each commit that staged events in this process."""
    _relays.add(relay)


def forget(relay: Wakeable) -> None:
    _relays.discard(relay)


def committed(session: Session) -> None:
    """Called after a commit: publish right away what it staged, instead of at the next poll."""
    if session.info.pop(WRITTEN, False):
        for relay in list(_relays):
            relay.wake()


@dataclass(frozen=True)
class Outgoing:
    exchange: str
    event_type: str
    data: dict[str, Any]
    source: str
    subject: str
    top_unit: str
    version: int = 1


def record_events(session: Session, outgoing: Iterable[Outgoing]) -> list[dict[str, Any]]:
    """Builds each CloudEvent, checks it against its contract and stages all in one INSERT."""
    events, rows = [], []
    now = datetime.now(UTC)
    for item in outgoing:
        event = new_event(
            item.event_type,
            item.data,
            source=item.source,
            subject=item.subject,
            unit=item.top_unit,
            version=item.version,
        )
        ensure_valid(event)
        events.append(event)
        rows.append(
            {
                "event_id": event["id"],
                "event_type": item.event_type,
                "exchange": item.exchange,
                "routing_key": routing_key(item.event_type, item.top_unit),
                "body": dumps(event),
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(outbox), rows)
        session.info[WRITTEN] = True
    return events


def record_event(session: Session, item: Outgoing) -> dict[str, Any]:
    return record_events(session, [item])[0]
