"""Read models from events: each event updates the initiative's fact, then applies the difference.

Rows are always written in one order (cells, participants, totals, hourly; keys sorted), and a
unit's events take turns (chassis.inbox.serialize), so two events updating a province's rows
wait, never deadlock. The nation's rows, which every event changes, are appended to
national_pending and folded in after the commit: provinces never wait on each other.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from awards.contributions import FactView, author_ids, difference, highest
from awards.models import (
    ALL_PHASES,
    Cell,
    Fact,
    Hourly,
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


def view(fact: Fact | None) -> FactView | None:
    if fact is None or not fact.unit_path:
        return None
    return FactView(
        programme=fact.programme,
        phase=fact.phase,
        unit_path=tuple(fact.path_codes),
        block=fact.block,
        target_group=fact.target_group,
        benefit_vnd_per_year=fact.benefit_vnd_per_year,
        author_ids=author_ids(fact.authors),
        submitted_at=fact.submitted_at,
        withdrawn_at=fact.withdrawn_at,
        recognized_at=fact.recognized_at,
    )


def _level(path: tuple[str, ...], unit: str) -> tuple[str, str | None, str | None]:
    """(level, top, parent) of a unit from its position on an initiative's path."""
    i = path.index(unit)
    level = "national" if i == 0 else "top" if i == 1 else "grassroots" if i == len(path) - 1 else "upper"
    return level, path[1] if i >= 1 else None, path[i - 1] if i >= 1 else None


def apply(session: Session, programme: str, path: tuple[str, ...], delta: dict[str, Counter]) -> None:
    """Adds a contribution difference to cells, participants, totals and hourly rows."""
    cells: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for (unit, phase, block, group, column), n in delta["cells"].items():
        cells[(unit, phase, block, group)][column] += n
    if cells:
        stmt = _insert(session, Cell.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=["unit", "programme", "phase", "block", "target_group"],
            set_={c: getattr(Cell.__table__.c, c) + getattr(stmt.excluded, c) for c in COLUMNS},
        )
        rows = [
            {"unit": k[0], "programme": programme, "phase": k[1], "block": k[2], "target_group": k[3], **v}
            for k, v in sorted(cells.items())
        ]
        rows = _stage_national(session, "cells", path, rows)
        if rows:
            session.execute(stmt, rows)

    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys((*COLUMNS, "participants"), 0))
    for (unit, phase, _block, _group), values in cells.items():
        for column, n in values.items():
            totals[(unit, phase)][column] += n
    for (unit, phase), change in _participant_changes(session, programme, delta["participants"]).items():
        totals[(unit, phase)]["participants"] += change
    if totals:
        stmt = _insert(session, Total.__table__)
        columns = (*COLUMNS, "participants")
        stmt = stmt.on_conflict_do_update(
            index_elements=["unit", "programme", "phase"],
            set_={c: getattr(Total.__table__.c, c) + getattr(stmt.excluded, c) for c in columns},
        )
        rows = []
        for (unit, phase), values in sorted(totals.items()):
            level, top, parent = _level(path, unit)
            rows.append(
                {
                    "unit": unit,
                    "programme": programme,
                    "phase": phase,
                    "level": level,
                    "top": top,
                    "parent": parent,
                    "target": 0,
                    **values,
                }
            )
        rows = _stage_national(session, "totals", path, rows)
        if rows:
            session.execute(stmt, rows)

    if delta["hourly"]:
        per_hour: dict[tuple[str, datetime], dict[str, int]] = defaultdict(lambda: {"submitted": 0, "recognized": 0})
        for (unit, hour, column), n in delta["hourly"].items():
            per_hour[(unit, hour)][column] += n
        stmt = _insert(session, Hourly.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=["unit", "programme", "hour"],
            set_={c: getattr(Hourly.__table__.c, c) + getattr(stmt.excluded, c) for c in ("submitted", "recognized")},
        )
        rows = [{"unit": u, "programme": programme, "hour": h, **v} for (u, h), v in sorted(per_hour.items())]
        rows = _stage_national(session, "hourly", path, rows)
        if rows:
            session.execute(stmt, rows)


PENDING_COLUMNS = ("unit", "programme", "phase", "block", "target_group", "hour", *COLUMNS, "participants")


