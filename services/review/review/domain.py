"""Workflow rules of review: plain functions and values, no framework, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chassis.auth import Principal
from chassis.calendar import add_months
from chassis.errors import Conflict, Forbidden

LEVELS = ("grassroots", "upper", "top", "national")
LEVEL_NAMES_VI = {
    "grassroots": "công đoàn cơ sở",
    "upper": "công đoàn cấp trên cơ sở",
    "top": "LĐLĐ tỉnh, thành phố / công đoàn ngành trung ương",
    "national": "Tổng Liên đoàn Lao động Việt Nam",
}
CRITERIA = ("novelty", "applicability", "benefit")
SCORE_MAX = 10.0
DECISION_RULES = ("single", "majority", "average")
HONOURS = ("higher_recognition", "exemplary", "national_award")
ACTING_ROLES = ("reviewer", "unit_admin", "national_admin")
READING_ROLES = (*ACTING_ROLES, "operator")

# Status of one level's review. An open review waits for an action; a closed one is history.
RECEIVED, IN_REVIEW = "received", "in_review"
CORRECTIONS, RETURNED = "corrections_requested", "returned"
RECOGNIZED, REJECTED, NOMINATED, WITHDRAWN = "recognized", "rejected", "nominated", "withdrawn"
STATUSES = (RECEIVED, IN_REVIEW, CORRECTIONS, RETURNED, RECOGNIZED, REJECTED, NOMINATED, WITHDRAWN)
OPEN = (RECEIVED, IN_REVIEW)
AWAITING_AUTHOR = (CORRECTIONS, RETURNED)

# (status, action) -> status after it; every pair not listed is refused with 409.
TRANSITIONS = {
    (RECEIVED, "accept"): IN_REVIEW,
    (RECEIVED, "request_corrections"): CORRECTIONS,
    (IN_REVIEW, "score"): IN_REVIEW,
    (IN_REVIEW, "recognize"): RECOGNIZED,
    (IN_REVIEW, "reject"): REJECTED,
    (IN_REVIEW, "return"): RETURNED,
    (RECOGNIZED, "nominate"): NOMINATED,
}
ACTIONS = tuple(sorted({action for _, action in TRANSITIONS}))

# (status, the author's event) -> the level's status after it; a level not listed stays as it is
# (recognised, rejected or nominated: the new revision is kept, the level's decision stands).
# Events, not actions: reviewers never see them among the actions they may take.
AUTHOR_TRANSITIONS = {
    **{(status, "resubmit"): RECEIVED for status in (*OPEN, *AWAITING_AUTHOR)},  # back to that level's intake
    **{(status, "withdraw"): WITHDRAWN for status in (*OPEN, *AWAITING_AUTHOR)},
}

_WHY_NOT = {
    RECEIVED: ("the application has not been accepted yet", "hồ sơ chưa được tiếp nhận"),
    IN_REVIEW: ("the application was already accepted", "hồ sơ đã được tiếp nhận"),
    CORRECTIONS: ("it waits for the author's corrections", "đang chờ tác giả bổ sung hồ sơ"),
    RETURNED: ("it was returned to the author", "sáng kiến đã được trả lại tác giả"),
    RECOGNIZED: ("it is already recognised at this level", "sáng kiến đã được công nhận ở cấp này"),
    REJECTED: ("it was rejected at this level", "sáng kiến đã bị từ chối ở cấp này"),
    NOMINATED: ("it was already nominated to the next level", "sáng kiến đã được đề nghị lên cấp trên"),
    WITHDRAWN: ("the initiative was withdrawn", "sáng kiến đã bị rút"),
}


def transition(status: str, action: str) -> str:
    """The status after `action`, or Conflict saying why the action is out of order."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        en, vi = _WHY_NOT.get(status, (status, status))
        raise Conflict(
            f"Cannot {action.replace('_', ' ')} now: {en}.",
            f"Không thể thực hiện thao tác '{action}' lúc này: {vi}.",
            code="action_out_of_order",
        )
    return after


def after_author(status: str, event: str) -> str | None:
    """The level's status after the author's `event` ("resubmit", "withdraw"); None: unchanged."""
    return AUTHOR_TRANSITIONS.get((status, event))


def available_actions(
    status: str, *, may_act: bool, may_score: bool, recognition_blocked: bool, has_next_level: bool
) -> list[str]:
    """What the caller may do now, by the workflow table: the portal shows these and only these."""
    if not may_act:
        return []
    refused = {"score": not may_score, "recognize": recognition_blocked, "nominate": not has_next_level}
    return [action for (source, action) in TRANSITIONS if source == status and not refused.get(action, False)]


@dataclass(frozen=True)
class Step:
    level: str
    unit: str
    path: str  # "/VGCL/HN/HN-KL/": the reviewing unit's subtree, for prefix matches


def review_chain(unit_path: Sequence[str]) -> list[Step]:
    """The levels an initiative climbs: ["VGCL", "HN", "HN-KL", "HN-KL-C001"] gives four.

    A grassroots union directly under its top-level unit has no upper-grassroots level.
    """
    codes = list(unit_path)
    if len(codes) < 3:
        raise ValueError(f"a grassroots unit sits at least two levels below the root: {codes}")

    def path(depth: int) -> str:
        return "/" + "/".join(codes[:depth]) + "/"

    steps = [Step("grassroots", codes[-1], path(len(codes)))]
    if len(codes) > 3:
        steps.append(Step("upper", codes[-2], path(len(codes) - 1)))
    steps.append(Step("top", codes[1], path(2)))
    steps.append(Step("national", codes[0], path(1)))
    return steps


