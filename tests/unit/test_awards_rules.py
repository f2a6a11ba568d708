"""Awards' rules: contributions in any order, ranking ties, remuneration, award rules, periods."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from awards import awarding, remuneration, rules
from awards.awarding import Recognised, UnitCount
from awards.contributions import FactView, contribution, difference
from awards.ranking import Standing, rank, rank_changes

PATH = ("VGCL", "HN", "HN-KL", "HN-KL-C002")
T0 = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)


def fact(**changes: object) -> FactView:
    base = {
        "programme": "LDST2026",
        "phase": "P1",
        "unit_path": PATH,
        "block": "enterprise",
        "target_group": 5,
        "benefit_vnd_per_year": 100,
        "author_ids": ("dv-a", "dv-b"),
        "submitted_at": T0,
        "withdrawn_at": None,
        "recognized_at": None,
    }
    return FactView(**{**base, **changes})  # type: ignore[arg-type]


def add(total: dict[str, Counter], delta: dict[str, Counter]) -> None:
    for part, counter in delta.items():
        total[part].update(counter)


def test_each_unit_on_the_path_counts_the_initiative_once_per_phase_and_programme_wide() -> None:
    cells = contribution(fact())["cells"]
    for unit in PATH:
        for phase in ("P1", "*"):
            assert cells[(unit, phase, "enterprise", 5, "submitted")] == 1
            assert cells[(unit, phase, "enterprise", 5, "benefit_vnd")] == 100


def test_a_withdrawn_initiative_counts_for_nothing_now_but_stays_in_the_past() -> None:
    later = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
    withdrawn = contribution(fact(withdrawn_at=later))
    assert not any(withdrawn["cells"].values()) and not withdrawn["participants"]
    hourly = withdrawn["hourly"]
    assert hourly[("HN", T0, "submitted")] == 1 and hourly[("HN", later, "submitted")] == -1


def test_any_order_of_the_same_changes_ends_with_the_same_numbers() -> None:
    """Every path through the states sums to contribution(final) - contribution(nothing)."""
    states = [
        None,
        fact(submitted_at=None, unit_path=()),  # only a withdrawal or recognition known, no path yet
        fact(),
        fact(recognized_at=datetime(2026, 6, 1, tzinfo=UTC)),
        fact(recognized_at=datetime(2026, 6, 1, tzinfo=UTC), withdrawn_at=datetime(2026, 7, 1, tzinfo=UTC)),
    ]
    final = contribution(states[-1])
    for order in itertools.permutations(states[1:-1]):
        total: dict[str, Counter] = {"cells": Counter(), "participants": Counter(), "hourly": Counter()}
        previous = None
        for state in (*order, states[-1]):
            add(total, difference(previous, state))
            previous = state
        for part in total:
            assert +total[part] == +final[part] and -total[part] == -final[part]


def test_a_resubmission_moving_target_group_moves_the_count() -> None:
    delta = difference(fact(), fact(target_group=2))
    assert delta["cells"][("HN", "P1", "enterprise", 5, "submitted")] == -1
    assert delta["cells"][("HN", "P1", "enterprise", 2, "submitted")] == 1
    assert not delta["participants"]


def standings(*rows: tuple[str, int, int]) -> list[Standing]:
    return [Standing(u, n, 0, 0, 0, 0, target) for u, n, target in rows]


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    ranked = rank(standings(("B", 5, 0), ("A", 5, 0), ("C", 3, 0), ("D", 0, 0)), "submitted")
    assert [(r.standing.unit, r.rank) for r in ranked] == [("A", 1), ("B", 1), ("C", 3), ("D", 4)]


def test_progress_needs_a_target_and_a_target_of_zero_ranks_nothing() -> None:
    ranked = rank(standings(("A", 5, 10), ("B", 3, 2), ("C", 9, 0)), "progress")
    assert [(r.standing.unit, r.rank, r.value) for r in ranked] == [("B", 1, 150.0), ("A", 2, 50.0), ("C", None, None)]


def test_rank_changes_as_the_seeds_tell_them() -> None:
    now = rank(standings(("HN", 9, 0), ("THO", 10, 0)), "submitted")
    assert rank_changes(now, {"HN": 10, "THO": 1}) == {"THO": 0, "HN": 8}  # Hà Nội: 10th -> 2nd


def test_split_hands_out_rounding_by_largest_remainder() -> None:
    assert remuneration.split(100, [Decimal(1)] * 3) == [34, 33, 33]
    assert remuneration.split(7_560_000, [Decimal(60), Decimal(40)]) == [4_536_000, 3_024_000]
    assert sum(remuneration.split(1_000_001, [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")])) == 1_000_001
    assert remuneration.split(0, [Decimal(1)]) == [0]


def rules_of(programme: str = "LDST2026") -> rules.RuleSet:
    loaded = rules.load(programme)
    assert loaded is not None
    return loaded


def test_remuneration_on_benefit_three_yearly_installments_due_a_month_after_each_year() -> None:
    pay = rules_of().remuneration
    authors = [{"member_id": "dv-a", "share_percent": 60}, {"member_id": None, "share_percent": 40}]
    plan = remuneration.schedule(pay, 120_000_000, date(2026, 3, 1), date(2026, 6, 15), authors)
    assert [(i.period_start, i.period_end, i.due_on, i.total_vnd) for i in plan] == [
        (date(2026, 3, 1), date(2027, 2, 28), date(2027, 3, 28), 8_400_000),
        (date(2027, 3, 1), date(2028, 2, 29), date(2028, 3, 29), 8_400_000),
        (date(2028, 3, 1), date(2029, 2, 28), date(2029, 3, 28), 8_400_000),
    ]
    assert [(p.member_id, p.role, p.amount_vnd) for p in plan[0].payees] == [
        ("dv-a", "author", 4_536_000),
        (None, "author", 3_024_000),
        (None, "organizer", 840_000),
    ]
    assert all(sum(p.amount_vnd for p in i.payees) == i.total_vnd for i in plan)


def test_remuneration_without_a_calculable_benefit_is_five_minimum_wages_once() -> None:
    plan = remuneration.schedule(rules_of().remuneration, None, None, date(2026, 1, 31), [{"share_percent": 100}])
    assert [(i.basis, i.total_vnd, i.due_on) for i in plan] == [
        ("minimum_wage_multiple", 24_800_000, date(2026, 2, 28))
    ]


def test_a_year_with_zero_benefit_owes_nothing() -> None:
    assert (
        remuneration.schedule(rules_of().remuneration, 0, date(2026, 1, 1), date(2026, 2, 1), [{"share_percent": 100}])
        == []
    )


def test_co_author_rounding_always_adds_up() -> None:
    pay = rules_of().remuneration
    authors = [{"member_id": f"dv-{i}", "share_percent": s} for i, s in enumerate((33.33, 33.33, 33.34))]
    for benefit in (1, 7, 99, 1_000_003, 123_456_789):
        for i in remuneration.schedule(pay, benefit, date(2026, 1, 1), date(2026, 1, 1), authors):
            assert sum(p.amount_vnd for p in i.payees) == i.total_vnd


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-H1", date(2026, 1, 1), date(2026, 7, 1)),
    ],
)
def test_periods(code: str, start: date, end: date) -> None:
    assert (awarding.period(code).start, awarding.period(code).end) == (start, end)


@pytest.mark.parametrize("code", ["26", "2026-Q5", "2026-H3", "2026-", "２０２６"])
def test_bad_periods(code: str) -> None:
    with pytest.raises(ValueError):
        awarding.period(code)


def test_a_quarter_s_target_is_its_share_of_the_phase() -> None:
    phases = rules_of().phases  # LDST2026 P1: 2026-01-01 .. 2027-12-31 (730 days)
    assert awarding.pro_rata_target(awarding.period("2026-Q1"), phases, {"P1": 730}) == 90.0
    assert awarding.pro_rata_target(awarding.period("2026-Q1"), phases, {}) == 0


def rule(rule_id: str, top: str | None = None) -> rules.Rule:
    return next(r for r in rules_of().for_unit(top) if r.id == rule_id)


def test_cluster_leaders_need_to_beat_their_target() -> None:
    when = awarding.period("2026-Q1")
    counts = [
        UnitCount("HN", "HN", "C1", 12, 10),
        UnitCount("HPG", "HPG", "C1", 5, 1),
        UnitCount("THO", "THO", "C4", 8, 9),
        UnitCount("NAN", "NAN", "C4", 2, 1),
    ]
    grants = awarding.cluster_leaders(rule("cluster-quarter-leader"), when, counts)
    assert [(g.recipient_unit, g.period) for g in grants] == [("HN", "2026-Q1")]  # THO led C4 but missed its target


def test_a_unit_that_changes_cluster_competes_in_its_new_cluster() -> None:
    when = awarding.period("2026-Q1")
    moved = [UnitCount("HN", "HN", "C2", 12, 10), UnitCount("HPG", "HPG", "C1", 5, 1)]
    grants = awarding.cluster_leaders(rule("cluster-quarter-leader"), when, moved)
    assert sorted(g.recipient_unit for g in grants) == ["HN", "HPG"]


def test_the_best_collectives_include_everyone_tied_at_the_last_place() -> None:
    when = awarding.period("2026")
    counts = [UnitCount(f"U{i}", "THO", None, n, 0) for i, n in enumerate((9, 7, 7, 3, 0))]
    top2 = rules.Rule("top-collectives", "top_n_collectives", "t", {"n": 2, "period": "year"})
    assert [g.recipient_unit for g in awarding.top_collectives(top2, when, counts)] == ["U0", "U1", "U2"]
    assert rule("top-collectives", "THO")["n"] == 20 and rule("top-collectives", "HN")["n"] == 10
    assert rule("top-collectives", "HCM")["n"] == 10


def test_individual_awards_go_to_registered_members_only() -> None:
    when = awarding.period("2026")
    recognised = Recognised(
        "i-1",
        "HN-KL-C002",
        "HN",
        "Đồ gá",
        600_000_000,
        ({"member_id": "dv-a", "share_percent": 50}, {"member_id": None, "share_percent": 50}),
    )
    assert [
        g.recipient_member for g in awarding.authors_above_threshold(rule("author-benefit"), when, [recognised])
    ] == ["dv-a"]
    rewards = awarding.benefit_rewards(rule("benefit-reward"), when, [recognised])
    assert [(g.recipient_member, g.amount_vnd) for g in rewards] == [
        ("dv-a", 6_000_000)
    ]  # 2 % = 12M, capped? no: 50M cap


def test_grant_keys_do_not_depend_on_the_rules_version() -> None:
    when = awarding.period("2026")
    a = awarding.top_collectives(rule("top-collectives"), when, [UnitCount("U1", "HN", None, 3, 0)])[0]
    b = awarding.top_collectives(rule("top-collectives", "HN"), when, [UnitCount("U1", "HN", None, 3, 0)])[0]
    assert a.rule.version != b.rule.version and a.key == b.key


def test_a_broken_rules_file_is_refused(tmp_path: Path) -> None:
    document = json.loads((rules.RULES_DIR / "LDST2026.json").read_text(encoding="utf-8"))
    document["rules"][0]["kind"] = "lottery"
    (tmp_path / "LDST2026.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(rules.RulesError, match="unknown kind"):
        rules.load("LDST2026", tmp_path)


def test_the_rules_phases_match_the_programmes_of_the_submission_service() -> None:
    from submission.seed import SEED_DIR

    seeded = json.loads((SEED_DIR / "programmes.json").read_text(encoding="utf-8"))["programmes"]
    for programme in seeded:
        phases = [(p.code, p.starts_on.isoformat(), p.ends_on.isoformat()) for p in rules_of(programme["code"]).phases]
        assert phases == [(p["code"], p["starts_on"], p["ends_on"]) for p in programme["phases"]]
