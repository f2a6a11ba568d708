"""A level's review as plain values: opened at its intake, reopened for a new revision.

The batch intake writes these as rows; a nomination opens the next level through the ORM with
the same values, so both paths start a level's legal clock alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from review import domain
from review.domain import Step
from review.rules import rules_for


def opened(
    initiative_id: str, programme: str, revision: int, step: Step, position: int, now: datetime
) -> dict[str, Any]:
    """A level's review waiting for its intake, every column of `level_reviews`."""
    return {
        "initiative_id": initiative_id,
        "level": step.level,
        "position": position,
        "unit": step.unit,
        "unit_path": step.path,
        "status": domain.RECEIVED,
        "revision": revision,
        "received_at": now,
        "accepted_at": None,
        "decided_at": None,
        "due_at": domain.intake_due(now, rules_for(programme, step.level)),
        "clock": "intake",
        "missed_at": None,
        "honour": None,
        "reason": None,
        "certificate_number": None,
    }


def reopened(level: dict[str, Any], status: str, programme: str, revision: int, now: datetime) -> None:
    """The level that asked for corrections takes the new revision in, with a new intake clock."""
    level.update(
        status=status,
        revision=revision,
        received_at=now,
        accepted_at=None,
        decided_at=None,
        missed_at=None,
        due_at=domain.intake_due(now, rules_for(programme, level["level"])),
        clock="intake",
        reason=None,
    )
