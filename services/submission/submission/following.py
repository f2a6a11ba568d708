"""Following review: a batch of review events applied to the initiatives they name.

The rules are domain.after_review_step's; this module reads and writes for a whole batch. The
initiatives are locked in one statement, in id order, so batches of the seven review queues
(which may hold one initiative's events at once) never deadlock; each event is then applied in
its turn, as one by one, and the batch's history rows go in one insert.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, lazyload

from chassis.consuming import DONE, Outcome, poison
from submission import domain
from submission.commands import history_row, standing
from submission.models import Initiative
from submission.rows import HistoryRow
from submission.writes import HISTORY

log = logging.getLogger(__name__)

# Authors are not needed to follow review: not loaded.
LOCK_INITIATIVES = (
    select(Initiative)
    .where(Initiative.id.in_(bindparam("ids", expanding=True)))
    .order_by(Initiative.id)
    .options(lazyload(Initiative.authors))
    .with_for_update()
)
INSERT_HISTORY = insert(HISTORY)


def follow_review(session: Session, events: list[dict[str, Any]], now: datetime) -> list[Outcome]:
    """The batch's outcomes, in its order.

    An initiative this service does not know is not one of its own (it never will be: the
    initiative starts here), so its event is done, ignored. An event whose step cannot be read
    is poison: it writes nothing, and would never succeed.
    """
    ids = sorted({e["data"]["initiative_id"] for e in events})
    initiatives = {ini.id: ini for ini in session.scalars(LOCK_INITIATIVES, {"ids": ids})}
    outcomes: list[Outcome] = []
    history: list[HistoryRow] = []
    for event in events:
        data = event["data"]
        ini = initiatives.get(data["initiative_id"])
        if ini is None:
            log.info("ignoring %s %s for an initiative not submitted here", event["type"], event["id"])
            outcomes.append(DONE)
            continue
        try:
            step, entries = domain.review_step(event["type"], data, ini.path_codes)
            reason = data["reason"] if step.kind == "returned" else None
        except (KeyError, TypeError, ValueError) as exc:
            outcomes.append(poison(f"{event['type']} {event['id']}: not a review step ({type(exc).__name__}: {exc})"))
            continue
        _apply(ini, step, reason, now)
        history += [history_row(ini, entry, event["id"]) for entry in entries]
        outcomes.append(DONE)
    if history:
        session.execute(INSERT_HISTORY, history)
    return outcomes


def _apply(ini: Initiative, step: domain.ReviewStep, reason: str | None, now: datetime) -> None:
    """The initiative's standing after the step: its status follows if the step is in order."""
    before = standing(ini)
    after = domain.after_review_step(before, step)
    ini.recognized_level = after.recognized_level
    if (after.status, after.level, after.unit) != (before.status, before.level, before.unit):
        ini.status, ini.review_level, ini.reviewing_unit = after.status, after.level, after.unit
        ini.updated_at = now
        if step.kind == "returned":
            ini.return_reason = reason
