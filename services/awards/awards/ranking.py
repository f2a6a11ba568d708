"""Ranking rules: what is compared, how ties share a rank, what progress against a target is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

METRICS = ("submitted", "recognized", "participants", "progress", "benefit_vnd")


@dataclass(frozen=True)
class Standing:
    unit: str
    submitted: int
    recognized: int
    participants: int
    benefit_vnd: int
    recognized_benefit_vnd: int
    target: int

    @property
    def progress(self) -> float | None:
        """Percent of the registered target; none without a target (a target of 0 included)."""
        if self.target <= 0:
            return None
        return round(100.0 * self.submitted / self.target, 2)

    def value(self, metric: str) -> float | None:
        return self.progress if metric == "progress" else float(getattr(self, metric))


@dataclass(frozen=True)
class Ranked:
    rank: int | None  # None: nothing to rank on (no target, for progress)
    standing: Standing
    value: float | None


def rank(standings: Iterable[Standing], metric: str) -> list[Ranked]:
    """Competition ranking (1, 2, 2, 4): equal values share a rank; then by unit code for a stable order."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    valued = [(s.value(metric), s) for s in standings]
    present = sorted(((v, s) for v, s in valued if v is not None), key=lambda p: (-p[0], p[1].unit))
    out: list[Ranked] = []
    previous: float | None = None
    current = 0
    for position, (value, standing) in enumerate(present, start=1):
        if value != previous:
            current, previous = position, value
        out.append(Ranked(current, standing, value))
    out.extend(Ranked(None, s, None) for v, s in sorted(valued, key=lambda p: p[1].unit) if v is None)
    return out


def rank_changes(now: Sequence[Ranked], before: dict[str, int]) -> dict[str, int | None]:
    """Places gained (positive) since an earlier ranking; None for a unit it did not rank."""
    return {
        r.standing.unit: (before[r.standing.unit] - r.rank) if r.rank and r.standing.unit in before else None
        for r in now
    }
