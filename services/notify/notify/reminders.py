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
        """Rows locked in key order (upserts sorted, closes locked sorted first): batches never deadlock."""
        rows = [self.rows[k] for k in sorted(self.rows)]
        writing.upsert(session, TABLE, rows, ["initiative_id", "level"])
        if self.closes:
            keys = sorted(self.closes)
            where = tuple_(TABLE.c.initiative_id, TABLE.c.level).in_(keys)
            if session.get_bind().dialect.name == "postgresql":
                order = (TABLE.c.initiative_id, TABLE.c.level)
                session.execute(select(TABLE.c.initiative_id).where(where).order_by(*order).with_for_update())
            session.execute(update(TABLE).where(where).values(closed=True))
