"""Read models from events, a batch at a time: the batch's facts change in memory, then each read
model gets one upsert with the batch's summed differences.

Rows are always written in one order (facts, cells, participants, totals, hourly; keys sorted),
and a unit's batches take turns (chassis.inbox.serialize), so two batches updating a province's
rows wait, never deadlock. The nation's rows, which every event changes, are appended to
national_pending and folded in after the commit: provinces never wait on each other.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from awards.contributions import difference
from awards.facts import MUTATIONS, Change, FactState, placeholder, view
from awards.models import (
    ALL_PHASES,
    Base,
    Fact,
    Member,
    NationalPending,
    Participant,
    Target,
    Total,
    Unit,
)

COLUMNS = ("submitted", "recognized", "benefit_vnd", "recognized_benefit_vnd")
log = logging.getLogger(__name__)


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _level(path: tuple[str, ...], i: int) -> tuple[str, str | None, str | None]:
    """(level, top, parent) of the unit at position i of an initiative's path."""
    level = "national" if i == 0 else "top" if i == 1 else "grassroots" if i == len(path) - 1 else "upper"
    return level, path[1] if i >= 1 else None, path[i - 1] if i >= 1 else None


@dataclass
class Sums:
    """A batch's contribution differences, summed per row of each read model.

    A key any one event changed is kept even when the batch's sum is zero: the one-by-one path
    wrote its row (with a zero added) and so must the batch, or a ranking would miss a zero row.
    """

    cells: dict[tuple, list[int]] = field(default_factory=dict)  # (unit, programme, phase, block, group)
    participants: Counter = field(default_factory=Counter)  # (unit, programme, phase, member_id)
    hourly: dict[tuple, list[int]] = field(default_factory=dict)  # (unit, programme, hour): submitted, recognized
    totals: set[tuple[str, str, str]] = field(default_factory=set)  # (unit, programme, phase) touched
    levels: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    national: set[str] = field(default_factory=set)  # the roots of the paths: their rows are staged

    def add(self, programme: str, delta: dict[str, Counter]) -> None:
        for (unit, phase, block, group, column), n in delta["cells"].items():
            key = (unit, programme, phase, block, group)
            values = self.cells.get(key)
            if values is None:
                values = self.cells[key] = [0, 0, 0, 0]
            values[CELL_INDEX[column]] += n
            self.totals.add((unit, programme, phase))
        for (unit, phase, member), n in delta["participants"].items():
            self.participants[(unit, programme, phase, member)] += n
            self.totals.add((unit, programme, phase))
        for (unit, hour, column), n in delta["hourly"].items():
            values = self.hourly.get((unit, programme, hour))
            if values is None:
                values = self.hourly[(unit, programme, hour)] = [0, 0]
            values[column == "recognized"] += n

    def place(self, path: tuple[str, ...]) -> None:
        """Each unit's level, top and parent, from the first path that names it (for new totals rows)."""
        if path and path[-1] not in self.levels:  # a known unit's ancestors are known
            self.national.add(path[0])
            for i, unit in enumerate(path):
                self.levels.setdefault(unit, _level(path, i))


CELL_INDEX = {c: i for i, c in enumerate(COLUMNS)}


def apply_changes(session: Session, changes: Sequence[Change]) -> list[FactState]:
    """Applies a batch's changes to their facts, in order, and adds what they change to the read models.

    A few statements for the whole batch: lock the facts, write the changed ones, then one upsert
    per read model. Returns each change's fact as that change left it (the ledger judges on it).
    """
    facts = _locked(session, changes)
    loaded = {key: replace(fact) for key, fact in facts.items()}
    seen = {key: view(fact) for key, fact in facts.items()}
    sums = Sums()
    after_each = []
    for change in changes:
        fact = facts[change.data["initiative_id"]]
        MUTATIONS[change.kind](fact, change)
        before, after = seen[fact.initiative_id], view(fact)
        seen[fact.initiative_id] = after
        for known in (before, after):
            if known is not None:
                sums.place(known.unit_path)
        if before is not None and after is not None and before.programme != after.programme:
            sums.add(before.programme, difference(before, None))  # each programme's rows lose or gain it
            before = None
        latest = after or before
        if latest is not None:
            sums.add(latest.programme, difference(before, after))
        after_each.append(replace(fact))
    changed = [fact.row() for key, fact in sorted(facts.items()) if fact != loaded[key]]
    if changed:
        session.execute(_upsert(_dialect(session), "facts", ("initiative_id",), FACT_COLUMNS[1:], add=False), changed)
    _write(session, sums)
    return after_each


