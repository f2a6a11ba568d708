"""Six-month and annual reports of a unit: what its subtree did in the period, and where it stands.

Counts are the period's own, from `facts`: initiatives submitted or recognised in the period
(Vietnamese local time), withdrawn ones left out. Ranks are the standings when the report is
made (`totals`, whole programme). Awards and remuneration come from the ledger. Plain functions
over a Session; report_render.py turns the result into CSV or XLSX.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, case, distinct, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from awards import awarding, labels, params
from awards.awarding import Period
from awards.models import ALL_PHASES, Fact, LedgerEntry, Target, Total, Unit
from awards.queries import UNIT_CODE
from awards.ranking import Standing, rank
from awards.rules import PhaseWindow, load
from chassis.auth import Principal
from chassis.calendar import LOCAL
from chassis.errors import Forbidden, NotFound
from chassis.validation import FieldError, validation_failed

READERS = ("support_team", "reviewer", "unit_admin", "national_admin", "operator")
NATIONAL_ROLES = ("national_admin", "operator")
RANK_METRICS = ("submitted", "participants", "progress")
DIRECT = ""  # the child key of initiatives filed at the reported unit itself


# --- Rules that need no database ----------------------------------------------------------------


def report_period(code: str) -> Period:
    """A six-month ("2026-H1", "2026-H2") or annual ("2026") period; quarters are not reported."""
    when = awarding.period(code)
    if when.kind == "quarter":
        raise ValueError(f"reports cover half-years and years, not {code!r}")
    return when


def bounds(when: Period) -> tuple[datetime, datetime]:
    """The period in local time: 2026-H1 runs from 2026-01-01 00:00 +07:00, i.e. 2025-12-31 17:00 UTC."""
    return datetime.combine(when.start, time(), LOCAL), datetime.combine(when.end, time(), LOCAL)


def progress(submitted: int, target: float) -> float | None:
    """Percent of the period's target; none without one (a target of 0 included)."""
    return round(100.0 * submitted / target, 2) if target > 0 else None


def contains(outer: Period, inner: Period) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def ledger_periods(when: Period) -> list[str]:
    """Ledger period codes inside the report's: a year holds its halves and quarters, a half its quarters."""
    year = when.start.year
    codes = [str(year), f"{year}-H1", f"{year}-H2", *(f"{year}-Q{q}" for q in range(1, 5))]
    return [c for c in codes if contains(when, awarding.period(c))]


def period_target(when: Period, phases: Iterable[PhaseWindow], per_phase: dict[str, int]) -> float:
    """The unit's target for the period: each phase's target pro rata to the days the period shares with it."""
    return awarding.pro_rata_target(when, tuple(phases), per_phase)


@dataclass
class Counts:
    submitted: int = 0
    recognized: int = 0
    benefit_vnd: int = 0  # estimated benefit of the initiatives submitted in the period
    recognized_benefit_vnd: int = 0  # of those recognised in the period

    def add(self, submitted: int, recognized: int, benefit: int, recognized_benefit: int) -> None:
        self.submitted += int(submitted or 0)
        self.recognized += int(recognized or 0)
        self.benefit_vnd += int(benefit or 0)
        self.recognized_benefit_vnd += int(recognized_benefit or 0)


@dataclass
class Folded:
    total: Counts
    by_child: dict[str, Counts]
    by_group: dict[int | None, Counts]
    by_field: dict[str, Counts]


def fold(rows: Iterable[tuple[str, int | None, str, int, int, int, int]]) -> Folded:
    """Rows of (child, target group, field, submitted, recognised, benefit, recognised benefit) into tables."""
    out = Folded(Counts(), defaultdict(Counts), defaultdict(Counts), defaultdict(Counts))
    for child, group, field, *numbers in rows:
        for counts in (out.total, out.by_child[child], out.by_group[group], out.by_field[field]):
            counts.add(*numbers)
    return out


def _line(counts: Counts, participants: int | None, target: float) -> dict[str, Any]:
    return {
        **asdict(counts),
        "participants": participants,
        "target": target,
        "progress": progress(counts.submitted, target),
    }


def group_rows(by_group: dict[int | None, Counts]) -> list[dict[str, Any]]:
    """Every target group the seeds name, in order, even those with nothing; then any unknown."""
    unknown = sorted((k for k in by_group if k not in labels.TARGET_GROUPS), key=lambda k: (k is None, k or 0))
    return [
        {"target_group": k, "label": labels.target_group(k), **asdict(by_group.get(k, Counts()))}
        for k in [*labels.TARGET_GROUPS, *unknown]
    ]


