"""Use cases of awards: each consumed event updates the read models and the ledger at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from awards import awarding, ledger, projections, queries
from awards.models import Fact, LedgerEntry, RankSnapshot
from awards.rules import load
from chassis.auth import Principal
from chassis.calendar import LOCAL, local_day
from chassis.validation import FieldError, validation_failed

SNAPSHOT_HOUR = 7  # the national office quotes standings "at 7:00"


def now_utc() -> datetime:
    return datetime.now(UTC)


def submitted(session: Session, data: dict[str, Any], now: datetime) -> None:
    projections.on_submitted(session, data)
    fact = session.get(Fact, data["initiative_id"])
    if fact is not None and fact.unit_path:
        ledger.bonus_on_submission(session, fact, now)
        if fact.recognized_at is not None:  # the recognition came first: its remuneration waited for this
            ledger.schedule_remuneration(session, fact, now)


def recognized(session: Session, data: dict[str, Any], now: datetime) -> None:
    fact = projections.on_recognized(session, data)
    if fact.revision >= 1:  # remuneration needs the submission's content (first applied on, shares)
        ledger.schedule_remuneration(session, fact, now)


def run_rules(session: Session, principal: Principal, payload: Any, now: datetime) -> list[LedgerEntry]:
    """An operator's or the national office's run of the periodic rules; re-running grants nothing twice."""
    principal.require(("national_admin", "operator"))
    if not isinstance(payload, dict):
        raise validation_failed([FieldError("_body", "Must be an object.", "Phải là một đối tượng JSON.")])
    errors = []
    programme, period = payload.get("programme"), payload.get("period")
    if not isinstance(programme, str) or not queries.PROGRAMME.fullmatch(programme):
        errors.append(FieldError("programme", "Not a programme code.", "Mã chương trình không hợp lệ."))
    elif load(programme) is None:
        errors.append(FieldError("programme", "No award rules for this programme.", "Chương trình chưa có quy chế."))
    try:
        awarding.period(period if isinstance(period, str) else "")
    except ValueError:
        errors.append(FieldError("period", "A period: 2026, 2026-H1 or 2026-Q3.", "Kỳ: 2026, 2026-H1 hoặc 2026-Q3."))
    unknown = sorted(set(payload) - {"programme", "period"})
    errors += [FieldError(k, "Unknown field.", "Trường không được hỗ trợ.") for k in unknown]
    if errors:
        raise validation_failed(errors)
    return ledger.run_rules(session, programme, period, now)


def daily(session: Session, now: datetime) -> dict[str, int]:
    """What a day brings: installments falling due, rules of periods just ended, the 7:00 snapshot."""
    today = local_day(now)
    due = ledger.announce_due(session, today, now)
    granted = 0
    for programme in session.scalars(select(Fact.programme).distinct()):
        for period in ledger.ended_periods(today):
            granted += len(ledger.run_rules(session, programme, period, now))
    seven = now.astimezone(LOCAL).replace(hour=SNAPSHOT_HOUR, minute=0, second=0, microsecond=0)
    snapshot = 0
    if now >= seven:
        taken = session.scalar(select(RankSnapshot.taken_at).where(RankSnapshot.taken_at >= seven).limit(1))
        if taken is None:
            snapshot = queries.take_snapshot(session, now)
    return {"due": len(due), "granted": granted, "snapshot_rows": snapshot}
