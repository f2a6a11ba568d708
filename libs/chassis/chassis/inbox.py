"""Idempotent consumer: the event id is recorded in the same transaction as its effects."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chassis import metrics
from chassis.tables import inbox


def claim(session: Session, consumer: str, event: dict[str, Any]) -> bool:
    """True when this consumer sees the event for the first time (the row is then staged).

    One round trip: INSERT .. ON CONFLICT DO NOTHING RETURNING. A concurrent delivery of the
    same id waits on the first one's uncommitted row, then inserts nothing once it commits.
    """
    values = {
        "consumer": consumer,
        "event_id": event["id"],
        "event_type": event["type"],
        "processed_at": datetime.now(UTC),
    }
    dialect = session.get_bind().dialect.name
    upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if upsert is None:  # any other database: check, then insert (the primary key still guards)
        seen = session.execute(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event["id"])
        ).first()
        if seen:
            return False
        session.execute(insert(inbox).values(**values))
        return True
    statement = upsert(inbox).values(**values).on_conflict_do_nothing().returning(inbox.c.event_id)
    return session.execute(statement).first() is not None


Handler = Callable[[Any, Session, dict[str, Any]], Any]


def idempotent(consumer: str, db_attr: str = "db") -> Callable[[Handler], Callable[[Any, dict], Any]]:
    """Wraps `handler(self, session, event)`: runs it once per event id, in one transaction."""

    def decorate(handler: Handler) -> Callable[[Any, dict], Any]:
        @functools.wraps(handler)
        def wrapper(self: Any, event: dict[str, Any]) -> Any:
            worker_metrics = getattr(self, "metrics", None)
            if worker_metrics is not None:  # label the entrypoint's metrics with the event's unit
                worker_metrics.unit = str(event.get("unit", ""))
            with getattr(self, db_attr).transaction() as session:
                if not claim(session, consumer, event):
                    metrics.EVENTS_CONSUMED.labels(
                        consumer, event["type"], str(event.get("unit", "none")), "duplicate"
                    ).inc()
                    return None
                result = handler(self, session, event)
            metrics.EVENTS_CONSUMED.labels(consumer, event["type"], str(event.get("unit", "none")), "processed").inc()
            return result

        del wrapper.__wrapped__  # nameko checks the call signature (self, event)
        return wrapper

    return decorate
