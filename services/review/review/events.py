"""The review service's events: contract data built from its models, staged in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from chassis.envelope import iso
from chassis.outbox import Outgoing, record_event
from review import EXCHANGE, SOURCE
from review.domain import Verdict
from review.models import Case, Certificate, LevelReview


def _record(session: Session, event_type: str, case: Case, data: dict[str, Any]) -> dict:
    return record_event(session, Outgoing(EXCHANGE, event_type, data, SOURCE, case.initiative_id, case.top_unit))


def _base(case: Case, step: LevelReview) -> dict[str, Any]:
    return {
        "initiative_id": case.initiative_id,
        "revision": case.revision,
        "unit": case.unit,
        "top_unit": case.top_unit,
        "programme": case.programme,
        "level": step.level,
        "level_unit": step.unit,
    }


def review_started(session: Session, case: Case, step: LevelReview, by: str) -> dict:
    data = {**_base(case, step), "accepted_by": by, "accepted_at": iso(step.accepted_at)}
    data["decision_due_at"] = iso(step.due_at)
    return _record(session, "review.started", case, data)


def initiative_returned(session: Session, case: Case, step: LevelReview, by: str, at: datetime) -> dict:
    data = {
        "initiative_id": case.initiative_id,
        "unit": case.unit,
        "top_unit": case.top_unit,
        "level": step.level,
        "reason": step.reason,
        "returned_by": by,
        "returned_at": iso(at),
    }
    return _record(session, "initiative.returned", case, data)


def initiative_rejected(session: Session, case: Case, step: LevelReview, by: str) -> dict:
    data = {**_base(case, step), "reason": step.reason, "rejected_by": by, "rejected_at": iso(step.decided_at)}
    return _record(session, "initiative.rejected", case, data)


def scores_data(result: Verdict) -> dict[str, Any]:
    """A level's scorecard result as the contracts carry it: no reviewer ids."""
    return {
        "decision_rule": result.rule,
        "scorers": result.scorers,
        **result.criteria,
        "total": result.total,
        "pass_mark": result.pass_mark,
        "passed": result.passed,
    }


def initiative_scored(session: Session, case: Case, step: LevelReview, result: Verdict, at: datetime) -> dict:
    data = {**_base(case, step), "scores": scores_data(result), "scored_at": iso(at)}
    return _record(session, "initiative.scored", case, data)


def initiative_recognized(
    session: Session, case: Case, step: LevelReview, certificate: Certificate, result: Verdict, by: str
) -> dict:
    data = {
        **_base(case, step),
        "phase": case.phase,
        "block": case.block,
        "field": case.field,
        "target_group": case.target_group,
        "title": case.title,
        "confidential": case.confidential,
        "certificate_number": certificate.number,
        "verification_code": certificate.verification_code,
        "scores": scores_data(result),
        "benefit_vnd_per_year": case.benefit_vnd_per_year,
        "authors": [{"member_id": a.get("member_id"), "share_percent": a["share_percent"]} for a in case.authors],
        "recognized_by": by,
        "recognized_at": iso(step.decided_at),
    }
    return _record(session, "initiative.recognized", case, data)


def initiative_nominated(session: Session, case: Case, step: LevelReview, to: LevelReview, by: str) -> dict:
    data = {
        "initiative_id": case.initiative_id,
        "revision": case.revision,
        "unit": case.unit,
        "top_unit": case.top_unit,
        "programme": case.programme,
        "from_level": step.level,
        "from_unit": step.unit,
        "to_level": to.level,
        "to_unit": to.unit,
        "honour": step.honour,
        "reason": step.reason or "",
        "nominated_by": by,
        "nominated_at": iso(to.received_at),
    }
    return _record(session, "initiative.nominated", case, data)


def deadline_missed(session: Session, case: Case, step: LevelReview, due_at: datetime, now: datetime) -> dict:
    data = {
        "initiative_id": case.initiative_id,
        "unit": case.unit,
        "top_unit": case.top_unit,
        "programme": case.programme,
        "level": step.level,
        "level_unit": step.unit,
        "clock": step.clock,
        "due_at": iso(due_at),
        "detected_at": iso(now),
        "escalate_to": {"role": "unit_admin", "unit": step.unit},
    }
    return _record(session, "review.deadline_missed", case, data)
