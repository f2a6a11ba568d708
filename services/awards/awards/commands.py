"""Use cases of awards: a batch of consumed events updates the read models and the ledger at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from awards import awarding, facts, ledger, projections, queries
from awards.models import Fact, LedgerEntry, RankSnapshot
from awards.rules import load
from chassis.auth import Principal
from chassis.calendar import LOCAL, local_day
from chassis.consuming import DONE, Outcome, poison
from chassis.validation import FieldError, validation_failed

SNAPSHOT_HOUR = 7  # the national office quotes standings "at 7:00"


def now_utc() -> datetime:
    return datetime.now(UTC)


def initiative_events(session: Session, events: Sequence[dict[str, Any]], now: datetime) -> list[Outcome]:
    """A batch of initiatives' events (submitted, resubmitted, withdrawn, recognized), in order.

    Nothing here waits for another queue (a recognition before its submission keeps what it
    says), so an event is done, or poison when its content can never be applied.
    """
    outcomes: list[Outcome] = []
    changes = []
    for event in events:
        try:
            changes.append(facts.parse(event["type"], event["data"]))
            outcomes.append(DONE)
        except (KeyError, TypeError, ValueError) as exc:
            outcomes.append(poison(f"{event.get('type')} {event.get('id')} cannot be applied: {exc!r}"[:300]))
    if changes:
        projections_and_ledger(session, changes, now)
    return outcomes


def submitted(session: Session, data: dict[str, Any], now: datetime) -> None:
    """One submission alone (the consumers take batches: initiative_events)."""
    projections_and_ledger(session, [facts.parse("initiative.submitted", data)], now)


def recognized(session: Session, data: dict[str, Any], now: datetime) -> None:
    projections_and_ledger(session, [facts.parse("initiative.recognized", data)], now)


def projections_and_ledger(session: Session, changes: Sequence[facts.Change], now: datetime) -> None:
    """The read models first; then the ledger, judging each change on the fact as it left it."""
    after = projections.apply_changes(session, changes)
    ledger.for_changes(session, zip(changes, after, strict=True), now)


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
