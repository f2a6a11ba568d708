"""Read side of awards: rankings, a unit's standing and history, targets, the ledger, certificates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from cachetools import TTLCache
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from awards import awarding
from awards.models import ALL_PHASES, Cell, Hourly, LedgerEntry, Member, RankSnapshot, Target, Total, Unit
from awards.ranking import METRICS, Ranked, Standing, rank, rank_changes
from awards.rules import load as load_rules
from chassis.auth import Principal
from chassis.calendar import LOCAL
from chassis.errors import Conflict, Forbidden, NotFound
from chassis.validation import FieldError, int_arg, validation_failed

SCOPES = ("national", "cluster", "top")
READERS = ("member", "support_team", "reviewer", "unit_admin", "national_admin", "operator")
LEDGER_KINDS = ("certificate_of_merit", "bonus", "benefit_reward", "remuneration")
LEDGER_ORDERS = ("created", "due")
CODE = re.compile(r"[A-Z][A-Z0-9]{0,31}-[A-Z0-9]{10}")
UNIT_CODE = re.compile(r"[A-Z][A-Z0-9-]{0,63}")
PROGRAMME = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")


def _bad(name: str, en: str, vi: str) -> Exception:
    return validation_failed([FieldError(name, en, vi)])


def _choice(args: Any, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = args.get(name, default)
    if value is not None and value not in allowed:
        raise _bad(name, f"Must be one of: {', '.join(allowed)}.", f"Phải là một trong: {', '.join(allowed)}.")
    return value


def _code(args: Any, name: str, pattern: re.Pattern[str], required: bool = False) -> str | None:
    value = args.get(name)
    if value is None:
        if required:
            raise _bad(name, "Missing data for required field.", "Thiếu trường bắt buộc.")
        return None
    if not pattern.fullmatch(value):
        raise _bad(name, "Not a valid code.", "Mã không hợp lệ.")
    return value


def _moment(args: Any, name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _bad(name, "Not a date-time (ISO 8601).", "Không phải thời điểm dạng ISO 8601.") from exc
    if not 2000 <= moment.year <= 2100:  # the ends of the calendar overflow in time-zone arithmetic
        raise _bad(name, "A time from 2000 to 2100.", "Thời điểm từ năm 2000 đến 2100.")
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)


def _programme(args: Any) -> str:
    """A programme the platform runs (it has award rules), or a field-level 422."""
    programme = _code(args, "programme", PROGRAMME, required=True)
    assert programme is not None
    if load_rules(programme) is None:
        raise _bad("programme", "No such programme.", "Chương trình không tồn tại.")
    return programme


def _standing(total: Total) -> Standing:
    return Standing(
        total.unit,
        total.submitted,
        total.recognized,
        total.participants,
        total.benefit_vnd,
        total.recognized_benefit_vnd,
        total.target,
    )


def scope_key(scope: str, phase: str, cluster: str | None = None, top: str | None = None) -> str:
    """How a ranking is filed in snapshots: `national@*`, `cluster:C1@P1`, `top:HN@*`."""
    where = {"national": "national", "cluster": f"cluster:{cluster}", "top": f"top:{top}"}[scope]
    return f"{where}@{phase}"


def _standings(
    session: Session, programme: str, phase: str, scope: str, cluster: str | None, top: str | None, level: str
) -> list[Standing]:
    """Every unit the ranking covers (from the registry, so a unit with nothing yet ranks last),
    with its totals; units known only from initiatives' paths are included too."""
    # Plain rows, not ORM objects: a province ranks thousands of units, and this is the hot path.
    columns = (
        Total.unit,
        Total.submitted,
        Total.recognized,
        Total.participants,
        Total.benefit_vnd,
        Total.recognized_benefit_vnd,
        Total.target,
    )
    if scope == "top":
        units = select(Unit.code).where(Unit.top == top, Unit.level == level)
        by_totals = select(*columns).where(Total.top == top, Total.level == level)
    else:
        units = select(Unit.code).where(Unit.level == "top")
        by_totals = select(*columns).where(Total.level == "top")
        if scope == "cluster":
            units = units.where(Unit.cluster == cluster)
            by_totals = by_totals.join(Unit, Unit.code == Total.unit).where(Unit.cluster == cluster)
    rows = session.execute(by_totals.where(Total.programme == programme, Total.phase == phase))
    totals = {row[0]: Standing(*row) for row in rows}
    codes = set(session.scalars(units)) | set(totals)
    return [totals.get(c) or Standing(c, 0, 0, 0, 0, 0, 0) for c in sorted(codes)]


