"""Review's domain rules: the workflow table, the union tree, scorecards, legal clocks, rules data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chassis.auth import Principal
from chassis.calendar import add_months
from chassis.errors import Conflict, Forbidden
from review import domain, rules
from review.domain import Rules, Step

# The whole table: every status × action; what is not listed here must be refused.
EXPECTED = {
    ("received", "accept"): "in_review",
    ("received", "request_corrections"): "corrections_requested",
    ("in_review", "score"): "in_review",
    ("in_review", "recognize"): "recognized",
    ("in_review", "reject"): "rejected",
    ("in_review", "return"): "returned",
    ("recognized", "nominate"): "nominated",
}
ALL_ACTIONS = ("accept", "request_corrections", "score", "recognize", "reject", "return", "nominate")


@pytest.mark.parametrize("status", domain.STATUSES)
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_workflow_table(status: str, action: str) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(Conflict) as refused:
            domain.transition(status, action)
        assert refused.value.code == "action_out_of_order"
        assert refused.value.message_vi and refused.value.message_en
    else:
        assert domain.transition(status, action) == expected


def test_the_four_levels_of_a_grassroots_union_under_an_upper_one() -> None:
    chain = domain.review_chain(["VGCL", "HN", "HN-KL", "HN-KL-C001"])
    assert chain == [
        Step("grassroots", "HN-KL-C001", "/VGCL/HN/HN-KL/HN-KL-C001/"),
        Step("upper", "HN-KL", "/VGCL/HN/HN-KL/"),
        Step("top", "HN", "/VGCL/HN/"),
        Step("national", "VGCL", "/VGCL/"),
    ]
    assert domain.next_step(chain, "top") == chain[3]
    assert domain.next_step(chain, "national") is None


def test_a_grassroots_union_directly_under_its_top_unit_skips_the_upper_level() -> None:
    levels = [s.level for s in domain.review_chain(["VGCL", "DN", "DN-C001"])]
    assert levels == ["grassroots", "top", "national"]
    with pytest.raises(ValueError):
        domain.review_chain(["VGCL", "DN"])


STEP = Step("grassroots", "HN-KL-C001", "/VGCL/HN/HN-KL/HN-KL-C001/")
PATH = ["VGCL", "HN", "HN-KL", "HN-KL-C001"]


@pytest.mark.parametrize(
    ("role", "unit", "reads", "acts"),
    [
        ("reviewer", "HN-KL-C001", True, True),
        ("unit_admin", "HN-KL-C001", True, True),
        ("reviewer", "HN-KL", True, False),  # an ancestor reads, the level's own unit acts
        ("national_admin", "VGCL", True, False),
        ("operator", "VGCL", True, False),
        ("reviewer", "HN-KL-C002", False, False),
        ("reviewer", "DN", False, False),
        ("member", "HN-KL-C001", False, False),
        ("support_team", "HN-KL-C001", False, False),
    ],
)
def test_who_reads_and_who_acts(role: str, unit: str, reads: bool, acts: bool) -> None:
    principal = Principal("someone", role, unit)

    def allowed(check) -> bool:  # type: ignore[no-untyped-def]
        try:
            check()
        except Forbidden:
            return False
        return True

    assert allowed(lambda: domain.check_reader(principal, PATH)) is reads
    assert allowed(lambda: domain.check_actor(principal, PATH, STEP)) is acts


def _rules(rule: str, pass_mark: float = 6.0) -> Rules:
    weights = {"novelty": 0.3, "applicability": 0.3, "benefit": 0.4}
    return Rules(weights, pass_mark, rule, 30, 3, 7)


GOOD = {"novelty": 8.0, "applicability": 7.0, "benefit": 9.0}  # weighted 8.1
POOR = {"novelty": 3.0, "applicability": 4.0, "benefit": 5.0}  # weighted 4.1


def test_weighted_total() -> None:
    assert domain.weighted_total(GOOD, _rules("single").weights) == 8.1
    assert (
        domain.weighted_total(
            {"novelty": 10, "applicability": 0, "benefit": 0}, {"novelty": 1, "applicability": 1, "benefit": 2}
        )
        == 2.5
    )


def test_single_reviewer_verdict() -> None:
    assert domain.verdict(_rules("single"), [GOOD], 0).passed
    failed = domain.verdict(_rules("single"), [POOR], 0)
    assert not failed.passed and failed.complete
    assert domain.recognition_refusal(failed, 0).code == "score_below_pass_mark"
    none = domain.verdict(_rules("single"), [], 0)
    assert not none.complete and domain.recognition_refusal(none, 0).code == "quorum_not_reached"


def test_majority_needs_a_quorum_and_more_passing_votes_than_failing() -> None:
    rules_ = _rules("majority")
    assert domain.quorum("majority", 5) == 3
    two_of_five = domain.verdict(rules_, [GOOD, GOOD], 5)
    assert not two_of_five.complete and not two_of_five.passed
    assert domain.verdict(rules_, [GOOD, GOOD, POOR], 5).passed
    assert not domain.verdict(rules_, [GOOD, POOR, POOR], 5).passed
    assert not domain.verdict(rules_, [GOOD, POOR], 2).passed  # a tie does not pass


def test_average_passes_on_the_mean_total() -> None:
    rules_ = _rules("average")
    result = domain.verdict(rules_, [GOOD, POOR], 3)  # mean of 8.1 and 4.1 = 6.1
    assert result.total == 6.1 and result.passed
    assert result.criteria == {"novelty": 5.5, "applicability": 5.5, "benefit": 7.0}
    assert not domain.verdict(_rules("average", 6.5), [GOOD, POOR], 3).passed


def test_a_council_level_without_members_cannot_recognise() -> None:
    result = domain.verdict(_rules("average"), [], 0)
    assert domain.recognition_refusal(result, 0).code == "no_council"


@pytest.mark.parametrize(
    ("rule", "moment", "scorers", "final"),
    [
        ("single", "scored", 1, True),  # nobody else may score: final once cast
        ("single", "decided", 1, False),  # already announced when scored
        ("average", "scored", 2, False),  # more council members may still score
        ("majority", "scored", 3, False),
        ("average", "decided", 2, True),  # the decision closes the council's scoring
        ("majority", "decided", 1, True),
        ("majority", "decided", 0, False),  # decided without any score: nothing to announce
        ("single", "decided", 0, False),
    ],
)
def test_a_levels_score_is_announced_once_when_final(rule: str, moment: str, scorers: int, final: bool) -> None:
    assert domain.scoring_final(rule, moment, scorers) is final


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 11, 30, 9, tzinfo=UTC), 3, datetime(2027, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 3, 15, 9, tzinfo=UTC), 3, datetime(2026, 6, 15, 9, tzinfo=UTC)),
    ],
)
def test_decision_due_in_calendar_months(start: datetime, months: int, due: datetime) -> None:
    assert add_months(start, months) == due


def test_deadline_states() -> None:
    due = datetime(2026, 6, 15, tzinfo=UTC)
    assert domain.deadline_state(due, due - timedelta(days=8), 7) == "ok"
    assert domain.deadline_state(due, due - timedelta(days=7), 7) == "approaching"
    assert domain.deadline_state(due, due, 7) == "approaching"
    assert domain.deadline_state(due, due + timedelta(seconds=1), 7) == "overdue"
    assert domain.deadline_state(None, due, 7) is None


def test_rules_per_programme_and_level_come_from_the_data_file() -> None:
    assert rules.rules_for("LDST2026", "grassroots").decision_rule == "single"
    assert rules.rules_for("LDST2026", "national").pass_mark == 7.5
    assert rules.rules_for("TRIEUSANGKIEN", "top").decision_rule == "average"
    unknown = rules.rules_for("NO-SUCH-PROGRAMME", "upper")
    assert unknown.decision_rule == "single" and unknown.intake_days == 30 and unknown.decision_months == 3


def test_a_broken_rules_file_is_refused(tmp_path: Path) -> None:
    document = json.loads(rules.RULES_FILE.read_text(encoding="utf-8"))
    document["programmes"]["LDST2026"]["levels"]["top"]["decision_rule"] = "loudest"
    broken = tmp_path / "programmes.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="decision_rule"):
        rules._document(broken)


def test_the_workflow_table_decides_what_is_offered() -> None:
    from review.domain import available_actions

    def offered(status: str, **changes: bool) -> set[str]:
        flags = {"may_act": True, "may_score": True, "recognition_blocked": False, "has_next_level": True}
        return set(available_actions(status, **{**flags, **changes}))

    assert offered("received") == {"accept", "request_corrections"}
    assert offered("in_review") == {"score", "recognize", "reject", "return"}
    assert offered("in_review", may_score=False, recognition_blocked=True) == {"reject", "return"}
    assert offered("recognized") == {"nominate"}
    assert offered("recognized", has_next_level=False) == set()
    assert offered("received", may_act=False) == set()
    for closed in ("corrections_requested", "returned", "rejected", "nominated", "withdrawn"):
        assert offered(closed) == set()


# What the author's events do to the level under review; a level not listed stays as it is.
AUTHOR_EXPECTED = {
    **{(s, "resubmit"): "received" for s in ("received", "in_review", "corrections_requested", "returned")},
    **{(s, "withdraw"): "withdrawn" for s in ("received", "in_review", "corrections_requested", "returned")},
}


@pytest.mark.parametrize("status", domain.STATUSES)
@pytest.mark.parametrize("event", ["resubmit", "withdraw"])
def test_the_authors_events_table(status: str, event: str) -> None:
    assert domain.after_author(status, event) == AUTHOR_EXPECTED.get((status, event))


def test_the_authors_events_are_never_offered_to_reviewers() -> None:
    assert not {"resubmit", "withdraw"} & set(domain.ACTIONS)
    for status in domain.STATUSES:
        offered = domain.available_actions(
            status, may_act=True, may_score=True, recognition_blocked=False, has_next_level=True
        )
        assert not {"resubmit", "withdraw"} & set(offered)


NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
REVIEWER = Principal("rv-1", "reviewer", "HN-KL-C001")


def _review_database() -> Any:
    """A review database (SQLite in memory) holding one initiative at its grassroots intake."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from chassis.tables import metadata as chassis_metadata
    from review import intake
    from review.models import Base
    from tests.unit.test_review_batch import submitted

    engine = create_engine("sqlite://")
    chassis_metadata.create_all(engine)
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine)
    event = submitted("Cải tiến đồ gá hàn giúp giảm thời gian thao tác tại phân xưởng cơ khí")
    with factory.begin() as session:
        intake.receive_batch(session, [event], NOW)
    return factory, event