def field_rows(by_field: dict[str, Counts]) -> list[dict[str, Any]]:
    keys = [*labels.FIELDS, *sorted(k for k in by_field if k not in labels.FIELDS)]
    return [{"field": k or None, "label": labels.field(k), **asdict(by_field.get(k, Counts()))} for k in keys]


# --- Reading the database -----------------------------------------------------------------------


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def child_key(session: Session, unit: Unit) -> ColumnElement[str]:
    """The code after the unit's own in an initiative's path: the child unit it counts under ("" if the unit's)."""
    if _postgres(session):
        # "/VGCL/HN/HN-KL/..." split on "/" is "", "VGCL", "HN", "HN-KL": 1-based, the child is len(codes) + 2.
        return func.split_part(Fact.unit_path, "/", len(unit.path_codes) + 2)
    rest = func.substr(Fact.unit_path, len(unit.path) + 1)
    return func.substr(rest, 1, func.instr(rest, "/") - 1)


def _authors(session: Session) -> tuple[FromClause, ColumnElement[Any]]:
    """The authors JSON array as rows, and each author's member id: distinct participants are counted in SQL."""
    if _postgres(session):
        each = func.json_array_elements(Fact.authors).table_valued("value", joins_implicitly=True).alias("author")
        return each, each.c.value.op("->>")("member_id")
    each = func.json_each(Fact.authors).table_valued("value", joins_implicitly=True).alias("author")
    return each, func.json_extract(each.c.value, "$.member_id")


def _scope(unit: Unit, programme: str) -> list[ColumnElement[bool]]:
    return [Fact.programme == programme, Fact.unit_path.startswith(unit.path), Fact.withdrawn_at.is_(None)]


def counts(session: Session, unit: Unit, programme: str, when: Period) -> Folded:
    since, until = bounds(when)
    child = child_key(session, unit)
    submitted = and_(Fact.submitted_at >= since, Fact.submitted_at < until)
    recognized = and_(Fact.recognized_at >= since, Fact.recognized_at < until)
    benefit = func.coalesce(Fact.benefit_vnd_per_year, 0)
    query = (
        select(
            child,
            Fact.target_group,
            Fact.field,
            func.sum(case((submitted, 1), else_=0)),
            func.sum(case((recognized, 1), else_=0)),
            func.sum(case((submitted, benefit), else_=0)),
            func.sum(case((recognized, benefit), else_=0)),
        )
        .where(*_scope(unit, programme), or_(submitted, recognized))
        .group_by(child, Fact.target_group, Fact.field)
    )
    return fold(session.execute(query).tuples())


def participants(session: Session, unit: Unit, programme: str, when: Period) -> tuple[int, dict[str, int]]:
    """Distinct author member ids of the period's submissions: in all, and per child unit."""
    since, until = bounds(when)
    child = child_key(session, unit)
    each, member = _authors(session)
    query = (
        select(child, func.count(distinct(member)))
        .select_from(Fact)
        .join(each, true())
        .where(*_scope(unit, programme), Fact.submitted_at >= since, Fact.submitted_at < until)
    )
    if _postgres(session):  # one pass: the per-child rows and the total (child NULL) together
        rows = session.execute(query.group_by(func.grouping_sets(tuple_(child), tuple_()))).tuples().all()
        return next((int(n) for c, n in rows if c is None), 0), {c: int(n) for c, n in rows if c is not None}
    total = session.scalar(query.with_only_columns(func.count(distinct(member))))
    return int(total or 0), {c: int(n) for c, n in session.execute(query.group_by(child)).tuples()}


def targets(session: Session, programme: str, units: list[str], when: Period) -> dict[str, float]:
    """Each unit's own registered targets (all blocks), pro rata for the period."""
    rules = load(programme)
    phases = rules.phases if rules else ()
    per_unit: dict[str, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(Target.unit, Target.phase, func.sum(Target.target))
        .where(Target.programme == programme, Target.unit.in_(units))
        .group_by(Target.unit, Target.phase)
    )
    for code, phase, value in rows.tuples():
        per_unit[code][phase] = int(value)
    return {code: period_target(when, phases, per_unit.get(code, {})) for code in units}


