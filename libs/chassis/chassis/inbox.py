"""Idempotent consumer: the event id is recorded in the same transaction as its effects."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from chassis.tables import inbox

_CLAIM_PG = text(
    "INSERT INTO inbox (consumer, event_id, event_type, processed_at) "
    "SELECT :consumer, e.id, e.type, :now "
    "FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:types AS VARCHAR[])) AS e(id, type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


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
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":  # one statement text whatever the batch's size: nothing to compile
        ids, types = [r["event_id"] for r in rows], [r["event_type"] for r in rows]
        params = {"consumer": consumer, "ids": ids, "types": types, "now": now}
        return set(session.scalars(_CLAIM_PG, params))
    upsert = {"sqlite": sqlite.insert}.get(dialect)
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