def _status(factory: Any, initiative_id: str) -> str:
    from review.models import LevelReview

    with factory() as session:
        return session.get(LevelReview, (initiative_id, "grassroots")).status


def test_a_reviewers_command_takes_the_status_after_it_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from review import commands

    factory, event = _review_database()
    initiative_id = event["data"]["initiative_id"]
    with factory.begin() as session:
        commands.accept(session, REVIEWER, initiative_id, {"note": "Hồ sơ đầy đủ"}, NOW)
    assert _status(factory, initiative_id) == domain.IN_REVIEW

    # Change the table, and the same command leads elsewhere: the table decides, not the command.
    monkeypatch.setitem(domain.TRANSITIONS, (domain.IN_REVIEW, "return"), domain.CORRECTIONS)
    with factory.begin() as session:
        commands.decide(session, REVIEWER, initiative_id, {"decision": "return", "reason": "Bổ sung số liệu"}, NOW)
    assert _status(factory, initiative_id) == domain.CORRECTIONS


def test_the_intake_takes_the_levels_status_from_the_authors_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from review import intake
    from tests.unit.test_review_batch import withdrawn

    factory, event = _review_database()
    initiative_id = event["data"]["initiative_id"]
    monkeypatch.delitem(domain.AUTHOR_TRANSITIONS, (domain.RECEIVED, "withdraw"))
    with factory.begin() as session:
        intake.withdraw_batch(session, [withdrawn(initiative_id)], NOW)
    assert _status(factory, initiative_id) == domain.RECEIVED  # not in the table: the level stays
