"""The submission service's events: contract data built from its models."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from chassis.envelope import iso
from chassis.outbox import Outgoing, record_event, record_events
from submission import EXCHANGE, SOURCE
from submission.models import Initiative, Member, Target, Unit


def initiative_data(ini: Initiative) -> dict[str, Any]:
    hidden = ini.confidential  # a confidential initiative publishes title, field and benefit only
    return {
        "initiative_id": ini.id,
        "revision": ini.revision,
        "programme": ini.programme,
        "phase": ini.phase,
        "unit": ini.unit,
        "unit_path": ini.path_codes,
        "top_unit": ini.top_unit,
        "block": ini.block,
        "title": ini.title,
        "field": ini.field,
        "target_group": ini.target_group,
        "confidential": ini.confidential,
        "problem": None if hidden else ini.problem,
        "solution": None if hidden else ini.solution,
        "novelty": None if hidden else ini.novelty,
        "scope": None if hidden else ini.scope,
        "first_applied_on": iso(ini.first_applied_on),
        "benefit_vnd_per_year": ini.benefit_vnd_per_year,
        "benefit_description": ini.benefit_description,
        "authors": [{"member_id": a.member_id, "share_percent": float(a.share_percent)} for a in ini.authors],
        "submitted_by": {"member_id": ini.submitted_by, "role": ini.submitted_by_role},
        "on_behalf": ini.on_behalf,
        "submitted_at": iso(ini.submitted_at),
    }


def _outgoing(event_type: str, data: dict[str, Any], subject: str, top: str) -> Outgoing:
    return Outgoing(EXCHANGE, event_type, data, SOURCE, subject, top)


def _record(session: Session, event_type: str, data: dict[str, Any], subject: str, top: str) -> dict:
    return record_event(session, _outgoing(event_type, data, subject, top))


def _submitted(ini: Initiative) -> Outgoing:
    event_type = "initiative.submitted" if ini.revision == 1 else "initiative.resubmitted"
    return _outgoing(event_type, initiative_data(ini), ini.id, ini.top_unit)


def initiative_submitted(session: Session, ini: Initiative) -> dict:
    return record_event(session, _submitted(ini))


def initiatives_submitted(session: Session, inis: list[Initiative]) -> list[dict]:
    """A bulk import's events, staged in one statement."""
    return record_events(session, [_submitted(ini) for ini in inis])


def initiative_withdrawn(session: Session, ini: Initiative, by: str, role: str) -> dict:
    data = {
        "initiative_id": ini.id,
        "unit": ini.unit,
        "top_unit": ini.top_unit,
        "programme": ini.programme,
        "withdrawn_by": {"member_id": by, "role": role},
        "reason": ini.withdraw_reason,
        "withdrawn_at": iso(ini.updated_at),
    }
    return _record(session, "initiative.withdrawn", data, ini.id, ini.top_unit)


def unit_registered(session: Session, unit: Unit) -> dict:
    data = {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "parent": unit.parent,
        "top": unit.top,
        "cluster": unit.cluster,
        "block": unit.block,
        "path": unit.path_codes,
    }
    return _record(session, "unit.registered", data, unit.code, unit.top or unit.code)


def target_registered(session: Session, target: Target, top_unit: str) -> dict:
    data = {
        "unit": target.unit,
        "top_unit": top_unit,
        "programme": target.programme,
        "phase": target.phase,
        "block": target.block,
        "target": target.target,
        "registered_by": target.registered_by,
        "registered_at": iso(target.registered_at),
    }
    subject = f"{target.unit}/{target.programme}/{target.phase}/{target.block}"
    return _record(session, "target.registered", data, subject, top_unit)


def member_registered(session: Session, member: Member, top_unit: str) -> dict:
    data = {
        "member_id": member.member_id,
        "unit": member.unit,
        "top_unit": top_unit,
        "registered_at": iso(member.registered_at),
    }
    return _record(session, "member.registered", data, member.member_id, top_unit)