def _cached_ranking(
    session: Session,
    cache: TTLCache | None,
    programme: str,
    phase: str,
    scope: str,
    cluster: str | None,
    top: str | None,
    level: str,
    metric: str,
) -> list[Ranked]:
    key = (programme, phase, scope, cluster, top, level, metric)
    ranked = cache.get(key) if cache is not None else None
    if ranked is None:
        ranked = rank(_standings(session, programme, phase, scope, cluster, top, level), metric)
        if cache is not None:
            cache[key] = ranked
    return ranked


def _from_hourly(session: Session, programme: str, as_of: datetime, units: list[Unit]) -> list[Standing]:
    """Counts as they stood at `as_of` (to the hour): the sum of changes before it."""
    query = (
        select(Hourly.unit, func.sum(Hourly.submitted), func.sum(Hourly.recognized))
        .where(Hourly.programme == programme, Hourly.hour < as_of, Hourly.unit.in_([u.code for u in units]))
        .group_by(Hourly.unit)
    )
    sums = {unit: (int(s or 0), int(r or 0)) for unit, s, r in session.execute(query)}
    return [Standing(u.code, *sums.get(u.code, (0, 0)), 0, 0, 0, 0) for u in units]


def rankings(
    session: Session, principal: Principal, args: Any, now: datetime, cache: TTLCache | None = None
) -> dict[str, Any]:
    """`cache`: live rankings reused for a second or two, so many readers cost one computation."""
    principal.require(READERS)
    programme = _programme(args)
    phase = args.get("phase", ALL_PHASES)
    metric = _choice(args, "metric", METRICS, "submitted")
    scope = _choice(args, "scope", SCOPES, "national")
    cluster = _code(args, "cluster", UNIT_CODE, required=scope == "cluster")
    top = _code(args, "top", UNIT_CODE, required=scope == "top")
    level = _choice(args, "level", ("upper", "grassroots"), "grassroots")
    as_of = _moment(args, "as_of")
    limit = int_arg(args, "limit", 100, 1, 5000)
    offset = int_arg(args, "offset", 0, 0, 1_000_000)
    assert programme is not None and metric is not None and scope is not None and level is not None
    if as_of is not None:
        if scope == "top" or metric not in ("submitted", "recognized") or phase != ALL_PHASES:
            raise _bad(
                "as_of",
                "As-of rankings cover top-level units by submitted or recognized, whole programme.",
                "Xếp hạng tại một thời điểm chỉ áp dụng cho đơn vị cấp tỉnh/ngành, theo số sáng kiến, cả chương trình.",
            )
        tops = select(Unit).where(Unit.level == "top")
        units = list(session.scalars(tops if scope == "national" else tops.where(Unit.cluster == cluster)))
        ranked = rank(_from_hourly(session, programme, as_of, units), metric)
    else:
        ranked = _cached_ranking(session, cache, programme, phase, scope, cluster, top, level, metric)
    key = scope_key(scope, phase, cluster, top)
    snapshot_at, before = _previous(session, programme, key, metric, as_of or now)
    changes = rank_changes(ranked, before)
    total = len(ranked)
    ranked = ranked[offset : offset + limit]
    # Names for the page only: a province ranks a few thousand units, the nation 49.
    names = {
        row.code: row
        for row in session.execute(
            select(Unit.code, Unit.name, Unit.cluster).where(Unit.code.in_([r.standing.unit for r in ranked]))
        )
    }
    return {
        "programme": programme,
        "phase": phase,
        "metric": metric,
        "scope": scope,
        "cluster": cluster,
        "top": top,
        "as_of": as_of,
        "compared_with": snapshot_at,
        "total": total,
        "next_offset": offset + limit if offset + limit < total else None,
        "items": [_item(r, names.get(r.standing.unit), before, changes, as_of is None) for r in ranked],
    }


