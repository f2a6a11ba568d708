"""The submission side's view of review: the transition rules on plain data, no I/O.

Review announces each step at least once, each event type on its own queue, so steps arrive
twice and out of order. The status must end where review's own order says, whatever the
order of arrival; every step still becomes a row of the history.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from submission import domain
from submission.domain import ReviewStep, Standing

ROOT = Path(__file__).resolve().parents[2]
PATH = ["VGCL", "HN", "HN-KL", "HN-KL-C001"]  # grassroots union under an upper one
SHORT_PATH = ["VGCL", "HN", "HN-C002"]  # grassroots union right under its top-level unit
UNITS = {"grassroots": "HN-KL-C001", "upper": "HN-KL", "top": "HN", "national": "VGCL"}


def submitted(revision: int = 1) -> Standing:
    return Standing("submitted", revision, "grassroots", UNITS["grassroots"])


def step(kind: str, level: str = "grassroots", revision: int | None = 1) -> ReviewStep:
    if kind == "nominated":
        upper = domain.LEVELS[domain.LEVELS.index(level) + 1]
        return ReviewStep(kind, level, UNITS[level], revision, to_level=upper, to_unit=UNITS[upper])
    return ReviewStep(kind, level, UNITS[level], revision)


def follow(standing: Standing, *steps: ReviewStep) -> Standing:
    for s in steps:
        standing = domain.after_review_step(standing, s)
    return standing


# --- The table -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("accepted", "in_review"),
        ("scored", "in_review"),
        ("returned", "returned"),
        ("rejected", "rejected"),
        ("recognized", "recognized"),
        ("nominated", "nominated"),
        ("deadline_missed", "submitted"),  # history only
    ],
)
def test_each_review_step_from_a_fresh_submission(kind: str, status: str) -> None:
    after = domain.after_review_step(submitted(), step(kind))
    assert after.status == status
    if kind == "nominated":  # the next level received it
        assert (after.level, after.unit) == ("upper", "HN-KL")
    else:
        assert (after.level, after.unit) == ("grassroots", "HN-KL-C001")


def test_every_review_event_type_has_a_step_and_every_step_a_history_kind() -> None:
    assert set(domain.EVENT_KINDS.values()) == set(domain.REVIEW_STEPS)
    assert set(domain.REVIEW_STEPS) | {"submitted", "resubmitted", "withdrawn", "received"} == set(domain.HISTORY_KINDS)
    statuses = {status for _, status in domain.REVIEW_STEPS.values() if status}
    assert statuses | {"submitted", "withdrawn"} == set(domain.STATUSES)


def test_the_climb_in_order() -> None:
    standing = submitted()
    expected = []
    for level in ("grassroots", "upper", "top"):
        standing = follow(standing, step("accepted", level), step("scored", level), step("recognized", level))
        expected.append((standing.status, standing.level, standing.recognized_level))
        standing = follow(standing, step("nominated", level))
        expected.append((standing.status, standing.level, standing.unit))
    standing = follow(standing, step("accepted", "national"), step("recognized", "national"))
    assert expected == [
        ("recognized", "grassroots", "grassroots"),
        ("nominated", "upper", "HN-KL"),
        ("recognized", "upper", "upper"),
        ("nominated", "top", "HN"),
        ("recognized", "top", "top"),
        ("nominated", "national", "VGCL"),
    ]
    assert standing == Standing("recognized", 1, "national", "VGCL", "national")


def test_a_returned_after_recognition_at_the_same_level_changes_nothing() -> None:
    recognised = follow(submitted(), step("accepted"), step("recognized"))
    assert follow(recognised, step("returned", revision=None)) == recognised


def test_a_late_review_started_below_the_current_level_does_not_regress_it() -> None:
    at_upper = follow(submitted(), step("recognized"), step("nominated"), step("accepted", "upper"))
    assert (at_upper.status, at_upper.level) == ("in_review", "upper")
    assert follow(at_upper, step("accepted", "grassroots"), step("scored", "grassroots")) == at_upper


def test_the_next_level_accepting_before_the_nomination_arrives() -> None:
    early = follow(submitted(), step("accepted", "upper"))
    assert (early.status, early.level, early.unit) == ("in_review", "upper", "HN-KL")
    late = follow(early, step("nominated", "grassroots"), step("recognized", "grassroots"))
    assert (late.status, late.level) == ("in_review", "upper")
    assert late.recognized_level == "grassroots"  # still a fact worth keeping


def test_a_step_applied_twice_is_applied_once() -> None:
    for kind in domain.REVIEW_STEPS:
        once = domain.after_review_step(submitted(), step(kind))
        assert domain.after_review_step(once, step(kind)) == once, kind


def test_nothing_moves_a_withdrawn_or_rejected_initiative() -> None:
    withdrawn = Standing("withdrawn", 1, "grassroots", "HN-KL-C001")
    for kind in domain.REVIEW_STEPS:
        assert domain.after_review_step(withdrawn, step(kind)).status == "withdrawn"
    rejected = follow(submitted(), step("accepted"), step("rejected"))
    for kind in domain.REVIEW_STEPS:
        for level in domain.LEVELS[:3]:
            assert domain.after_review_step(rejected, step(kind, level)).status == "rejected", (kind, level)


def test_a_recognition_that_raced_a_withdrawal_is_remembered_but_the_status_stays() -> None:
    withdrawn = Standing("withdrawn", 1, "grassroots", "HN-KL-C001")
    after = domain.after_review_step(withdrawn, step("recognized"))
    assert (after.status, after.recognized_level) == ("withdrawn", "grassroots")


def test_returned_resubmitted_and_a_late_step_of_the_old_revision() -> None:
    returned = follow(submitted(), step("returned", revision=None))  # corrections asked at intake
    assert returned.status == "returned"
    resubmitted = Standing("submitted", 2, returned.level, returned.unit)  # what resubmit writes
    assert follow(resubmitted, step("accepted", revision=1)) == resubmitted  # revision 1's, late
    accepted = follow(resubmitted, step("accepted", revision=2))
    assert (accepted.status, accepted.revision) == ("in_review", 2)
    assert follow(accepted, step("returned", revision=None)).status == "returned"  # revision 2's return


def test_a_return_by_the_upper_level_goes_back_to_that_level() -> None:
    at_upper = follow(submitted(), step("recognized"), step("nominated"), step("accepted", "upper"))
    returned = follow(at_upper, step("returned", "upper", revision=None))
    assert (returned.status, returned.level, returned.unit) == ("returned", "upper", "HN-KL")


def test_a_missed_deadline_changes_no_status() -> None:
    accepted = follow(submitted(), step("accepted"))
    assert follow(accepted, step("deadline_missed")) == accepted


# Every order of arrival of one climb (with a repeated and a deadline step) ends in the same place.
CLIMB = [
    step("accepted"),
    step("scored"),
    step("recognized"),
    step("nominated"),
    step("accepted", "upper"),
    step("deadline_missed", "upper"),
    step("scored", "upper"),
    step("rejected", "upper"),
]


def test_any_order_of_arrival_ends_where_review_ended() -> None:
    in_order = follow(submitted(), *CLIMB)
    assert in_order == Standing("rejected", 1, "upper", "HN-KL", "grassroots")
    for order in itertools.permutations(CLIMB):
        assert follow(submitted(), *order) == in_order, [s.kind + "@" + s.level for s in order]
    assert follow(submitted(), *CLIMB, *reversed(CLIMB)) == in_order  # and everything again


# --- Withdrawing and resubmitting -----------------------------------------------------------


@pytest.mark.parametrize(
    ("standing", "code"),
    [
        (submitted(), None),
        (Standing("in_review", 1, "grassroots", "HN-KL-C001"), None),
        (Standing("returned", 1, "grassroots", "HN-KL-C001"), None),
        (Standing("withdrawn", 1, "grassroots", "HN-KL-C001"), None),  # again: no change, no error
        (Standing("recognized", 1, "grassroots", "HN-KL-C001", "grassroots"), "already_recognized"),
        (Standing("nominated", 1, "upper", "HN-KL", "grassroots"), "already_recognized"),
        (Standing("returned", 1, "upper", "HN-KL", "grassroots"), "already_recognized"),
        # In review above the first level: recognised below, even before that event arrived.
        (Standing("in_review", 1, "upper", "HN-KL"), "already_recognized"),
        (Standing("rejected", 1, "grassroots", "HN-KL-C001"), "not_withdrawable"),
        (Standing("submitted", 1, None, None), None),  # submitted before the lifecycle was kept
    ],
)
def test_withdrawal(standing: Standing, code: str | None) -> None:
    refusal = domain.withdrawal_refusal(standing)
    if code is None:
        assert refusal is None
    else:
        assert refusal is not None and refusal.status == 409 and refusal.code == code
        assert refusal.message_vi and refusal.message_en and refusal.message_vi != refusal.message_en


def test_a_recognised_initiative_is_refused_in_both_languages() -> None:
    refusal = domain.withdrawal_refusal(Standing("recognized", 1, "grassroots", "HN-KL-C001", "grassroots"))
    assert refusal is not None
    assert refusal.body() == {
        "error": {
            "code": "already_recognized",
            "message_vi": "Sáng kiến này đã được công nhận; không thể rút sáng kiến đã được công nhận.",
            "message_en": "This initiative has been recognised; a recognised initiative cannot be withdrawn.",
        }
    }


@pytest.mark.parametrize("status", domain.STATUSES)
def test_resubmit_only_after_a_return(status: str) -> None:
    refusal = domain.resubmission_refusal(status)
    assert (refusal is None) == (status == "returned")


# --- The review chain and the events as history rows ------------------------------------------


def test_the_reviewing_unit_of_each_level() -> None:
    assert [domain.reviewing_unit(PATH, level) for level in domain.LEVELS] == ["HN-KL-C001", "HN-KL", "HN", "VGCL"]
    assert [domain.reviewing_unit(SHORT_PATH, level) for level in domain.LEVELS] == ["HN-C002", None, "HN", "VGCL"]


def example(event_type: str) -> dict:
    return json.loads((ROOT / "contracts" / "examples" / f"{event_type}.v1.json").read_text(encoding="utf-8"))


EXAMPLE_PATH = ["VGCL", "HN", "HN-Q1", "HN-Q1-C001"]


@pytest.mark.parametrize("event_type", sorted(domain.EVENT_KINDS))
def test_every_contract_example_becomes_a_step_and_history(event_type: str) -> None:
    event = example(event_type)
    review_step, entries = domain.review_step(event_type, event["data"], EXAMPLE_PATH)
    assert review_step.kind == domain.EVENT_KINDS[event_type]
    assert review_step.level in domain.LEVELS and review_step.unit
    assert entries and all(e.kind in domain.HISTORY_KINDS and e.at.tzinfo is not None for e in entries)
    assert entries[0].kind == review_step.kind


def test_history_rows_carry_where_when_and_why() -> None:
    _, [returned] = domain.review_step("initiative.returned", example("initiative.returned")["data"], EXAMPLE_PATH)
    assert (returned.level, returned.unit) == ("upper", "HN-Q1")  # the event names no unit: from the path
    assert returned.reason and returned.revision is None
    _, [scored] = domain.review_step("initiative.scored", example("initiative.scored")["data"], EXAMPLE_PATH)
    assert (scored.score, scored.passed, scored.unit, scored.revision) == (8, True, "HN-Q1", 2)
    nomination = example("initiative.nominated")["data"]
    review_step, [sent, received] = domain.review_step("initiative.nominated", nomination, EXAMPLE_PATH)
    assert (sent.kind, sent.level, sent.honour) == ("nominated", nomination["from_level"], nomination["honour"])
    assert (received.kind, received.level, received.unit) == ("received", nomination["to_level"], nomination["to_unit"])
    assert (review_step.to_level, review_step.to_unit) == (nomination["to_level"], nomination["to_unit"])
    assert sent.at == received.at == datetime.fromisoformat(nomination["nominated_at"])


@dataclass
class Row:
    id: int
    kind: str
    at: datetime


def test_history_oldest_first_and_same_instants_in_step_order() -> None:
    t0, t1 = datetime(2026, 5, 1, 2, tzinfo=UTC), datetime(2026, 5, 2, 2, tzinfo=UTC)
    rows = [
        Row(5, "received", t1),  # arrived in any order, same instant as the nomination
        Row(4, "recognized", t0.replace(hour=9)),
        Row(3, "scored", t0.replace(hour=9)),  # a council's score, announced with the decision
        Row(6, "nominated", t1),
        Row(1, "submitted", t0.replace(tzinfo=None)),  # SQLite hands back naive UTC
        Row(2, "accepted", t0.replace(hour=3)),
    ]
    assert [r.kind for r in domain.in_order(rows)] == [
        "submitted",
        "accepted",
        "scored",
        "recognized",
        "nominated",
        "received",
    ]
