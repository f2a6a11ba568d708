"""Who earns what under each rule kind: plain functions over counts the caller gathered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from awards.remuneration import split, vnd
from awards.rules import PhaseWindow, Rule
from chassis.calendar import add_months

PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-(?P<part>Q[1-4]|H[12]))?")


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date  # exclusive

    @property
    def kind(self) -> str:
        return "quarter" if "Q" in self.code else "half" if "H" in self.code else "year"


def period(code: str) -> Period:
    """ "2026-Q1" is January to March, "2026-H2" July to December, "2026" the whole year."""
    match = PERIOD.fullmatch(code)
    if match is None:
        raise ValueError(f"not a period: {code!r} (2026, 2026-H1 or 2026-Q3)")
    year, part = int(match["year"]), match["part"]
    if not 2000 <= year <= 2100:
        raise ValueError(f"period {code!r} is outside 2000..2100")
    if part is None:
        return Period(code, date(year, 1, 1), date(year + 1, 1, 1))
    months = 3 if part[0] == "Q" else 6
    start = date(year, 1 + months * (int(part[1]) - 1), 1)
    return Period(code, start, add_months(start, months))


def pro_rata_target(when: Period, phases: Sequence[PhaseWindow], targets: dict[str, int]) -> float:
    """A period's share of each phase's target, by the days they share (a quarter of a year-long phase: ~1/4)."""
    total = 0.0
    for phase in phases:
        if phase.code not in targets:
            continue
        days = (phase.ends_on - phase.starts_on).days + 1
        shared = (min(when.end, phase.ends_on + timedelta(days=1)) - max(when.start, phase.starts_on)).days
        if shared > 0:
            total += targets[phase.code] * shared / days
    return round(total, 2)


@dataclass(frozen=True)
class Grant:
    rule: Rule
    kind: str  # certificate_of_merit, bonus, benefit_reward
    recipient_type: str  # collective or individual
    recipient_unit: str
    recipient_member: str | None
    top_unit: str
    period: str | None
    reason: str
    initiative_id: str | None = None
    amount_vnd: int | None = None

    @property
    def key(self) -> str:
        """What makes a grant the same grant when the rules run again."""
        who = self.recipient_member or self.recipient_unit
        return f"{self.rule.id}|{self.period or ''}|{self.recipient_type}|{who}|{self.initiative_id or ''}"


@dataclass(frozen=True)
class UnitCount:
    unit: str
    top_unit: str
    cluster: str | None
    submitted: int
    target: float  # the target for the period (pro rata of the phase's), 0 when none


@dataclass(frozen=True)
class Recognised:
    initiative_id: str
    unit: str
    top_unit: str
    title: str
    benefit_vnd_per_year: int | None
    authors: tuple[dict, ...]


def cluster_leaders(rule: Rule, when: Period, units: Sequence[UnitCount]) -> list[Grant]:
    """Per cluster, the unit(s) with the most initiatives, if above zero and (optionally) on target."""
    grants = []
    for cluster in sorted({u.cluster for u in units if u.cluster}):
        members = [u for u in units if u.cluster == cluster]
        best = max(u.submitted for u in members)
        for u in sorted(members, key=lambda x: x.unit):
            if u.submitted != best or best == 0:
                continue
            if rule.params.get("requires_target_met") and not (u.target > 0 and u.submitted >= u.target):
                continue
            reason = (
                f"Dẫn đầu cụm thi đua {cluster} quý {when.code} với {u.submitted} sáng kiến (chỉ tiêu {u.target:g})."
            )
            grants.append(
                Grant(rule, "certificate_of_merit", "collective", u.unit, None, u.top_unit, when.code, reason)
            )
    return grants


def top_collectives(rule: Rule, when: Period, units: Sequence[UnitCount]) -> list[Grant]:
    """The N units with the most initiatives; a tie at the N-th place includes every tied unit."""
    ranked = sorted((u for u in units if u.submitted > 0), key=lambda u: (-u.submitted, u.unit))
    if not ranked:
        return []
    n = int(rule["n"])
    cutoff = ranked[min(n, len(ranked)) - 1].submitted
    return [
        Grant(
            rule,
            "certificate_of_merit",
            "collective",
            u.unit,
            None,
            u.top_unit,
            when.code,
            f"Một trong {n} tập thể có nhiều sáng kiến nhất năm {when.code}: {u.submitted} sáng kiến.",
        )
        for u in ranked
        if u.submitted >= cutoff
    ]


def authors_above_threshold(rule: Rule, when: Period, recognised: Sequence[Recognised]) -> list[Grant]:
    grants = []
    for r in recognised:
        if r.benefit_vnd_per_year is None or r.benefit_vnd_per_year < rule["min_benefit_vnd"]:
            continue
        for author in r.authors:
            if not author.get("member_id"):
                continue  # a certificate names a person the registry knows
            reason = f"Tác giả sáng kiến «{r.title}» làm lợi {r.benefit_vnd_per_year:,} đồng/năm.".replace(",", ".")
            grants.append(
                Grant(
                    rule,
                    "certificate_of_merit",
                    "individual",
                    r.unit,
                    author["member_id"],
                    r.top_unit,
                    when.code,
                    reason,
                    r.initiative_id,
                )
            )
    return grants


def _per_author(rule: Rule, kind: str, r: Recognised, total: int, period_code: str | None, why: str) -> list[Grant]:
    amounts = split(total, [Decimal(str(a["share_percent"])) for a in r.authors])
    return [
        Grant(
            rule, kind, "individual", r.unit, a.get("member_id"), r.top_unit, period_code, why, r.initiative_id, amount
        )
        for a, amount in zip(r.authors, amounts, strict=True)
        if amount > 0 and a.get("member_id")  # an award names a member; unregistered authors' shares stay ungranted
    ]


def benefit_rewards(rule: Rule, when: Period, recognised: Sequence[Recognised]) -> list[Grant]:
    grants = []
    for r in recognised:
        if not r.benefit_vnd_per_year:
            continue
        total = min(vnd(Decimal(r.benefit_vnd_per_year) * Decimal(str(rule["percent"])) / 100), int(rule["max_vnd"]))
        why = f"Thưởng {rule['percent']}% giá trị làm lợi của sáng kiến «{r.title}»."
        grants.extend(_per_author(rule, "benefit_reward", r, total, when.code, why))
    return grants


def bonus_for_submission(rule: Rule, r: Recognised) -> list[Grant]:
    """The company scheme: a fixed sum for every idea submitted, whatever its effect."""
    why = f"Thưởng {int(rule['amount_vnd']):,} đồng cho mỗi ý tưởng được gửi.".replace(",", ".")
    return _per_author(rule, "bonus", r, int(rule["amount_vnd"]), None, why)