def _item(r: Ranked, unit: Any, before: dict[str, int], changes: dict[str, int | None], full: bool) -> dict[str, Any]:
    s = r.standing
    return {
        "rank": r.rank,
        "unit": s.unit,
        "name": unit.name if unit else None,
        "cluster": unit.cluster if unit else None,
        "value": r.value,
        "submitted": s.submitted,
        "recognized": s.recognized,
        "participants": s.participants if full else None,
        "benefit_vnd": s.benefit_vnd if full else None,
        "target": s.target if full else None,
        "progress": s.progress if full else None,
        "previous_rank": before.get(s.unit),
        "rank_change": changes.get(s.unit),
    }


def _previous(session: Session, programme: str, key: str, metric: str, until: datetime) -> tuple[Any, dict[str, int]]:
    taken = session.scalar(
        select(func.max(RankSnapshot.taken_at)).where(
            RankSnapshot.programme == programme,
            RankSnapshot.scope == key,
            RankSnapshot.metric == metric,
            RankSnapshot.taken_at <= until,
        )
    )
    if taken is None:
        return None, {}
    rows = session.execute(
        select(RankSnapshot.unit, RankSnapshot.rank).where(
            RankSnapshot.programme == programme,
            RankSnapshot.scope == key,
            RankSnapshot.metric == metric,
            RankSnapshot.taken_at == taken,
        )
    )
    return taken, dict(rows.tuples().all())


def take_snapshot(session: Session, now: datetime) -> int:
    """Files today's rankings (national, per cluster, per top unit's grassroots) for rank changes."""
    written = 0
    programmes = session.scalars(select(Total.programme).distinct())
    clusters = [c for c in session.scalars(select(Unit.cluster).where(Unit.level == "top").distinct()) if c]
    tops = list(session.scalars(select(Unit.code).where(Unit.level == "top")))
    for programme in list(programmes):
        scopes = [("national", None, None)] + [("cluster", c, None) for c in clusters]
        scopes += [("top", None, t) for t in tops]
        for scope, cluster, top in scopes:
            standings = _standings(session, programme, ALL_PHASES, scope, cluster, top, "grassroots")
            if not standings:
                continue
            for metric in METRICS:
                rows = [
                    {
                        "taken_at": now,
                        "programme": programme,
                        "scope": scope_key(scope, ALL_PHASES, cluster, top),
                        "metric": metric,
                        "unit": r.standing.unit,
                        "rank": r.rank,
                        "value": r.value,
                    }
                    for r in rank(standings, metric)
                    if r.rank is not None
                ]
                if rows:
                    session.execute(RankSnapshot.__table__.insert(), rows)
                    written += len(rows)
    return written


def standing(session: Session, principal: Principal, unit_code: str, args: Any) -> dict[str, Any]:
    principal.require(READERS)
    if not UNIT_CODE.fullmatch(unit_code):
        raise _bad("unit", "Not a unit code.", "Mã đơn vị không hợp lệ.")
    programme = _programme(args)
    phase = args.get("phase", ALL_PHASES)
    total = session.get(Total, (unit_code, programme, phase))
    unit = session.get(Unit, unit_code)
    if total is None and unit is None:
        raise NotFound("No such unit has any standing.", "Đơn vị này chưa có số liệu thi đua.")
    s = _standing(total) if total else Standing(unit_code, 0, 0, 0, 0, 0, 0)
    cells = session.execute(
        select(Cell.block, Cell.target_group, Cell.submitted, Cell.recognized, Cell.benefit_vnd)
        .where(Cell.unit == unit_code, Cell.programme == programme, Cell.phase == phase)
        .order_by(Cell.block, Cell.target_group)
    ).all()
    ranks = {}
    if unit is not None and unit.level == "top":
        for scope, cluster in (("national", None), ("cluster", unit.cluster)):
            if scope == "cluster" and not cluster:
                continue
            ranked = rank(_standings(session, programme, phase, scope, cluster, None, ""), "submitted")
            ranks[scope] = next((r.rank for r in ranked if r.standing.unit == unit_code), None)
    path = unit.path if unit else f"/{unit_code}/"
    members = session.scalar(
        select(func.count()).select_from(Member).join(Unit, Unit.code == Member.unit).where(Unit.path.startswith(path))
    )
    return {
        "unit": unit_code,
        "name": unit.name if unit else None,
        "level": unit.level if unit else (total.level if total else None),
        "cluster": unit.cluster if unit else None,
        "programme": programme,
        "phase": phase,
        "submitted": s.submitted,
        "recognized": s.recognized,
        "participants": s.participants,
        "members_registered": int(members or 0),
        "benefit_vnd": s.benefit_vnd,
        "recognized_benefit_vnd": s.recognized_benefit_vnd,
        "target": s.target,
        "progress": s.progress,
        "ranks": ranks,
        "breakdown": [
            {"block": b or None, "target_group": g or None, "submitted": n, "recognized": r, "benefit_vnd": v}
            for b, g, n, r, v in cells
        ],
    }


