"""What one initiative adds to the standings: a pure function of what is known of it.

Applying `after - before` for every change keeps the read models equal to what replaying all
events would build, whatever order the events came in and however often they came.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

LEVELS_UP = ("grassroots", "upper", "top", "national")


@dataclass(frozen=True)
class FactView:
    """The fields of a fact that counts depend on (the model's columns, free of the ORM)."""

    programme: str
    phase: str
    unit_path: tuple[str, ...]
    block: str | None
    target_group: int | None
    benefit_vnd_per_year: int | None
    author_ids: tuple[str, ...]
    submitted_at: datetime | None
    withdrawn_at: datetime | None
    recognized_at: datetime | None


@dataclass
class Contribution:
    # (unit, phase, block, target_group) -> [submitted, recognized, benefit, recognized benefit]
    cells: Counter = field(default_factory=Counter)
    # (unit, phase, member_id) -> initiatives by that author counted there
    participants: Counter = field(default_factory=Counter)
    # (unit, hour) -> (submitted, recognized), for top-level units and the nation
    hourly: Counter = field(default_factory=Counter)


def counts(fact: FactView) -> tuple[int, int]:
    """(submitted, recognized) as it stands: a withdrawn initiative counts for nothing."""
    if fact.withdrawn_at is not None:
        return 0, 0
    return int(fact.submitted_at is not None), int(fact.recognized_at is not None)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def contribution(fact: FactView | None) -> dict[str, Counter]:
    """Every number this initiative adds, keyed by where it is added."""
    out: dict[str, Counter] = {"cells": Counter(), "participants": Counter(), "hourly": Counter()}
    if fact is None or not fact.unit_path:
        return out
    submitted, recognized = counts(fact)
    benefit = fact.benefit_vnd_per_year or 0
    block, group = fact.block or "", fact.target_group or 0
    for unit in fact.unit_path:
        for phase in (fact.phase, "*"):
            key = (unit, phase, block, group)
            out["cells"][(*key, "submitted")] += submitted
            out["cells"][(*key, "recognized")] += recognized
            out["cells"][(*key, "benefit_vnd")] += benefit * submitted
            out["cells"][(*key, "recognized_benefit_vnd")] += benefit * recognized
            if submitted:
                for member in set(fact.author_ids):
                    out["participants"][(unit, phase, member)] += 1
    # As-of standings: a change is dated when it happened, a withdrawal undoes it from then on.
    for unit in fact.unit_path[:2]:  # the nation and the top-level unit
        for moment, column in ((fact.submitted_at, "submitted"), (fact.recognized_at, "recognized")):
            if moment is None:
                continue
            out["hourly"][(unit, _hour(moment), column)] += 1
            if fact.withdrawn_at is not None:
                out["hourly"][(unit, _hour(max(fact.withdrawn_at, moment)), column)] -= 1
    return out


def difference(before: FactView | None, after: FactView | None) -> dict[str, Counter]:
    """after - before, without the zeros."""
    old, new = contribution(before), contribution(after)
    out = {}
    for part in ("cells", "participants", "hourly"):
        delta = Counter(new[part])
        delta.subtract(old[part])
        out[part] = Counter({k: v for k, v in delta.items() if v})
    return out


def highest(levels: Iterable[str | None]) -> str | None:
    known = [lv for lv in levels if lv in LEVELS_UP]
    return max(known, key=LEVELS_UP.index) if known else None


def author_ids(authors: Sequence[dict]) -> tuple[str, ...]:
    return tuple(a["member_id"] for a in authors if a.get("member_id"))
