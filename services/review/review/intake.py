"""The submission service's events, a batch at a time: a few statements per table, not per event.

The batch's cases are locked at once (one SELECT .. FOR UPDATE in id order, so concurrent
batches never deadlock) and its events are replayed in order on them in memory, each seeing
what the ones before it did, as one by one. Then each table is written once. Events of
different types travel on different queues and may overtake each other: an older revision
after a newer one is ignored, content after a withdrawal is kept quietly, and a withdrawal is
remembered even before the submission arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from chassis.consuming import DONE, Outcome, poison
from review import domain, flagging, levels, similarity
from review.models import AuditEntry, Case, LevelReview

SYSTEM = "system"
CASE_FIELDS = ("programme", "phase", "unit", "top_unit", "block", "title", "field", "target_group")
CONTENT_KEYS = ("problem", "solution", "novelty", "scope", "benefit_description", "first_applied_on")

cases: Table = Case.__table__  # type: ignore[assignment]
level_reviews: Table = LevelReview.__table__  # type: ignore[assignment]
audit_trail: Table = AuditEntry.__table__  # type: ignore[assignment]

Event = dict[str, Any]
Row = dict[str, Any]


def receive_batch(session: Session, events: Sequence[Event], now: datetime) -> list[Outcome]:
    """`initiative.submitted` or `.resubmitted`: open each case, or reopen it after corrections.

    A unit path without a review chain is poison for its event alone: it writes nothing.
    """
    batch = Batch.locked(session, events)
    arrivals: list[flagging.Arrival] = []
    outcomes = [_receive(batch, event["data"], now, arrivals) for event in events]
    flags = flagging.flag(session, arrivals, batch.loaded)
    for initiative_id, found in flags.items():
        batch.cases[initiative_id]["signature"] = similarity.encode(list(found.signature))
    batch.write(session, flags)
    return outcomes


def withdraw_batch(session: Session, events: Sequence[Event], now: datetime) -> list[Outcome]:
    """`initiative.withdrawn`: close the open review; remembered even before the submission arrives."""
    batch = Batch.locked(session, events)
    outcomes = [_withdraw(batch, event["data"], now) for event in events]
    batch.write(session, {})
    return outcomes


def _receive(batch: Batch, data: dict[str, Any], now: datetime, arrivals: list[flagging.Arrival]) -> Outcome:
    initiative_id = data["initiative_id"]
    case = batch.cases.get(initiative_id)
    if case is not None and case["has_content"] and data["revision"] <= case["revision"]:
        return DONE  # a stale revision: the newer one is already here
    withdrawn = case is not None and case["withdrawn"]
    chain: list[domain.Step] = []
    if not withdrawn:
        try:
            chain = domain.review_chain(data["unit_path"])
        except ValueError as exc:  # no retry can give the unit more levels: dead-letter it at once
            return poison(str(exc))
    if case is None:
        case = batch.new_case(initiative_id, now)
    _apply_content(case, data, now)
    batch.changed.add(initiative_id)
    arrivals.append(flagging.arrival(data, flagged=not withdrawn))
    if withdrawn:
        return DONE
    current = batch.current(case)
    if current is None:
        first = chain[0]
        batch.put_level(levels.opened(initiative_id, case["programme"], case["revision"], first, 0, now))
        case["level"] = first.level
        batch.audit(initiative_id, first.level, SYSTEM, SYSTEM, "received", now, revision=case["revision"])
        return DONE
    after = domain.after_author(current["status"], "resubmit")
    if after is not None:  # the author's corrections go back to the level that asked for them
        levels.reopened(current, after, case["programme"], case["revision"], now)
        batch.put_level(current)
        batch.audit(initiative_id, current["level"], SYSTEM, SYSTEM, "resubmitted", now, revision=case["revision"])
    return DONE


def _apply_content(case: Row, data: dict[str, Any], now: datetime) -> None:
    case.update({name: data[name] for name in CASE_FIELDS})
    case.update(
        revision=data["revision"],
        has_content=True,
        unit_path="/" + "/".join(data["unit_path"]) + "/",
        confidential=data["confidential"],
        content={k: data.get(k) for k in CONTENT_KEYS},
        benefit_vnd_per_year=data.get("benefit_vnd_per_year"),
        authors=data["authors"],
        submitted_at=datetime.fromisoformat(data["submitted_at"]),
        updated_at=now,
    )


def _withdraw(batch: Batch, data: dict[str, Any], now: datetime) -> Outcome:
    initiative_id = data["initiative_id"]
    case = batch.cases.get(initiative_id)
    if case is None:
        case = batch.new_case(
            initiative_id, now, unit=data["unit"], top_unit=data["top_unit"], programme=data["programme"]
        )
    if case["withdrawn"]:
        return DONE
    case.update(withdrawn=True, updated_at=now)
    batch.changed.add(initiative_id)
    current = batch.current(case)
    after = domain.after_author(current["status"], "withdraw") if current is not None else None
    if current is not None and after is not None:
        current.update(status=after, due_at=None)
        batch.put_level(current)
    batch.audit(initiative_id, case["level"], data["withdrawn_by"]["member_id"], "author", "withdrawn", now)
    return DONE


@dataclass
class Batch:
    """The batch's cases and their levels as rows: as locked (`loaded`), then as the batch leaves them."""

    loaded: dict[str, Row]
    cases: dict[str, Row]
    levels: dict[tuple[str, str], Row]
    changed: set[str] = field(default_factory=set)
    changed_levels: set[tuple[str, str]] = field(default_factory=set)
    audit_rows: list[Row] = field(default_factory=list)

    @classmethod
    def locked(cls, session: Session, events: Sequence[Event]) -> Batch:
        ids = sorted({event["data"]["initiative_id"] for event in events})
        found = session.execute(
            select(cases).where(cases.c.initiative_id.in_(ids)).order_by(cases.c.initiative_id).with_for_update()
        )
        loaded = {row.initiative_id: dict(row._mapping) for row in found}
        steps: dict[tuple[str, str], Row] = {}
        if loaded:
            for row in session.execute(select(level_reviews).where(level_reviews.c.initiative_id.in_(sorted(loaded)))):
                steps[(row.initiative_id, row.level)] = dict(row._mapping)
        return cls(loaded, {i: dict(row) for i, row in loaded.items()}, steps)

    def new_case(self, initiative_id: str, now: datetime, **values: Any) -> Row:
        """A case row as the model's defaults make it."""
        case = {
            "initiative_id": initiative_id,
            "revision": 0,
            "has_content": False,
            "withdrawn": False,
            "programme": "",
            "phase": "",
            "unit": "",
            "unit_path": "",
            "top_unit": "",
            "block": None,
            "title": "",
            "field": "",
            "target_group": None,
            "confidential": False,
            "content": {},
            "benefit_vnd_per_year": None,
            "authors": [],
            "submitted_at": None,
            "signature": None,
            "level": None,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        self.cases[initiative_id] = case
        return case

    def current(self, case: Row) -> Row | None:
        """The level now reviewing the case."""
        return self.levels.get((case["initiative_id"], case["level"]))

    def put_level(self, level: Row) -> None:
        key = (level["initiative_id"], level["level"])
        self.levels[key] = level
        self.changed_levels.add(key)

    def audit(
        self, case_id: str, level: str | None, actor: str, role: str, action: str, at: datetime, **details: Any
    ) -> None:
        row = {"initiative_id": case_id, "level": level, "actor": actor, "role": role, "action": action}
        self.audit_rows.append({**row, "reason": None, "details": details, "at": at})

    def write(self, session: Session, flags: dict[str, flagging.Flags]) -> None:
        """Each table once, rows in key order; audit rows in the order of the events."""
        new = [self.cases[i] for i in sorted(self.changed) if i not in self.loaded]
        if new:  # a concurrent batch that inserted one first fails this one, which is then handled alone
            session.execute(insert(cases), new)
        changed = [self.cases[i] for i in sorted(self.changed) if i in self.loaded]
        if changed:  # locked rows: the upsert updates them all in one statement
            session.execute(_upsert(session, cases, ("initiative_id",)), changed)
        if self.changed_levels:
            steps = [self.levels[key] for key in sorted(self.changed_levels)]
            session.execute(_upsert(session, level_reviews, ("initiative_id", "level")), steps)
        if self.audit_rows:
            session.execute(insert(audit_trail), self.audit_rows)
        # A resubmission's earlier text (its case had content) leaves its keys and matches behind.
        replaced = [i for i in flags if i in self.loaded and self.loaded[i]["has_content"]]
        flagging.store(session, flags, replaced)


def _upsert(session: Session, table: Table, key: tuple[str, ...]) -> Insert:
    """INSERT .. ON CONFLICT (key) DO UPDATE every other column, in PostgreSQL's or SQLite's words.

    RETURNING the key: without it SQLAlchemy sends an upsert's rows one round trip each; with it,
    as multi-row statements ('insertmanyvalues').
    """
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    others = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in key}
    upsert = statement.on_conflict_do_update(index_elements=list(key), set_=others)
    return upsert.returning(*(table.c[k] for k in key))
