"""Idempotent consumer: the event id is recorded in the same transaction as its effects."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chassis import metrics
from chassis.tables import inbox

log = logging.getLogger(__name__)


def claim(session: Session, consumer: str, event: dict[str, Any]) -> bool:
    """True when this consumer sees the event for the first time (the row is then staged)."""
    return event["id"] in claim_many(session, consumer, [event])


def claim_many(session: Session, consumer: str, events: list[dict[str, Any]]) -> set[str]:
    """The ids among `events` this consumer sees for the first time; their rows are staged.

    One round trip: INSERT .. ON CONFLICT DO NOTHING RETURNING. A concurrent delivery of the
    same id waits on the first one's uncommitted row, then inserts nothing once it commits.
    """
    now = datetime.now(UTC)
    unique = {e["id"]: e for e in events}.values()  # a redelivered copy in the same batch
    rows = [{"consumer": consumer, "event_id": e["id"], "event_type": e["type"], "processed_at": now} for e in unique]
    upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(session.get_bind().dialect.name)
    if upsert is None:  # any other database: check, then insert (the primary key still guards)
        ids = [r["event_id"] for r in rows]
        seen = set(
            session.scalars(select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(ids)))
        )
        fresh = [r for r in rows if r["event_id"] not in seen]
        if fresh:
            session.execute(insert(inbox), fresh)
        return {r["event_id"] for r in fresh}
    statement = upsert(inbox).values(rows).on_conflict_do_nothing().returning(inbox.c.event_id)
    return set(session.scalars(statement))


def serialize(session: Session, consumer: str, unit: str) -> None:
    """Takes the consumer's transaction-scoped advisory lock for one top-level unit.

    For consumers whose events update shared rows of their unit (awards: a province's totals):
    transactions of one unit take turns, and a batch takes its units' locks in unit order, so
    a batch that locked Cà Mau's rows and then Hà Nội's cannot deadlock with one doing the
    reverse, while Hà Nội's and Thanh Hóa's events never wait on each other.
    """
    if session.get_bind().dialect.name == "postgresql":
        name = f"{consumer}:{unit}".encode()
        key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


Handler = Callable[[Any, Session, dict[str, Any]], Any]


def _count(consumer: str, event: dict[str, Any], outcome: str) -> None:
    metrics.EVENTS_CONSUMED.labels(consumer, event["type"], str(event.get("unit", "none")), outcome).inc()


def idempotent(
    consumer: str, db_attr: str = "db", serialized: bool = False
) -> Callable[[Handler], Callable[[Any, Any], Any]]:
    """Wraps `handler(self, session, event)`: runs it once per event id, in one transaction.

    Called with a list (a batch from `unit_event_handler`), it handles them all in one
    transaction: one inbox insert and one commit instead of one each. Should any of them fail,
    each is retried alone, so one bad event holds back none of the others; the answer is then
    one outcome per event (None, or the exception it raised) for the entrypoint to settle.
    `serialized`: the consumer's transactions take turns per unit (see `serialize`).
    """

    def decorate(handler: Handler) -> Callable[[Any, Any], Any]:
        def one(self: Any, event: dict[str, Any]) -> Any:
            with getattr(self, db_attr).transaction() as session:
                if serialized:
                    serialize(session, consumer, str(event.get("unit", "")))
                if not claim(session, consumer, event):
                    _count(consumer, event, "duplicate")
                    return None
                result = handler(self, session, event)
            _count(consumer, event, "processed")
            return result

        def together(self: Any, events: list[dict[str, Any]]) -> list[BaseException | None]:
            # By unit (stable, so one initiative's events keep their order): concurrent batches
            # then lock per-unit rows (notify's daily counters) in one order and cannot deadlock.
            ordered = sorted(events, key=lambda e: str(e.get("unit", "")))
            handled = []
            with getattr(self, db_attr).transaction() as session:
                if serialized:  # each of the batch's units once, in unit order
                    for unit in dict.fromkeys(str(e.get("unit", "")) for e in ordered):
                        serialize(session, consumer, unit)
                fresh = claim_many(session, consumer, ordered)
                for event in ordered:
                    first_time = event["id"] in fresh
                    fresh.discard(event["id"])  # a redelivered copy in the same batch is a duplicate
                    handled.append(first_time)
                    if first_time:
                        handler(self, session, event)
            for event, first_time in zip(ordered, handled, strict=True):
                _count(consumer, event, "processed" if first_time else "duplicate")
            return [None] * len(events)

        def alone(self: Any, events: list[dict[str, Any]]) -> list[BaseException | None]:
            outcomes: list[BaseException | None] = []
            for event in events:
                try:
                    one(self, event)
                    outcomes.append(None)
                except Exception as exc:  # noqa: BLE001 - settled per message by the entrypoint
                    outcomes.append(exc)
            return outcomes

        @functools.wraps(handler)
        def wrapper(self: Any, event: Any) -> Any:
            worker_metrics = getattr(self, "metrics", None)
            first = event[0] if isinstance(event, list) and event else event
            if worker_metrics is not None and isinstance(first, dict):  # label the entrypoint's metrics
                worker_metrics.unit = str(first.get("unit", ""))
            if not isinstance(event, list):
                return one(self, event)
            if len(event) == 1:
                return alone(self, event)
            try:
                return together(self, event)
            except Exception:  # noqa: BLE001 - which one failed is found by trying each alone
                log.info("a batch of %d failed; handling each alone", len(event))
                return alone(self, event)

        del wrapper.__wrapped__  # nameko checks the call signature (self, event)
        wrapper.accepts_batches = True  # type: ignore[attr-defined]
        return wrapper

    return decorate