def next_step(chain: Sequence[Step], level: str) -> Step | None:
    levels = [s.level for s in chain]
    position = levels.index(level)
    return chain[position + 1] if position + 1 < len(chain) else None


def check_reader(principal: Principal, unit_path: Sequence[str]) -> None:
    principal.require(READING_ROLES)
    if not principal.in_scope(unit_path):
        raise Forbidden(
            "This initiative is outside your unit's subtree.",
            "Sáng kiến này nằm ngoài phạm vi đơn vị của bạn.",
        )


def check_actor(principal: Principal, unit_path: Sequence[str], step: Step) -> None:
    """Only the reviewing unit of the current level acts on it; its ancestors only read."""
    principal.require(ACTING_ROLES)
    check_reader(principal, unit_path)
    if principal.unit != step.unit:
        raise Forbidden(
            f"At the {step.level} level this initiative is reviewed by {step.unit}.",
            f"Ở cấp {LEVEL_NAMES_VI[step.level]}, sáng kiến này do đơn vị {step.unit} xét.",
        )


def check_council_reader(principal: Principal, unit: str) -> None:
    """A council is seen by its own unit, the units above it, and the national office.

    Unit codes start with their top-level unit's (HN-KL-C001 under HN) and, by registry
    convention, with their upper unit's; that is the only tree a council route knows.
    """
    own_line = unit == principal.unit or unit.startswith(f"{principal.unit}-")
    if principal.unit != "VGCL" and not own_line:
        raise Forbidden(
            "This council is outside your unit's subtree.",
            "Hội đồng sáng kiến này nằm ngoài phạm vi đơn vị của bạn.",
        )


@dataclass(frozen=True)
class Rules:
    weights: dict[str, float]
    pass_mark: float
    decision_rule: str
    intake_days: int
    decision_months: int
    warn_days: int

    @property
    def by_council(self) -> bool:
        return self.decision_rule != "single"


def weighted_total(scores: dict[str, float], weights: dict[str, float]) -> float:
    total_weight = sum(weights[c] for c in CRITERIA)
    return round(sum(scores[c] * weights[c] for c in CRITERIA) / total_weight, 2)


@dataclass(frozen=True)
class Verdict:
    rule: str
    scorers: int
    needed: int  # scorers needed before a verdict counts
    criteria: dict[str, float | None]
    total: float | None
    pass_mark: float
    passed: bool

    @property
    def complete(self) -> bool:
        return self.scorers >= self.needed


def quorum(rule: str, council_size: int) -> int:
    """One score for a single reviewer; more than half of the council otherwise."""
    return 1 if rule == "single" else council_size // 2 + 1


def verdict(rules: Rules, scorecards: Sequence[dict[str, float]], council_size: int) -> Verdict:
    """The scorecard's outcome: mean criteria, the rule's total, and whether it passes."""
    n = len(scorecards)
    criteria: dict[str, float | None] = {
        c: round(sum(s[c] for s in scorecards) / n, 2) if n else None for c in CRITERIA
    }
    totals = [weighted_total(s, rules.weights) for s in scorecards]
    total = round(sum(totals) / n, 2) if n else None
    needed = quorum(rules.decision_rule, council_size)
    if rules.decision_rule == "majority":
        passed = sum(t >= rules.pass_mark for t in totals) * 2 > n
    else:
        passed = total is not None and total >= rules.pass_mark
    return Verdict(rules.decision_rule, n, needed, criteria, total, rules.pass_mark, passed and n >= needed)


def scoring_final(rule: str, moment: str, scorers: int) -> bool:
    """Whether a level's scoring becomes final at `moment`, and so is announced (initiative.scored).

    `moment` is "scored" (a scorecard was just cast) or "decided" (the level recognised, rejected
    or returned it). One reviewer's score is final once cast: nobody else may score that level.
    A council's result changes with every member's card until the level decides. Once per level
    and revision, and never for a level that decided without any score.
    """
    if scorers == 0:
        return False
    return (rule == "single") == (moment == "scored")


def recognition_refusal(result: Verdict, council_size: int) -> Conflict | None:
    """Why the scorecard does not allow recognition yet, if it does not."""
    if result.rule != "single" and council_size == 0:
        return Conflict(
            "This level decides by council, and the council has no members.",
            "Cấp này xét bằng hội đồng sáng kiến nhưng hội đồng chưa có thành viên.",
            code="no_council",
        )
    if not result.complete:
        return Conflict(
            f"{result.scorers} of the {result.needed} scores needed are in.",
            f"Mới có {result.scorers}/{result.needed} phiếu chấm cần thiết.",
            code="quorum_not_reached",
        )
    if not result.passed:
        return Conflict(
            f"The scorecard did not reach the pass mark {result.pass_mark}.",
            f"Kết quả chấm điểm chưa đạt mức {result.pass_mark}.",
            code="score_below_pass_mark",
        )
    return None


def intake_due(received_at: datetime, rules: Rules) -> datetime:
    return received_at + timedelta(days=rules.intake_days)


def decision_due(accepted_at: datetime, rules: Rules) -> datetime:
    return add_months(accepted_at, rules.decision_months)


def deadline_state(due_at: datetime | None, now: datetime, warn_days: int) -> str | None:
    if due_at is None:
        return None
    if now > due_at:
        return "overdue"
    if due_at - now <= timedelta(days=warn_days):
        return "approaching"
    return "ok"