def _standings(session: Session, programme: str, registry: Any, known: ColumnElement[bool] | None) -> list[Standing]:
    """Units a ranking covers: the registry's, and units known only from initiatives' paths."""
    codes = set(session.scalars(registry))
    if known is not None:
        codes |= set(
            session.scalars(select(Total.unit).where(Total.programme == programme, Total.phase == ALL_PHASES, known))
        )
    totals = {
        t.unit: t
        for t in session.scalars(
            select(Total).where(Total.programme == programme, Total.phase == ALL_PHASES, Total.unit.in_(codes))
        )
    }
    return [_standing(code, totals.get(code)) for code in sorted(codes)]


def _standing(code: str, t: Total | None) -> Standing:
    if t is None:
        return Standing(code, 0, 0, 0, 0, 0, 0)
    return Standing(code, t.submitted, t.recognized, t.participants, t.benefit_vnd, t.recognized_benefit_vnd, t.target)


def ranks(session: Session, unit: Unit, programme: str) -> list[dict[str, Any]]:
    """The unit's ranks now: a top-level unit nationally and in its cluster; a lower unit among its peers
    (same level, same top-level unit); the nation has none."""
    scopes: list[tuple[str, str | None, Any, ColumnElement[bool] | None]] = []
    if unit.level == "top":
        scopes.append(("national", None, select(Unit.code).where(Unit.level == "top"), Total.level == "top"))
        if unit.cluster:
            peers = select(Unit.code).where(Unit.level == "top", Unit.cluster == unit.cluster)
            scopes.append(("cluster", unit.cluster, peers, None))
    elif unit.top:
        peers = select(Unit.code).where(Unit.top == unit.top, Unit.level == unit.level)
        scopes.append(("top", unit.top, peers, and_(Total.top == unit.top, Total.level == unit.level)))
    out = []
    for scope, within, registry, known in scopes:
        standings = _standings(session, programme, registry, known)
        for metric in RANK_METRICS:
            ranked = rank(standings, metric)
            mine = next((r for r in ranked if r.standing.unit == unit.code), None)
            out.append(
                {
                    "scope": scope,
                    "within": within,
                    "metric": metric,
                    "rank": mine.rank if mine else None,
                    "of": sum(1 for r in ranked if r.rank is not None),
                    "value": mine.value if mine else None,
                }
            )
    return out


def _ledger_where(unit: Unit, programme: str, when: Period) -> list[ColumnElement[bool]]:
    """Entries of the unit's subtree that belong to the period: by their period code (a quarter's award in
    its half-year), remuneration by its due date, a per-idea bonus by when its idea was submitted."""
    since, until = bounds(when)
    submitted_then = select(Fact.initiative_id).where(
        Fact.programme == programme, Fact.submitted_at >= since, Fact.submitted_at < until
    )
    where = [
        LedgerEntry.programme == programme,
        or_(
            LedgerEntry.period.in_(ledger_periods(when)),
            and_(
                LedgerEntry.period.is_(None),
                LedgerEntry.kind == "remuneration",
                LedgerEntry.due_on >= when.start,
                LedgerEntry.due_on < when.end,
            ),
            and_(
                LedgerEntry.period.is_(None),
                LedgerEntry.kind != "remuneration",
                LedgerEntry.initiative_id.in_(submitted_then),
            ),
        ),
    ]
    if unit.level != "national":
        inside = select(Unit.code).where(Unit.path.startswith(unit.path))
        mine = [LedgerEntry.recipient_unit == unit.code, LedgerEntry.recipient_unit.in_(inside)]
        if unit.level == "top":  # recipients the registry has not heard of yet
            mine.append(LedgerEntry.top_unit == unit.code)
        where.append(or_(*mine))
    return where


