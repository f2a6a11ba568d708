"""Where every accepted submission went: read from each service's own database after a phase.

An initiative is *done* when review and awards have recorded its `initiative.submitted` event in
their inboxes and notify has put its first in-app message in someone's inbox. Lost: accepted but
not done everywhere. Duplicated: an effect recorded twice (a second in-app message to the same
person, a national total counting it twice, a second review case).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import create_engine, text

from chassis.db import normalize_url


def _rows(url: str, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _epoch(value: datetime) -> float:
    return value.timestamp()


@dataclass
class Ledger:
    """Per initiative: when each consumer had it; counts of effects."""

    event_of: dict[str, str] = field(default_factory=dict)  # initiative id -> its submitted event id
    created: dict[str, float] = field(default_factory=dict)  # initiative id -> accepted (API commit)
    review: dict[str, float] = field(default_factory=dict)  # event id -> processed
    awards: dict[str, float] = field(default_factory=dict)
    notified: dict[str, float] = field(default_factory=dict)  # initiative id -> first in-app message
    duplicated: int = 0
    national_total: int = 0

    def done_at(self, initiative_id: str) -> float | None:
        event = self.event_of.get(initiative_id)
        times = (self.review.get(event or ""), self.awards.get(event or ""), self.notified.get(initiative_id))
        return None if None in times else max(t for t in times if t is not None)

    def lost(self, accepted: set[str]) -> set[str]:
        return {i for i in accepted if self.done_at(i) is None}


def read(urls: dict[str, str]) -> Ledger:
    """urls: submission, review (one or more, comma-separated), awards, notify database URLs."""
    ledger = Ledger()
    for event_id, body, created in _rows(
        urls["submission"],
        "SELECT event_id, body, created_at FROM outbox WHERE event_type = 'initiative.submitted'",
    ):
        subject = json.loads(body)["subject"]
        ledger.event_of[subject] = event_id
        ledger.created[subject] = _epoch(created)
    inbox = "SELECT event_id, processed_at FROM inbox WHERE event_type = 'initiative.submitted'"
    for url in urls["review"].split(","):
        ledger.review.update({e: _epoch(t) for e, t in _rows(url, inbox)})
        received = "SELECT count(*) - count(DISTINCT initiative_id) FROM audit_trail WHERE action = 'received'"
        ledger.duplicated += _rows(url, received)[0][0]
    ledger.awards = {e: _epoch(t) for e, t in _rows(urls["awards"], inbox)}
    ledger.national_total = national(urls["awards"], "submitted")
    for initiative_id, first, copies, people in _rows(
        urls["notify"],
        "SELECT initiative_id, min(created_at), count(*), count(DISTINCT recipient) FROM messages"
        " WHERE category = 'received' GROUP BY initiative_id",
    ):
        ledger.notified[initiative_id] = _epoch(first)
        ledger.duplicated += copies - people
    return ledger


def count(url: str, table: str) -> int:
    return _rows(url, f"SELECT count(*) FROM {table}")[0][0]


def national(url: str, column: str) -> int:
    """The nation's total of a column of awards' read model (every programme, phase `*`)."""
    sql = f"SELECT coalesce(sum({column}), 0) FROM totals WHERE unit = 'VGCL' AND phase = '*'"
    return int(_rows(url, sql)[0][0])
