"""The awards service's events: contract data built from ledger entries, staged in the outbox.

`granted` and `scheduled` build an event for `chassis.outbox.record_events`, which stages a
batch's events in one INSERT; the others stage one event each.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from awards import EXCHANGE, SOURCE
from awards.models import LedgerEntry
from chassis.envelope import iso
from chassis.outbox import Outgoing, record_event


def _outgoing(event_type: str, entry: Any, data: dict[str, Any], subject: str) -> Outgoing:
    return Outgoing(EXCHANGE, event_type, data, SOURCE, subject, entry.top_unit)


def remuneration_id(entry: Any) -> str:
    """One id for all installments of an initiative's remuneration (installment tells them apart)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:vgcl:remuneration:{entry.rule_id}:{entry.initiative_id}"))


def award_granted(session: Session, entry: LedgerEntry) -> dict:
    return record_event(session, granted(entry))


def granted(entry: Any) -> Outgoing:
    """`award.granted` of a ledger entry (the model, or any object with its attributes)."""
    data = {
        "award_id": entry.id,
        "programme": entry.programme,
        "rule_id": entry.rule_id,
        "rule_version": entry.rule_version,
        "kind": entry.kind,
        "recipient": {
            "type": entry.recipient_type,
            "unit": entry.recipient_unit,
            "member_id": entry.recipient_member,
        },
        "top_unit": entry.top_unit,
        "initiative_id": entry.initiative_id,
        "period": entry.period,
        "amount_vnd": entry.amount_vnd,
        "certificate_number": entry.certificate_number,
        "verification_code": entry.verification_code,
        "reason": entry.reason,
        "granted_at": iso(entry.created_at),
    }
    return _outgoing("award.granted", entry, data, entry.id)


def _remuneration(entry: Any) -> dict[str, Any]:
    return {
        "remuneration_id": remuneration_id(entry),
        "initiative_id": entry.initiative_id,
        "programme": entry.programme,
        "unit": entry.recipient_unit,
        "top_unit": entry.top_unit,
        "installment": entry.details["installment"],
        "installments": entry.details["installments"],
        "due_on": entry.due_on.isoformat() if entry.due_on else None,
        "total_vnd": entry.amount_vnd,
        "payees": entry.details["payees"],
    }


def remuneration_scheduled(session: Session, entry: LedgerEntry) -> dict:
    return record_event(session, scheduled(entry))


def scheduled(entry: Any) -> Outgoing:
    """`remuneration.scheduled` of an installment (the model, or any object with its attributes)."""
    data = {
        **_remuneration(entry),
        "basis": entry.details["basis"],
        "period_start": entry.details["period_start"],
        "period_end": entry.details["period_end"],
        "rule_id": entry.rule_id,
        "rule_version": entry.rule_version,
        "scheduled_at": iso(entry.created_at),
    }
    return _outgoing("remuneration.scheduled", entry, data, data["remuneration_id"])


def remuneration_due(session: Session, entry: LedgerEntry) -> dict:
    data = {**_remuneration(entry), "announced_at": iso(entry.due_announced_at)}
    return record_event(session, _outgoing("remuneration.due", entry, data, data["remuneration_id"]))