FACT_COLUMNS = ("initiative_id", *(c.name for c in Fact.__table__.columns if c.name != "initiative_id"))
PLACEHOLDERS = {
    dialect: dialect_insert(Fact.__table__).on_conflict_do_nothing()
    for dialect, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
LOCK_FACTS = (
    select(*(Fact.__table__.c[c] for c in FACT_COLUMNS))
    .where(Fact.__table__.c.initiative_id.in_(bindparam("keys", expanding=True)))
    .order_by(Fact.__table__.c.initiative_id)
    .with_for_update()
)


def _locked(session: Session, changes: Sequence[Change]) -> dict[str, FactState]:
    """The batch's facts, locked in key order; an initiative's first event creates its empty fact.

    INSERT .. ON CONFLICT DO NOTHING then SELECT .. FOR UPDATE: two first events of one
    initiative (on different queues) wait for each other instead of colliding.
    """
    first: dict[str, dict[str, Any]] = {}
    for change in changes:
        first.setdefault(change.data["initiative_id"], change.data)
    keys = sorted(first)
    session.execute(PLACEHOLDERS[_dialect(session)], [placeholder(first[k]).row() for k in keys])
    rows = session.execute(LOCK_FACTS, {"keys": keys})
    return {row.initiative_id: FactState(**row._mapping) for row in rows}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@cache
def _upsert(dialect: str, table: str, keys: tuple[str, ...], columns: tuple[str, ...], add: bool = True) -> Any:
    """INSERT .. ON CONFLICT (keys) DO UPDATE adding the new row's columns (or taking them, add=False).

    Built once per shape: building `excluded` costs more CPU than running the statement.
    """
    target = Base.metadata.tables[table]
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: target.c[c] + new[c] if add else new[c] for c in columns}
    )


def _write(session: Session, sums: Sums) -> None:
    """One upsert per read model (cells, participants, totals, hourly), rows in key order; one
    INSERT of the nation's rows into national_pending."""
    dialect = _dialect(session)
    staged: list[dict[str, Any]] = []
    national = sums.national if dialect == "postgresql" else set()  # SQLite has one writer: at once
    cells = [
        dict(zip(CELL_KEYS, key, strict=True)) | dict(zip(COLUMNS, values, strict=True))
        for key, values in sorted(sums.cells.items())
    ]
    cells = _stage_national("cells", national, cells, staged)
    if cells:
        session.execute(_upsert(dialect, "cells", CELL_KEYS, COLUMNS), cells)

    totals = {key: dict.fromkeys(TOTAL_COLUMNS, 0) for key in sorted(sums.totals)}
    for (unit, programme, phase, _block, _group), values in sums.cells.items():
        total = totals[(unit, programme, phase)]
        for column, n in zip(COLUMNS, values, strict=True):
            total[column] += n
    for (unit, programme, phase), change in _participant_changes(session, dialect, sums.participants).items():
        totals[(unit, programme, phase)]["participants"] += change
    rows = []
    for (unit, programme, phase), values in totals.items():
        level, top, parent = sums.levels[unit]
        rows.append(
            {"unit": unit, "programme": programme, "phase": phase, "level": level, "top": top, "parent": parent}
            | {"target": 0, **values}
        )
    rows = _stage_national("totals", national, rows, staged)
    if rows:
        session.execute(_upsert(dialect, "totals", ("unit", "programme", "phase"), TOTAL_COLUMNS), rows)

    hourly = [
        {"unit": u, "programme": p, "hour": h, "submitted": v[0], "recognized": v[1]}
        for (u, p, h), v in sorted(sums.hourly.items())
    ]
    hourly = _stage_national("hourly", national, hourly, staged)
    if hourly:
        session.execute(_upsert(dialect, "hourly", ("unit", "programme", "hour"), HOURLY_COLUMNS), hourly)
    if staged:
        session.execute(insert(NationalPending.__table__), staged)


CELL_KEYS = ("unit", "programme", "phase", "block", "target_group")
TOTAL_COLUMNS = (*COLUMNS, "participants")
HOURLY_COLUMNS = ("submitted", "recognized")


def _participant_changes(session: Session, dialect: str, delta: Counter) -> Counter:
    """Distinct authors: a row's count going 0 -> n adds a participant, n -> 0 removes one.

    One upsert for the batch; RETURNING gives each row's count after it, hence before it.
    """
    changes: Counter = Counter()
    if not delta:
        return changes
    stmt = _participants_upsert(dialect)
    rows = [
        {"unit": k[0], "programme": k[1], "phase": k[2], "member_id": k[3], "initiatives": n}
        for k, n in sorted(delta.items())
    ]
    for unit, programme, phase, member, after in session.execute(stmt, rows):
        before = after - delta[(unit, programme, phase, member)]
        changes[(unit, programme, phase)] += (after > 0) - (before > 0)
    return changes


@cache
def _participants_upsert(dialect: str) -> Any:
    table = Participant.__table__
    return _upsert(dialect, "participants", ("unit", "programme", "phase", "member_id"), ("initiatives",)).returning(
        table.c.unit, table.c.programme, table.c.phase, table.c.member_id, table.c.initiatives
    )


PENDING_COLUMNS = ("unit", "programme", "phase", "block", "target_group", "hour", *COLUMNS, "participants")


def _stage_national(kind: str, national: set[str], rows: list[dict], staged: list[dict]) -> list[dict]:
    """Moves the nation's rows to `staged` (for national_pending); returns the others.

    The nation's rows are folded in right after the commit (the consumers' declared step
    `fold_safely`; and by a timer, should a process die in between), so consumers of different
    units never wait on each other's transactions.
    """
    if not national:
        return rows
    staged += [
        {"kind": kind, **{c: r.get(c, DEFAULTS.get(c)) for c in PENDING_COLUMNS}} for r in rows if r["unit"] in national
    ]
    return [r for r in rows if r["unit"] not in national]


