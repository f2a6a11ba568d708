"""Rows written many at a time, in one statement per table, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the session's dialect."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def insert_new(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts the rows whose unique keys are not taken yet; among equal keys the first one wins.

    One executemany: psycopg2 sends it as multi-row VALUES pages, SQLite runs it in C.
    """
    if rows:
        session.execute(insert(session, table).on_conflict_do_nothing(), list(rows))


def upsert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Iterable[str], where: Any = None
) -> None:
    """Inserts the rows, or sets a taken key's row to the new one (when `where(table, excluded)` holds).

    `rows` hold one row per key, sorted by key: concurrent batches lock shared rows in one order.
    """
    if not rows:
        return
    keys = list(keys)
    stmt = insert(session, table)
    changed = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    condition = where(table, stmt.excluded) if where is not None else None
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changed, where=condition), list(rows))