def history(session: Session, principal: Principal, unit_code: str, args: Any, now: datetime) -> dict[str, Any]:
    """Cumulative counts at the end of each day (top-level units and the nation)."""
    principal.require(READERS)
    if not UNIT_CODE.fullmatch(unit_code):
        raise _bad("unit", "Not a unit code.", "Mã đơn vị không hợp lệ.")
    programme = _programme(args)
    days = int_arg(args, "days", 30, 1, 731)
    if (
        session.get(Unit, unit_code) is None
        and session.scalar(select(Hourly.unit).where(Hourly.unit == unit_code).limit(1)) is None
    ):
        raise NotFound("No such unit has any history.", "Đơn vị này chưa có số liệu theo thời gian.")
    end = (now.astimezone(LOCAL) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    base = session.execute(
        select(func.coalesce(func.sum(Hourly.submitted), 0), func.coalesce(func.sum(Hourly.recognized), 0)).where(
            Hourly.unit == unit_code, Hourly.programme == programme, Hourly.hour < start
        )
    ).one()
    changes = session.execute(
        select(Hourly.hour, Hourly.submitted, Hourly.recognized)
        .where(Hourly.unit == unit_code, Hourly.programme == programme, Hourly.hour >= start, Hourly.hour < end)
        .order_by(Hourly.hour)
    ).all()
    submitted, recognized = int(base[0]), int(base[1])
    per_day: dict[date, tuple[int, int]] = {}
    for hour, s, r in changes:
        day = hour.astimezone(LOCAL).date()
        a, b = per_day.get(day, (0, 0))
        per_day[day] = (a + s, b + r)
    series = []
    for i in range(days):
        day = (start + timedelta(days=i)).date()
        s, r = per_day.get(day, (0, 0))
        submitted, recognized = submitted + s, recognized + r
        series.append({"day": day, "submitted": submitted, "recognized": recognized})
    return {"unit": unit_code, "programme": programme, "series": series}


def targets(session: Session, principal: Principal, args: Any) -> list[dict[str, Any]]:
    principal.require(READERS)
    programme = _programme(args)
    unit = _code(args, "unit", UNIT_CODE)
    query = select(Target).where(Target.programme == programme)
    if unit:
        query = query.where(Target.unit == unit)
    out = []
    for t in session.scalars(query.order_by(Target.unit, Target.phase, Target.block)):
        total = session.get(Total, (t.unit, programme, t.phase))
        submitted = total.submitted if total else 0
        progress = round(100.0 * submitted / total.target, 2) if total and total.target > 0 else None
        out.append(
            {
                "unit": t.unit,
                "programme": programme,
                "phase": t.phase,
                "block": t.block or None,
                "target": t.target,
                "unit_submitted": submitted,
                "unit_target": total.target if total else 0,
                "progress": progress,
            }
        )
    return out


def _subtree(unit: str) -> Any:
    """Entries of a unit and every unit under it.

    The registry may not have reached awards yet: unit codes start with their top unit's and,
    by convention, their upper unit's, and every entry names its top-level unit."""
    inside = select(Unit.code).where(Unit.path.contains(f"/{unit}/"))
    return or_(
        LedgerEntry.recipient_unit == unit,
        LedgerEntry.recipient_unit.startswith(f"{unit}-"),
        LedgerEntry.top_unit == unit,
        LedgerEntry.recipient_unit.in_(inside),
    )


def _ledger_scope(principal: Principal) -> Any:
    if principal.role in ("national_admin", "operator"):
        return None
    if principal.role == "member":
        return LedgerEntry.recipient_member == principal.sub
    principal.require(("support_team", "reviewer", "unit_admin"))
    return _subtree(principal.unit)


def ledger(session: Session, principal: Principal, args: Any) -> dict[str, Any]:
    scope = _ledger_scope(principal)
    kind = _choice(args, "kind", LEDGER_KINDS, None)
    programme = _code(args, "programme", PROGRAMME)
    unit = _code(args, "unit", UNIT_CODE)
    under = _code(args, "under", UNIT_CODE)
    order = _choice(args, "order", LEDGER_ORDERS, "created")
    limit = int_arg(args, "limit", 50, 1, 500)
    offset = int_arg(args, "offset", 0, 0, 10_000_000)
    query = select(LedgerEntry)
    for condition in (
        scope,
        LedgerEntry.kind == kind if kind else None,
        LedgerEntry.programme == programme if programme else None,
        LedgerEntry.recipient_unit == unit if unit else None,
        _subtree(under) if under else None,
        LedgerEntry.period == _period(args) if args.get("period") is not None else None,
    ):
        if condition is not None:
            query = query.where(condition)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # "due": a remuneration schedule reads by due date, soonest first; undated entries after.
    ordering = (
        (LedgerEntry.due_on.asc().nulls_last(), LedgerEntry.created_at, LedgerEntry.id)
        if order == "due"
        else (LedgerEntry.created_at.desc(), LedgerEntry.id)
    )
    items = list(session.scalars(query.order_by(*ordering).offset(offset).limit(limit)))
    return {"items": items, "total": total, "next_offset": offset + limit if offset + limit < total else None}


def _period(args: Any) -> str:
    try:
        return awarding.period(args["period"]).code
    except ValueError as exc:
        raise _bad("period", "A period: 2026, 2026-H1 or 2026-Q3.", "Kỳ: 2026, 2026-H1 hoặc 2026-Q3.") from exc


def mark_paid(session: Session, principal: Principal, entry_id: str, now: datetime) -> LedgerEntry:
    principal.require(("unit_admin", "national_admin"))
    entry = session.get(LedgerEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("No such ledger entry.", "Không tìm thấy khoản này trong sổ.")
    unit = session.get(Unit, entry.recipient_unit)
    path = unit.path if unit else f"/{entry.top_unit}/{entry.recipient_unit}/"
    if principal.role != "national_admin" and f"/{principal.unit}/" not in path:
        raise Forbidden()
    if entry.amount_vnd is None:
        raise Conflict("A certificate without money is not paid.", "Bằng khen không kèm tiền thưởng không cần chi.")
    if entry.paid_at is not None:
        raise Conflict("Already marked paid.", "Khoản này đã được ghi nhận chi trả.", code="already_paid")
    entry.paid_at = now
    return entry


def verify_certificate(session: Session, code: str) -> dict[str, Any]:
    code = code.upper()
    entry = (
        session.scalar(select(LedgerEntry).where(LedgerEntry.verification_code == code))
        if CODE.fullmatch(code)
        else None
    )
    if entry is None:
        raise NotFound("No certificate has this verification code.", "Không có bằng khen nào mang mã này.")
    return {
        "valid": True,
        "number": entry.certificate_number,
        "verification_code": entry.verification_code,
        "award": entry.details.get("award"),
        "recipient_type": entry.recipient_type,
        "recipient_unit": entry.recipient_unit,
        "period": entry.period,
        "reason": entry.reason,
        "issued_at": entry.created_at,
    }
