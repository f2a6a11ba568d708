"""The award ledger: grants and remuneration installments, each written once with its event."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from awards import awarding, events, remuneration
from awards.awarding import Grant, Period, Recognised, UnitCount
from awards.facts import RECOGNIZED, SUBMITTED, Change, FactState
from awards.models import CertificateSeries, Fact, LedgerEntry, Target, Unit
from awards.rules import RuleSet, load
from chassis.calendar import LOCAL, local_day
from chassis.certificates import next_in_series, verification_code
from chassis.outbox import record_events

MONEY_KINDS = ("bonus", "benefit_reward")


def _existing(session: Session, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    return set(session.scalars(select(LedgerEntry.grant_key).where(LedgerEntry.grant_key.in_(keys))))


def _grant_row(session: Session, grant: Grant, programme: str, now: datetime) -> dict[str, Any]:
    """A grant's ledger row; a certificate takes the next number of its series."""
    row = {
        "id": str(uuid.uuid4()),
        "grant_key": grant.key,
        "kind": grant.kind,
        "programme": programme,
        "rule_id": grant.rule.id,
        "rule_version": grant.rule.version,
        "recipient_type": grant.recipient_type,
        "recipient_unit": grant.recipient_unit,
        "recipient_member": grant.recipient_member,
        "top_unit": grant.top_unit,
        "initiative_id": grant.initiative_id,
        "period": grant.period,
        "amount_vnd": grant.amount_vnd,
        "reason": grant.reason,
        "details": {"award": grant.rule.params.get("award")} if grant.rule.params.get("award") else {},
        "certificate_number": None,
        "verification_code": None,
        "due_on": None,
        "created_at": now,
    }
    if grant.kind == "certificate_of_merit":
        issuer = grant.top_unit if grant.rule.params.get("issuer") == "top" else "VGCL"
        prefix = f"BK-{issuer}-{local_day(now).year}"
        row["certificate_number"] = f"{prefix}-{next_in_series(session, CertificateSeries, prefix):06d}"
        row["verification_code"] = verification_code(grant.top_unit)
    return row


def record(session: Session, grants: Sequence[Grant], programme: str, now: datetime) -> list[LedgerEntry]:
    """Writes the grants not written before; re-running a rule grants nothing twice."""
    seen = _existing(session, (g.key for g in grants))
    written = []
    for grant in grants:
        if grant.key in seen:
            continue
        seen.add(grant.key)
        entry = LedgerEntry(**_grant_row(session, grant, programme, now))
        session.add(entry)
        session.flush()
        events.award_granted(session, entry)
        written.append(entry)
    return written


def _within(rule_within: str | None, path: str) -> bool:
    return rule_within is None or f"/{rule_within}/" in path


def for_changes(session: Session, done: Iterable[tuple[Change, FactState]], now: datetime) -> list[dict[str, Any]]:
    """A batch's ledger work: the bonus of a submission, the remuneration of a first recognition.

    Each is judged on the fact as its own event left it (as one event at a time would), and
    the batch's entries are written at once, each grant key once.
    """
    planned: list[tuple[str, Callable[[], dict[str, Any]]]] = []  # (grant key, its row), in event order
    for change, fact in done:
        if change.kind == SUBMITTED and fact.unit_path:
            planned += [(g.key, partial(_grant_row, session, g, fact.programme, now)) for g in _bonus_grants(fact)]
            if fact.recognized_at is not None:  # the recognition came first: its remuneration waited for this
                planned += _installments(fact, now)
        elif change.kind == RECOGNIZED and fact.revision >= 1:  # it needs the submission's content
            planned += _installments(fact, now)
    seen = _existing(session, (key for key, _ in planned))
    rows = []
    for key, row in planned:
        if key not in seen:  # built only now: a certificate's number is taken once it is granted
            seen.add(key)
            rows.append(row())
    if rows:
        session.execute(insert(LedgerEntry.__table__), rows)
        outgoing = [(events.scheduled if r["kind"] == "remuneration" else events.granted)(Entry(**r)) for r in rows]
        record_events(session, outgoing)
    return rows


class Entry(SimpleNamespace):
    """A ledger row written in bulk, read by the event builders like a LedgerEntry."""


def _bonus_grants(fact: FactState) -> list[Grant]:
    """The per-idea bonus of a unit's own scheme, when the idea's unit falls under it."""
    rules = load(fact.programme)
    if rules is None or fact.withdrawn_at is not None:
        return []
    recognised = _recognised(fact)
    return [
        g
        for rule in rules.for_unit(fact.top_unit)
        if rule.kind == "bonus_per_submission" and _within(rule.within, fact.unit_path)
        for g in awarding.bonus_for_submission(rule, recognised)
    ]


def _recognised(fact: Fact | FactState) -> Recognised:
    authors = tuple(fact.authors or ()) or ({"member_id": None, "share_percent": 100},)
    return Recognised(fact.initiative_id, fact.unit, fact.top_unit, fact.title, fact.benefit_vnd_per_year, authors)


