"""Decision deadlines to remind reviewers of: review.started opens one, a decision closes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from notify import writing
from notify.models import Reminder

TABLE = Reminder.__table__
CLOSES_REVIEW = ("initiative.recognized", "initiative.rejected", "initiative.returned", "initiative.nominated")
Key = tuple[str, str]


def opened(event: dict[str, Any], remind_days: int) -> dict[str, Any] | None:
    """The reminder row a review.started announces: due at its decision date, reminded days before."""
    if event["type"] != "review.started":
        return None
    data = event["data"]
    due = datetime.fromisoformat(data["decision_due_at"].replace("Z", "+00:00"))
    return {
        "initiative_id": data["initiative_id"],
        "level": data["level"],
        "level_unit": data["level_unit"],
        "due_at": due,
        "remind_at": due - timedelta(days=remind_days),
        "closed": False,
    }


def closed(event: dict[str, Any]) -> Key | None:
    """The (initiative, level) whose reminder a decision closes."""
    if event["type"] not in CLOSES_REVIEW:
        return None
    data = event["data"]
    level = data.get("level") or data.get("from_level")
    return (data["initiative_id"], level) if level else None


@dataclass
class Changes:
    """A batch's reminder changes folded in event order: what one statement per kind then writes."""

    rows: dict[Key, dict[str, Any]] = field(default_factory=dict)  # opened in the batch (closed since, maybe)
    closes: set[Key] = field(default_factory=set)  # rows of earlier batches to close

    def open(self, row: dict[str, Any]) -> None:
        key = (row["initiative_id"], row["level"])
        self.rows[key] = row  # a row opened again is the newer announcement, open
        self.closes.discard(key)

    def close(self, key: Key) -> None:
        if key in self.rows:
            self.rows[key] = {**self.rows[key], "closed": True}
        else:
            self.closes.add(key)

    def write(self, session: Session) -> None:
        """One upsert of the opened rows, one update of the closed ones, each locking its rows in key
        order: concurrent batches (a queue opens, others close) wait for each other, never deadlock."""
        key = tuple_(TABLE.c.initiative_id, TABLE.c.level)
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql and self.closes and self.rows:  # both in one batch: all its rows first, in order
            session.execute(_in_key_order(key.in_(sorted(self.closes | self.rows.keys()))))
        writing.upsert(session, TABLE, [self.rows[k] for k in sorted(self.rows)], ["initiative_id", "level"])
        if self.closes:
            closing = key.in_(sorted(self.closes))
            if postgresql:  # an UPDATE locks in the order it finds rows: let a sorted locking read choose
                closing = key.in_(_in_key_order(closing))
            session.execute(update(TABLE).where(closing).values(closed=True))


def _in_key_order(where: Any) -> Any:
    """The rows' keys, locked in the order Python sorts them (the upserts' order): byte order, "C"."""
    order = (TABLE.c.initiative_id.collate("C"), TABLE.c.level.collate("C"))
    return select(TABLE.c.initiative_id, TABLE.c.level).where(where).order_by(*order).with_for_update()