DEFAULTS: dict[str, Any] = {"phase": "", "block": "", "target_group": 0, "hour": None} | dict.fromkeys(
    (*COLUMNS, "participants"), 0
)
FOLD_LOCK = 7_021_001  # folds take turns: they touch only the nation's rows, briefly
_SUMS = ", ".join(f"sum({c})" for c in COLUMNS)
_ADD = ", ".join(f"{c} = {{t}}.{c} + excluded.{c}" for c in COLUMNS)
FOLD_SQL = f"""
WITH moved AS (DELETE FROM national_pending RETURNING *),
cells_up AS (
  INSERT INTO cells (unit, programme, phase, block, target_group, {", ".join(COLUMNS)})
  SELECT unit, programme, phase, block, target_group, {_SUMS} FROM moved WHERE kind = 'cells'
  GROUP BY unit, programme, phase, block, target_group ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (unit, programme, phase, block, target_group) DO UPDATE SET {_ADD.format(t="cells")}
  RETURNING 1),
totals_up AS (
  INSERT INTO totals (unit, programme, phase, level, top, parent, target, participants, {", ".join(COLUMNS)})
  SELECT unit, programme, phase, 'national', NULL, NULL, 0, sum(participants), {_SUMS}
  FROM moved WHERE kind = 'totals' GROUP BY unit, programme, phase ORDER BY 1, 2, 3
  ON CONFLICT (unit, programme, phase) DO UPDATE
  SET participants = totals.participants + excluded.participants, {_ADD.format(t="totals")}
  RETURNING 1),
hourly_up AS (
  INSERT INTO hourly (unit, programme, hour, submitted, recognized)
  SELECT unit, programme, hour, sum(submitted), sum(recognized) FROM moved WHERE kind = 'hourly'
  GROUP BY unit, programme, hour ORDER BY 1, 2, 3
  ON CONFLICT (unit, programme, hour) DO UPDATE
  SET submitted = hourly.submitted + excluded.submitted, recognized = hourly.recognized + excluded.recognized
  RETURNING 1)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM cells_up), (SELECT count(*) FROM totals_up),
       (SELECT count(*) FROM hourly_up)
"""


def fold(engine: Engine) -> int:
    """Adds everything pending into the nation's rows, in one transaction; returns rows folded."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK})
        return int(conn.execute(text(FOLD_SQL)).first()[0])


def fold_safely(engine: Engine) -> None:
    try:
        fold(engine)
    except Exception as exc:  # noqa: BLE001 - the rows stay pending; the timer folds them
        log.warning("folding the nation's rows failed (%s); the timer will", type(exc).__name__)


def on_unit(session: Session, data: dict[str, Any]) -> None:
    """The registry; a unit moving to another cluster shows in cluster rankings at once."""
    unit = session.get(Unit, data["code"]) or Unit(code=data["code"])
    unit.name, unit.level, unit.parent = data["name"], data["level"], data["parent"]
    unit.top, unit.cluster, unit.block = data["top"], data["cluster"], data["block"]
    unit.path = "/" + "/".join(data["path"]) + "/"
    session.merge(unit)


def on_target(session: Session, data: dict[str, Any]) -> None:
    key = (data["unit"], data["programme"], data["phase"], data["block"] or "")
    target = session.get(Target, key, with_for_update=True)
    if target is None:
        target = Target(unit=key[0], programme=key[1], phase=key[2], block=key[3], target=0)
        session.add(target)
    target.target = data["target"]
    session.flush()
    _refresh_target(session, data["unit"], data["top_unit"], data["programme"], data["phase"])


def _refresh_target(session: Session, unit: str, top: str, programme: str, phase: str) -> None:
    """A total's target: its unit's own targets, summed over blocks (and phases for `*`)."""
    for row_phase in (phase, ALL_PHASES):
        query = select(func.coalesce(func.sum(Target.target), 0)).where(
            Target.unit == unit, Target.programme == programme
        )
        if row_phase != ALL_PHASES:
            query = query.where(Target.phase == row_phase)
        value = int(session.scalar(query) or 0)
        stmt = _insert(session, Total.__table__)
        known = session.get(Unit, unit)
        level = known.level if known else ("national" if unit == "VGCL" else "top" if unit == top else "grassroots")
        stmt = stmt.on_conflict_do_update(index_elements=["unit", "programme", "phase"], set_={"target": value})
        session.execute(
            stmt,
            {
                "unit": unit,
                "programme": programme,
                "phase": row_phase,
                "level": level,
                "top": top if unit != "VGCL" else None,
                "parent": known.parent if known else None,
                "target": value,
                **dict.fromkeys((*COLUMNS, "participants"), 0),
            },
        )


def on_member(session: Session, data: dict[str, Any]) -> None:
    session.merge(Member(member_id=data["member_id"], unit=data["unit"], top_unit=data["top_unit"]))