def _installments(fact: FactState, now: datetime) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """The decree's remuneration for a first recognition, as installments due on their dates."""
    rules = load(fact.programme)
    if rules is None or fact.recognized_at is None or not fact.authors:
        return []
    pay = rules.remuneration
    plan = remuneration.schedule(
        pay, fact.benefit_vnd_per_year, fact.first_applied_on, local_day(fact.recognized_at), fact.authors
    )
    rows = [
        {
            "id": str(uuid.uuid4()),
            "grant_key": f"{pay.id}|{fact.initiative_id}|{installment.number}",
            "kind": "remuneration",
            "programme": fact.programme,
            "rule_id": pay.id,
            "rule_version": pay.version,
            "recipient_type": "individual" if len(installment.payees) == 1 else "collective",
            "recipient_unit": fact.unit,
            "recipient_member": None,
            "top_unit": fact.top_unit,
            "initiative_id": fact.initiative_id,
            "period": None,
            "amount_vnd": installment.total_vnd,
            "reason": f"Thù lao tác giả sáng kiến «{fact.title}», đợt {installment.number}/{installment.of}.",
            "details": {
                "basis": installment.basis,
                "installment": installment.number,
                "installments": installment.of,
                "period_start": installment.period_start.isoformat(),
                "period_end": installment.period_end.isoformat(),
                "payees": [p.__dict__ for p in installment.payees],
            },
            "certificate_number": None,
            "verification_code": None,
            "due_on": installment.due_on,
            "created_at": now,
        }
        for installment in plan
    ]
    return [(row["grant_key"], partial(dict, row)) for row in rows]


def announce_due(session: Session, today: date, now: datetime, limit: int = 500) -> list[LedgerEntry]:
    """Installments falling due are announced once; several replicas skip each other's rows."""
    due = list(
        session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.kind == "remuneration", LedgerEntry.due_on <= today, LedgerEntry.due_announced_at.is_(None)
            )
            .order_by(LedgerEntry.due_on, LedgerEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for entry in due:
        entry.due_announced_at = now
        events.remuneration_due(session, entry)
    return due


# --- Periodic rules ---------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL)


def _submitted_in(session: Session, programme: str, when: Period, group: str) -> dict[Any, int]:
    """Initiatives submitted in the period and not withdrawn, per top unit or per grassroots unit."""
    columns = (Fact.top_unit,) if group == "top" else (Fact.unit, Fact.top_unit, Fact.unit_path)
    rows = session.execute(
        select(*columns, func.count())
        .where(
            Fact.programme == programme,
            Fact.submitted_at >= _local_midnight(when.start),
            Fact.submitted_at < _local_midnight(when.end),
            Fact.withdrawn_at.is_(None),
        )
        .group_by(*columns)
    )
    return {tuple(r[:-1]) if len(r) > 2 else r[0]: r[-1] for r in rows}


def _targets(session: Session, programme: str, units: Iterable[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Target.unit, Target.phase, func.sum(Target.target))
        .where(Target.programme == programme, Target.unit.in_(list(units)))
        .group_by(Target.unit, Target.phase)
    )
    for unit, phase, value in rows:
        out.setdefault(unit, {})[phase] = int(value)
    return out


def _recognised_in(session: Session, programme: str, when: Period) -> list[tuple[Recognised, str]]:
    facts = session.scalars(
        select(Fact).where(
            and_(
                Fact.programme == programme,
                Fact.recognized_at >= _local_midnight(when.start),
                Fact.recognized_at < _local_midnight(when.end),
                Fact.withdrawn_at.is_(None),
            )
        )
    )
    return [(_recognised(f), f.unit_path) for f in facts]


def run_rules(session: Session, programme: str, period_code: str, now: datetime) -> list[LedgerEntry]:
    """Evaluates every rule of the period's kind, per top-level unit's own rule set."""
    rules = load(programme)
    if rules is None:
        return []
    when = awarding.period(period_code)
    grants: list[Grant] = []
    tops = list(session.scalars(select(Unit).where(Unit.level == "top").order_by(Unit.code)))
    per_top = _submitted_in(session, programme, when, "top")
    targets = _targets(session, programme, [u.code for u in tops])
    recognised = _recognised_in(session, programme, when)
    national = [r for r in rules.rules if r.params.get("period") == when.kind]
    for rule in national:
        if rule.kind == "cluster_period_leader":
            counts = [
                UnitCount(
                    u.code,
                    u.code,
                    u.cluster,
                    per_top.get(u.code, 0),
                    awarding.pro_rata_target(when, rules.phases, targets.get(u.code, {})),
                )
                for u in tops
            ]
            grants += awarding.cluster_leaders(rule, when, counts)
    grants += _per_top_unit(session, rules, programme, when, tops, recognised)
    return record(session, grants, programme, now)


def _per_top_unit(
    session: Session,
    rules: RuleSet,
    programme: str,
    when: Period,
    tops: Sequence[Unit],
    recognised: Sequence[tuple[Recognised, str]],
) -> list[Grant]:
    grants: list[Grant] = []
    per_unit = _submitted_in(session, programme, when, "unit")
    for top in tops:
        for rule in rules.for_unit(top.code):
            if rule.params.get("period") != when.kind:
                continue
            mine = [r for r, path in recognised if r.top_unit == top.code and _within(rule.within, path)]
            if rule.kind == "top_n_collectives":
                counts = [
                    UnitCount(unit, top.code, None, n, 0)
                    for (unit, unit_top, path), n in per_unit.items()
                    if unit_top == top.code and _within(rule.within, path)
                ]
                grants += awarding.top_collectives(rule, when, counts)
            elif rule.kind == "author_benefit_threshold":
                grants += awarding.authors_above_threshold(rule, when, mine)
            elif rule.kind == "benefit_reward":
                grants += awarding.benefit_rewards(rule, when, mine)
    return grants


def ended_periods(today: date) -> list[str]:
    """The quarter, half-year and year that ended most recently (the daily run's work)."""
    quarter_end = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
    half_end = date(today.year, 1 if today.month <= 6 else 7, 1) - timedelta(days=1)
    return [
        f"{quarter_end.year}-Q{(quarter_end.month - 1) // 3 + 1}",
        f"{half_end.year}-H{1 if half_end.month <= 6 else 2}",
        f"{today.year - 1}",
    ]
