"""Rows written many at a time, in one statement per table, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Clause = Callable[[Table, Any], Any]  # (table, excluded) -> a SET mapping or a WHERE clause


def insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the session's dialect."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _many(session: Session, statement: Any, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # RETURNING makes SQLAlchemy send the rows as multi-row VALUES pages ("insertmanyvalues");
    # without it, an INSERT .. ON CONFLICT executemany is a round trip per row (SQLAlchemy 2.1).
    key = next(iter(table.primary_key.columns))
    session.execute(statement.returning(key), list(rows)).all()


def insert_new(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts the rows whose unique keys are not taken yet; among equal keys the first one wins."""
    if rows:
        _many(session, insert(session, table).on_conflict_do_nothing(), table, rows)


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Iterable[str],
    set_: Clause | None = None,
    where: Clause | None = None,
) -> None:
    """Inserts the rows, or updates a taken key's row: to the new row's values, or by `set_`, when
    `where` holds.

    `rows` hold one row per key, sorted by key: concurrent batches lock shared rows in one order.
    """
    if not rows:
        return
    keys = list(keys)
    stmt = insert(session, table)
    changed = set_(table, stmt.excluded) if set_ else {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    condition = where(table, stmt.excluded) if where else None
    _many(session, stmt.on_conflict_do_update(index_elements=keys, set_=changed, where=condition), table, rows)
