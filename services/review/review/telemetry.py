"""Business metrics of review: the backlog by deadline state, and missed legal deadlines."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from review.models import LevelReview

OPEN_ITEMS = Gauge(
    "review_open_items",
    "Reviews awaiting an action, by top-level unit, level and deadline state.",
    ["service", "unit", "level", "deadline_state"],
)
DEADLINES_MISSED = Counter(
    "review_deadlines_missed_total",
    "Legal deadlines that passed without the action due (escalated to the unit admin).",
    ["service", "unit", "level", "clock"],
)
_seen: set[tuple[str, str, str, str]] = set()


def count_missed(service: str, missed: Iterable[LevelReview]) -> None:
    for review in missed:
        DEADLINES_MISSED.labels(service, review.case.top_unit, review.level, review.clock or "").inc()


def set_open_items(service: str, counts: Iterable[tuple[str, str, str, int]]) -> None:
    """Sets every series seen so far: one that dropped to nothing must read 0, not its last value."""
    current = {(service, top, level, state): n for top, level, state, n in counts}
    for labels in _seen - current.keys():
        OPEN_ITEMS.labels(*labels).set(0)
    for labels, n in current.items():
        OPEN_ITEMS.labels(*labels).set(n)
    _seen.update(current)
