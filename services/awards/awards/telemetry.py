"""Business metrics the national office asks for, from the read models (never from initiatives)."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.orm import Session

from awards.models import ALL_PHASES, Cell, Total

LABELS = ["unit", "programme"]
SUBMITTED = Gauge("initiatives_submitted", "Initiatives submitted (not withdrawn), per top-level unit.", LABELS)
RECOGNIZED = Gauge("initiatives_recognized", "Initiatives recognised at any level, per top-level unit.", LABELS)
PARTICIPANTS = Gauge("initiative_participants", "Distinct authors, per top-level unit.", LABELS)
PROGRESS = Gauge("target_progress_ratio", "Initiatives submitted over the registered target.", LABELS)
BY_GROUP = Gauge(
    "initiatives_submitted_by_target_group",
    "Initiatives submitted nationally, per target group.",
    ["programme", "target_group"],
)


def refresh(session: Session) -> None:
    for t in session.scalars(select(Total).where(Total.phase == ALL_PHASES, Total.level == "top")):
        labels = (t.unit, t.programme)
        SUBMITTED.labels(*labels).set(t.submitted)
        RECOGNIZED.labels(*labels).set(t.recognized)
        PARTICIPANTS.labels(*labels).set(t.participants)
        if t.target > 0:
            PROGRESS.labels(*labels).set(t.submitted / t.target)
    groups: dict[tuple[str, int], int] = {}
    cells = session.execute(
        select(Cell.programme, Cell.target_group, Cell.submitted).where(Cell.unit == "VGCL", Cell.phase == ALL_PHASES)
    )
    for programme, group, n in cells:
        groups[(programme, group)] = groups.get((programme, group), 0) + n
    for (programme, group), n in groups.items():
        BY_GROUP.labels(programme, str(group or "none")).set(n)