def _stage_national(session: Session, kind: str, path: tuple[str, ...], rows: list[dict]) -> list[dict]:
    """Appends the nation's rows to national_pending (on PostgreSQL); returns the others.

    The nation's rows are folded in right after the commit (the consumers' declared step
    `fold_safely`; and by a timer, should a process die in between), so consumers of different
    units never wait on each other's transactions.
    SQLite has one writer anyway: it writes them at once.
    """
    if session.get_bind().dialect.name != "postgresql" or not path:
        return rows
    national = [r for r in rows if r["unit"] == path[0]]
    if not national:
        return rows
    pending = [{"kind": kind, **{c: r.get(c, DEFAULTS.get(c)) for c in PENDING_COLUMNS}} for r in national]
    session.execute(insert(NationalPending.__table__), pending)
    return [r for r in rows if r["unit"] != path[0]]


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


def _participant_changes(session: Session, programme: str, delta: Counter) -> Counter:
    """Distinct authors: a row's count going 0 -> n adds a participant, n -> 0 removes one."""
    changes: Counter = Counter()
    if not delta:
        return changes
    stmt = _insert(session, Participant.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit", "programme", "phase", "member_id"],
        set_={"initiatives": Participant.__table__.c.initiatives + stmt.excluded.initiatives},
    ).returning(Participant.__table__.c.unit, Participant.__table__.c.phase, Participant.__table__.c.initiatives)
    for (unit, phase, member), n in sorted(delta.items()):
        row = session.execute(
            stmt, {"unit": unit, "programme": programme, "phase": phase, "member_id": member, "initiatives": n}
        ).one()
        after = row.initiatives
        before = after - n
        changes[(unit, phase)] += (after > 0) - (before > 0)
    return changes


def _change(session: Session, fact: Fact, mutate: Any) -> Fact:
    before = view(fact)
    fact = mutate(fact)
    after = view(fact)
    delta = difference(before, after)
    path = (after or before).unit_path if (after or before) else ()
    if path:
        apply(session, fact.programme, path, delta)
    return fact


def _locked(session: Session, data: dict[str, Any]) -> Fact:
    """The initiative's fact, locked; created empty first if this is its first event.

    INSERT .. ON CONFLICT DO NOTHING then SELECT .. FOR UPDATE: two first events of one
    initiative (on different queues) wait for each other instead of colliding.
    """
    placeholder = {
        "initiative_id": data["initiative_id"],
        "revision": 0,
        "programme": data["programme"],
        "phase": "",
        "unit": data["unit"],
        "unit_path": "",
        "top_unit": data["top_unit"],
        "field": "",
        "title": "",
        "confidential": False,
        "authors": [],
    }
    session.execute(_insert(session, Fact.__table__).values(**placeholder).on_conflict_do_nothing())
    fact = session.get(Fact, data["initiative_id"], with_for_update=True, populate_existing=True)
    assert fact is not None
    return fact


def on_submitted(session: Session, data: dict[str, Any]) -> None:
    """`initiative.submitted` / `.resubmitted`: the content of the latest revision wins."""

    def mutate(fact: Fact) -> Fact:
        if fact.revision >= data["revision"]:
            return fact  # an older revision arriving late
        fact.revision = data["revision"]
        for name in ("programme", "phase", "unit", "top_unit", "block", "target_group", "field", "title"):
            setattr(fact, name, data[name])
        fact.unit_path = "/" + "/".join(data["unit_path"]) + "/"
        fact.confidential = data["confidential"]
        fact.benefit_vnd_per_year = data["benefit_vnd_per_year"]
        fact.first_applied_on = date.fromisoformat(data["first_applied_on"]) if data["first_applied_on"] else None
        fact.authors = data["authors"]
        if fact.submitted_at is None:
            fact.submitted_at = datetime.fromisoformat(data["submitted_at"])
        return fact

    _change(session, _locked(session, data), mutate)


def on_withdrawn(session: Session, data: dict[str, Any]) -> None:
    def mutate(fact: Fact) -> Fact:
        if fact.withdrawn_at is None:  # kept even when it overtook the submission
            fact.withdrawn_at = datetime.fromisoformat(data["withdrawn_at"])
        return fact

    _change(session, _locked(session, data), mutate)


def on_recognized(session: Session, data: dict[str, Any]) -> Fact:
    """Counted once, at the first recognition; the highest level reached is kept."""

    def mutate(fact: Fact) -> Fact:
        if fact.revision == 0:  # recognised before the submission reached us: keep what the event says
            for name in (
                "phase",
                "block",
                "target_group",
                "field",
                "title",
                "confidential",
                "benefit_vnd_per_year",
                "authors",
            ):
                setattr(fact, name, data[name])
        moment = datetime.fromisoformat(data["recognized_at"])
        if fact.recognized_at is None or moment < fact.recognized_at:
            fact.recognized_at = moment
        if highest([fact.recognized_level, data["level"]]) == data["level"]:
            fact.recognized_level = data["level"]
            fact.certificate_number = data["certificate_number"]
        return fact

    return _change(session, _locked(session, data), mutate)


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
