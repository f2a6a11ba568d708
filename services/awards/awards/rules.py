"""Award and remuneration rules as data: one file per programme, overridden per top-level unit.

`rules/<PROGRAMME>.json` holds the national rules; `rules/overrides/<PROGRAMME>.<UNIT>.json`
patches rules by id (or adds new ones) for a province or sector that issued its own
regulation. A rule keeps the version of the file that last shaped it, for the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).parent / "rules"
KINDS = {
    "cluster_period_leader": ("period", "metric", "award", "issuer"),
    "top_n_collectives": ("period", "n", "level", "metric", "award", "issuer"),
    "author_benefit_threshold": ("period", "min_benefit_vnd", "award", "issuer"),
    "benefit_reward": ("period", "percent", "max_vnd"),
    "bonus_per_submission": ("amount_vnd",),
}
PERIODS = ("quarter", "half", "year")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    version: str
    params: dict[str, Any]
    within: str | None = None  # only initiatives or units of this unit's subtree

    def __getitem__(self, name: str) -> Any:
        return self.params[name]


@dataclass(frozen=True)
class Remuneration:
    id: str
    version: str
    benefit_percent: float
    years: int
    due_months_after_year_end: int
    minimum_wage_multiple: float
    minimum_wage_vnd: int
    transfer_percent: float
    organizer_percent: float


@dataclass(frozen=True)
class PhaseWindow:
    code: str
    starts_on: date
    ends_on: date  # inclusive


@dataclass(frozen=True)
class RuleSet:
    programme: str
    version: str
    rules: tuple[Rule, ...]
    remuneration: Remuneration
    phases: tuple[PhaseWindow, ...]
    overrides: dict[str, tuple[Rule, ...]] = field(default_factory=dict)

    def for_unit(self, top_unit: str | None) -> tuple[Rule, ...]:
        """The national rules as the top-level unit's own regulation amends them."""
        return self.overrides.get(top_unit or "", self.rules)


class RulesError(ValueError):
    """A rules file the service must not start with."""


def _rule(raw: dict[str, Any], version: str, where: str) -> Rule:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise RulesError(f"{where}: rule {raw.get('id')!r} has unknown kind {kind!r}")
    missing = [k for k in KINDS[kind] if k not in raw]
    if missing:
        raise RulesError(f"{where}: rule {raw['id']!r} lacks {', '.join(missing)}")
    if "period" in raw and raw["period"] not in PERIODS:
        raise RulesError(f"{where}: rule {raw['id']!r} has period {raw['period']!r}, not one of {PERIODS}")
    for name in ("n", "min_benefit_vnd", "percent", "max_vnd", "amount_vnd"):
        if name in raw and (not isinstance(raw[name], int | float) or raw[name] < 0):
            raise RulesError(f"{where}: rule {raw['id']!r}: {name} must be a non-negative number")
    if kind == "top_n_collectives" and raw["level"] != "grassroots":
        raise RulesError(f"{where}: rule {raw['id']!r}: collectives are ranked at the grassroots level")
    params = {k: v for k, v in raw.items() if k not in ("id", "kind", "within")}
    return Rule(raw["id"], kind, version, params, raw.get("within"))


@cache
def load(programme: str, directory: Path = RULES_DIR) -> RuleSet | None:
    path = directory / f"{programme}.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    rules = tuple(_rule(r, doc["version"], path.name) for r in doc["rules"])
    if len({r.id for r in rules}) != len(rules):
        raise RulesError(f"{path.name}: rule ids repeat")
    pay = doc["remuneration"]
    remuneration = Remuneration(
        id=pay["id"],
        version=doc["version"],
        benefit_percent=float(pay["benefit_percent"]),
        years=int(pay["years"]),
        due_months_after_year_end=int(pay["due_months_after_year_end"]),
        minimum_wage_multiple=float(pay["minimum_wage_multiple"]),
        minimum_wage_vnd=int(doc["minimum_wage_vnd"]),
        transfer_percent=float(pay["transfer_percent"]),
        organizer_percent=float(pay["organizer_percent"]),
    )
    overrides = {}
    for override in sorted((directory / "overrides").glob(f"{programme}.*.json")):
        patch = json.loads(override.read_text(encoding="utf-8"))
        overrides[patch["unit"]] = _amend(rules, patch, override.name)
    phases = tuple(
        PhaseWindow(p["code"], date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"]))
        for p in doc["phases"]
    )
    return RuleSet(programme, doc["version"], rules, remuneration, phases, overrides)


def _amend(rules: tuple[Rule, ...], patch: dict[str, Any], where: str) -> tuple[Rule, ...]:
    by_id = {r.id: r for r in rules}
    for change in patch["rules"]:
        base = by_id.get(change["id"])
        raw = {"id": change["id"], **({"kind": base.kind, **base.params} if base else {}), **change}
        if base and base.within and "within" not in change:
            raw["within"] = base.within
        by_id[change["id"]] = _rule(raw, patch["version"], where)
    return tuple(by_id.values())
