"""Open data: recognised, non-confidential initiatives as CSV, streamed with constant memory.

No personal data leaves: no authors, no member ids. Rows are read a batch at a time and
written as they come, so 2 million rows take the memory of one batch:
- PostgreSQL: one query on a server-side cursor (`stream_results` + `yield_per`);
- SQLite: keyset pages by (recognized_at, initiative_id) on ix_facts_recognized, each on a
  connection of its own, since the service's single SQLite connection is shared with its
  consumers and must not be held for a whole download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, Any

from sqlalchemy import Engine, Select, func, select, tuple_

from awards import params
from awards.csvsafe import spreadsheet_safe
from awards.models import Fact
from chassis.calendar import LOCAL
from chassis.validation import FieldError, validation_failed

COLUMNS = (
    "initiative_id",
    "programme",
    "phase",
    "unit",
    "top_unit",
    "field",
    "target_group",
    "title",
    "recognized_level",
    "recognized_at",
    "certificate_number",
    "benefit_vnd_per_year",
)
AT, TITLE = COLUMNS.index("recognized_at"), COLUMNS.index("title")
BATCH = 2000
BOM = "\ufeff"
FILENAME = "sang-kien-du-lieu-mo.csv"


def query(programme: str | None) -> Select[Any]:
    """Recognised, not withdrawn, not confidential; only facts whose submission arrived (revision >= 1),
    since the title and the confidentiality flag come with it."""
    stmt = select(*(getattr(Fact, c) for c in COLUMNS)).where(
        Fact.recognized_at.is_not(None),
        Fact.confidential.is_(False),
        Fact.withdrawn_at.is_(None),
        Fact.revision >= 1,
    )
    return stmt.where(Fact.programme == programme) if programme else stmt


def count(engine: Engine, programme: str | None) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(query(programme).subquery())) or 0)


def rows(engine: Engine, programme: str | None, batch: int = BATCH) -> Iterator[Any]:
    ordered = query(programme).order_by(Fact.recognized_at, Fact.initiative_id)
    if engine.dialect.name == "postgresql":
        return _streamed(engine, ordered, batch)
    return _keyset(engine, ordered, batch)


def _streamed(engine: Engine, stmt: Select[Any], batch: int) -> Iterator[Any]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for partition in result.partitions():
            yield from partition


def _keyset(engine: Engine, stmt: Select[Any], batch: int) -> Iterator[Any]:
    after: tuple[Any, str] | None = None
    while True:
        page_stmt = stmt.limit(batch)
        if after is not None:
            page_stmt = page_stmt.where(tuple_(Fact.recognized_at, Fact.initiative_id) > tuple_(*after))
        with engine.connect() as conn:
            page = conn.execute(page_stmt).all()
        yield from page
        if len(page) < batch:
            return
        after = (page[-1].recognized_at, page[-1].initiative_id)


def record(row: Sequence[Any]) -> list[Any]:
    """One CSV line (a row in COLUMNS order): local time with its offset, empty for unknown, the title safe to
    open in a spreadsheet."""
    values = ["" if v is None else v for v in row]
    values[AT] = row[AT].astimezone(LOCAL).isoformat()
    values[TITLE] = spreadsheet_safe(row[TITLE])
    return values


def chunks(source: Iterable[Sequence[Any]], batch: int = BATCH) -> Iterator[tuple[bytes, int]]:
    """(bytes, rows in them): the header with the first batch, then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    rows = iter(source)
    while True:
        lines = [record(row) for row in islice(rows, batch)]
        writer.writerows(lines)
        yield buffer.getvalue().encode("utf-8"), len(lines)
        if len(lines) < batch:
            return
        buffer.seek(0)
        buffer.truncate()


def stream(engine: Engine, programme: str | None, batch: int = BATCH) -> Iterator[bytes]:
    for data, _ in chunks(rows(engine, programme, batch), batch):
        yield data


def primed(engine: Engine, programme: str | None) -> Iterator[bytes]:
    """The HTTP body: the first batch is read at once, so a database outage is still an error response;
    the rest as the client reads. A client that leaves early closes the stream and frees its connection."""
    source = stream(engine, programme)
    first = next(source)

    def body() -> Iterator[bytes]:
        try:
            yield first
            yield from source
        finally:
            source.close()

    return body()


def write(engine: Engine, programme: str | None, out: IO[bytes], progress: Callable[[int], Any] | None = None) -> int:
    written = 0
    for data, n in chunks(rows(engine, programme)):
        out.write(data)
        written += n
        if progress is not None:
            progress(n)
    return written


def programme_arg(args: Any) -> str | None:
    """The optional programme filter; an unknown programme simply has no rows."""
    errors: list[FieldError] = []
    programme = params.programme(args, errors, required=False, known=False)
    if errors:
        raise validation_failed(errors)
    return programme
