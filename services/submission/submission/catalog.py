"""Reference data (units, programmes) as immutable snapshots, cached per process.

Every submission looks up its unit and programme; they change rarely (seed, registrations),
so a short-lived cache saves two queries per request. Unknown codes are never cached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from chassis.auth import path_codes
from submission.domain import PhaseWindow, phase_on
from submission.models import Programme, Unit

TTL_SECONDS = 60.0
_cache: dict[tuple[str, str, str], tuple[float, Any]] = {}


@dataclass(frozen=True)
class UnitRef:
    code: str
    level: str
    path: str
    top: str | None
    block: str | None

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.path)

    @property
    def top_unit(self) -> str:
        return self.top or self.code


@dataclass(frozen=True)
class ProgrammeRef:
    code: str
    phases: tuple[PhaseWindow, ...]

    def phase_on(self, day: date) -> PhaseWindow | None:
        return phase_on(self.phases, day)


def _unit_ref(unit: Unit) -> UnitRef:
    return UnitRef(unit.code, unit.level, unit.path, unit.top, unit.block)


def _programme_ref(programme: Programme) -> ProgrammeRef:
    return ProgrammeRef(programme.code, tuple(PhaseWindow(p.code, p.starts_on, p.ends_on) for p in programme.phases))


class Catalog:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.db = str(session.get_bind().url)

    def _lookup(self, kind: str, code: str, load: Any) -> Any:
        key = (self.db, kind, code)
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        if value is not None:
            _cache[key] = (time.monotonic() + TTL_SECONDS, value)
        return value

    def unit(self, code: str) -> UnitRef | None:
        def load() -> UnitRef | None:
            unit = self.session.get(Unit, code)
            return _unit_ref(unit) if unit else None

        return self._lookup("unit", code, load)

    def programme(self, code: str) -> ProgrammeRef | None:
        def load() -> ProgrammeRef | None:
            programme = self.session.get(Programme, code)
            return _programme_ref(programme) if programme else None

        return self._lookup("programme", code, load)


def forget() -> None:
    """Drops the cache (after reference data changed in this process)."""
    _cache.clear()
