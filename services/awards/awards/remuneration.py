"""Remuneration of authors when no agreement exists (thù lao sáng kiến): plain arithmetic.

Amounts are whole đồng; splitting by shares hands the rounding remainder out by largest
remainder, so the parts always add up to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from awards.rules import Remuneration
from chassis.calendar import add_months


@dataclass(frozen=True)
class Payee:
    member_id: str | None  # None: an author without a member id, or the organisers as a group
    role: str  # author or organizer
    share_percent: float
    amount_vnd: int


@dataclass(frozen=True)
class Installment:
    number: int
    of: int
    basis: str  # benefit_share or minimum_wage_multiple
    period_start: date
    period_end: date
    due_on: date
    total_vnd: int
    payees: tuple[Payee, ...]


def vnd(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split(total: int, weights: Sequence[Decimal]) -> list[int]:
    """Whole-đồng parts of total in proportion to weights, summing exactly to total."""
    whole = sum(weights, Decimal(0))
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [Decimal(total) * w / whole for w in weights]
    parts = [int(e) for e in exact]  # floors: the amounts are non-negative
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return parts


def payees(total: int, authors: Sequence[dict], organizer_percent: float) -> tuple[Payee, ...]:
    """The organisers of the first application get their share; the authors split the rest."""
    organizers = vnd(Decimal(total) * Decimal(str(organizer_percent)) / 100) if organizer_percent else 0
    shares = [Decimal(str(a["share_percent"])) for a in authors]
    amounts = split(total - organizers, shares)
    out = [
        Payee(a.get("member_id"), "author", float(a["share_percent"]), amount)
        for a, amount in zip(authors, amounts, strict=True)
    ]
    if organizers:
        out.append(Payee(None, "organizer", float(organizer_percent), organizers))
    return tuple(out)


def schedule(
    rules: Remuneration,
    benefit_vnd_per_year: int | None,
    first_applied_on: date | None,
    recognized_on: date,
    authors: Sequence[dict],
) -> list[Installment]:
    """The installments owed for one recognised initiative.

    With an estimated yearly benefit: `benefit_percent` of it for each of the first `years`
    years of application, due `due_months_after_year_end` after each year ends. Without one
    (it cannot be calculated): `minimum_wage_multiple` times the minimum wage, once, due a
    month after recognition. A benefit of zero owes nothing.
    """
    if benefit_vnd_per_year is None:
        total = vnd(Decimal(str(rules.minimum_wage_multiple)) * rules.minimum_wage_vnd)
        due = add_months(recognized_on, rules.due_months_after_year_end)
        return [
            Installment(
                1,
                1,
                "minimum_wage_multiple",
                recognized_on,
                recognized_on,
                due,
                total,
                payees(total, authors, rules.organizer_percent),
            )
        ]
    total = vnd(Decimal(benefit_vnd_per_year) * Decimal(str(rules.benefit_percent)) / 100)
    if total <= 0:
        return []
    start = first_applied_on or recognized_on
    out = []
    for year in range(1, rules.years + 1):
        period_start = add_months(start, 12 * (year - 1))
        period_end = add_months(start, 12 * year) - timedelta(days=1)
        due_on = add_months(period_end, rules.due_months_after_year_end)
        out.append(
            Installment(
                year,
                rules.years,
                "benefit_share",
                period_start,
                period_end,
                due_on,
                total,
                payees(total, authors, rules.organizer_percent),
            )
        )
    return out
