"""The submit write path in SQLAlchemy Core, its statements built once at import.

A submission writes its initiative, its authors, its idempotency key (when the request has one)
and its first history row; the outbox row goes first through chassis.outbox.record_events, since
the history row names that event. PostgreSQL takes the four in one statement (data-modifying
CTEs, the authors unnested from arrays); SQLite, the local mode, one insert per table. A bulk
import's rows go as one multi-row insert per table.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Insert, Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql

from submission.models import Author, HistoryEntry, IdempotencyKey, Initiative
from submission.rows import NewInitiative, Row

INITIATIVES: Table = Initiative.__table__  # type: ignore[assignment]
AUTHORS: Table = Author.__table__  # type: ignore[assignment]
KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]
HISTORY: Table = HistoryEntry.__table__  # type: ignore[assignment]
HISTORY_COLUMNS = tuple(c.name for c in HISTORY.columns if c.name != "id")  # the id is the database's
AUTHOR_COLUMNS = tuple(c.name for c in AUTHORS.columns if c.name != "initiative_id")  # one array each


def _values(table: Table, prefix: str, columns: Sequence[str] | None = None) -> Insert:
    """INSERT of one row whose parameters are named `<prefix><column>` (CTEs share one namespace)."""
    names = columns or [c.name for c in table.columns]
    return insert(table).values({n: bindparam(prefix + n, type_=table.c[n].type) for n in names})


def _postgresql_submit(with_key: bool) -> Insert:
    initiative = _values(INITIATIVES, "i_").cte("initiative")
    arrays = [bindparam("a_" + n, type_=postgresql.ARRAY(AUTHORS.c[n].type)) for n in AUTHOR_COLUMNS]
    unnested = func.unnest(*arrays).table_valued(*AUTHOR_COLUMNS).render_derived()
    authors = insert(AUTHORS).from_select(
        ["initiative_id", *AUTHOR_COLUMNS],
        select(bindparam("i_id", type_=INITIATIVES.c.id.type), *(unnested.c[n] for n in AUTHOR_COLUMNS)),
    )
    stmt = _values(HISTORY, "h_", HISTORY_COLUMNS).add_cte(initiative).add_cte(authors.cte("authors"))
    return stmt.add_cte(_values(KEYS, "k_").cte("key")) if with_key else stmt


# PostgreSQL, one round trip: with and without an idempotency key.
POSTGRESQL_SUBMIT = {True: _postgresql_submit(True), False: _postgresql_submit(False)}
INSERT_INITIATIVE = insert(INITIATIVES)
INSERT_AUTHORS = insert(AUTHORS)
INSERT_KEY = insert(KEYS)
INSERT_HISTORY = insert(HISTORY)
EARLIER_RESULT = select(KEYS.c.request_digest, KEYS.c.initiative_id).where(
    KEYS.c.scope == bindparam("scope"), KEYS.c.key == bindparam("key")
)


def earlier_result(conn: Connection, scope: str, key: str) -> tuple[str, str] | None:
    """(request digest, initiative id) of the first request with this idempotency key, if any."""
    row = conn.execute(EARLIER_RESULT, {"scope": scope, "key": key}).first()
    return (row.request_digest, row.initiative_id) if row is not None else None


def insert_submission(conn: Connection, ini: NewInitiative, key: Row | None, history: Row) -> None:
    """One submission's rows; the caller staged its event in the outbox."""
    if conn.dialect.name != "postgresql":
        insert_initiatives(conn, [ini], [key] if key else [], [history])
        return
    params = {f"i_{k}": v for k, v in ini.items()}
    params.update({f"a_{n}": [a[n] for a in ini.authors] for n in AUTHOR_COLUMNS})
    params.update({f"h_{k}": v for k, v in history.items()})
    if key is not None:
        params.update({f"k_{k}": v for k, v in key.items()})
    conn.execute(POSTGRESQL_SUBMIT[key is not None], params)


def insert_initiatives(
    conn: Connection, inis: Sequence[NewInitiative], keys: Sequence[Row], history: Sequence[Row]
) -> None:
    """Many submissions' rows, one insert per table (executemany: a multi-row INSERT where it can)."""
    if not inis:
        return
    conn.execute(INSERT_INITIATIVE, list(inis))  # before the rows that refer to them
    conn.execute(INSERT_AUTHORS, [a for ini in inis for a in ini.authors])
    if keys:
        conn.execute(INSERT_KEY, list(keys))
    conn.execute(INSERT_HISTORY, list(history))