def awards(session: Session, unit: Unit, programme: str, when: Period) -> list[dict[str, Any]]:
    """Awards and remuneration of the period per kind and rule: entries, certificates, amounts, paid."""
    amount = func.coalesce(LedgerEntry.amount_vnd, 0)
    query = (
        select(
            LedgerEntry.kind,
            LedgerEntry.rule_id,
            func.count(),
            func.count(LedgerEntry.certificate_number),
            func.sum(amount),
            func.sum(case((LedgerEntry.paid_at.is_not(None), amount), else_=0)),
        )
        .where(*_ledger_where(unit, programme, when))
        .group_by(LedgerEntry.kind, LedgerEntry.rule_id)
        .order_by(LedgerEntry.kind, LedgerEntry.rule_id)
    )
    return [
        {
            "kind": kind,
            "label": labels.LEDGER_KINDS.get(kind, kind),
            "rule_id": rule_id,
            "entries": int(n),
            "certificates": int(certificates),
            "amount_vnd": int(total or 0),
            "paid_vnd": int(paid or 0),
        }
        for kind, rule_id, n, certificates, total, paid in session.execute(query).tuples()
    ]


def certificates(session: Session, unit: Unit, programme: str, when: Period) -> list[dict[str, Any]]:
    query = (
        select(LedgerEntry)
        .where(*_ledger_where(unit, programme, when), LedgerEntry.kind == "certificate_of_merit")
        .order_by(LedgerEntry.certificate_number)
    )
    return [
        {
            "certificate_number": e.certificate_number,
            "award": e.details.get("award"),
            "rule_id": e.rule_id,
            "period": e.period,
            "recipient_type": e.recipient_type,
            "recipient_unit": e.recipient_unit,
            "recipient_member": e.recipient_member,
            "reason": e.reason,
        }
        for e in session.scalars(query)
    ]


# --- The report ---------------------------------------------------------------------------------


def assemble(session: Session, unit: Unit, programme: str, when: Period, now: datetime) -> dict[str, Any]:
    folded = counts(session, unit, programme, when)
    total_participants, child_participants = participants(session, unit, programme, when)
    registry = {u.code: u for u in session.scalars(select(Unit).where(Unit.parent == unit.code))}
    children = sorted(set(registry) | {c for c in folded.by_child if c != DIRECT})
    if DIRECT in folded.by_child and unit.level != "grassroots":  # filed at the unit itself, beside its children
        children.append(DIRECT)
    goals = targets(session, programme, [unit.code, *(c for c in children if c)], when)
    return {
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level, "cluster": unit.cluster, "top": unit.top},
        "programme": programme,
        "period": {"code": when.code, "kind": when.kind, "start": when.start, "end": when.end - timedelta(days=1)},
        "generated_at": now.astimezone(LOCAL).replace(microsecond=0),
        "summary": _line(folded.total, total_participants, goals[unit.code]),
        "ranks": ranks(session, unit, programme),
        "children": [
            {
                "unit": code or unit.code,
                "name": registry[code].name if code in registry else (unit.name if code == DIRECT else None),
                "direct": code == DIRECT,
                **_line(folded.by_child.get(code, Counts()), child_participants.get(code, 0), goals.get(code, 0.0)),
            }
            for code in children
        ],
        "target_groups": group_rows(folded.by_group),
        "fields": field_rows(folded.by_field),
        "awards": awards(session, unit, programme, when),
        "certificates": certificates(session, unit, programme, when),
    }


def build(session: Session, unit_code: str, programme: str, period_code: str, now: datetime) -> dict[str, Any]:
    """The report without a caller (the CLI); unknown units are a NotFound, bad periods a ValueError."""
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise NotFound("No such unit.", "Không có đơn vị này.")
    return assemble(session, unit, programme, report_period(period_code), now)


def authorize(principal: Principal, unit: Unit) -> None:
    """National roles read any unit's report; the others only their own unit's subtree."""
    principal.require(READERS)
    if principal.role not in NATIONAL_ROLES and not principal.in_scope(unit.path_codes):
        raise Forbidden()


def for_request(
    session: Session, principal: Principal, unit_code: str, args: Any, now: datetime
) -> tuple[dict[str, Any], str]:
    """The report a caller asked for, and the format it asked for it in."""
    principal.require(READERS)
    errors: list[FieldError] = []
    if not UNIT_CODE.fullmatch(unit_code):
        errors.append(FieldError("unit", "Not a unit code.", "Mã đơn vị không hợp lệ."))
    programme = params.programme(args, errors)
    period_code = params.period(args, errors)
    fmt = params.choice(args, "format", params.FORMATS, "json", errors)
    if errors:
        raise validation_failed(errors)
    assert programme is not None and period_code is not None
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise NotFound("No such unit.", "Không có đơn vị này.")
    authorize(principal, unit)
    return assemble(session, unit, programme, report_period(period_code), now), fmt
