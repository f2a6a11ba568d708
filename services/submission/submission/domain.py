"""Domain rules of submission: plain functions, no framework."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chassis.auth import Principal
from chassis.contracts import vocabulary
from chassis.errors import Conflict
from chassis.validation import FieldError

TARGET_GROUPS: dict[int, str] = vocabulary()["target_groups"]
FIELDS: dict[str, str] = vocabulary()["fields"]
SUBMITTER_ROLES = ("member", "support_team")


@dataclass(frozen=True)
class PhaseWindow:
    code: str
    starts_on: date
    ends_on: date


def phase_on(phases: Iterable[PhaseWindow], day: date) -> PhaseWindow | None:
    for phase in phases:
        if phase.starts_on <= day <= phase.ends_on:
            return phase
    return None


def share_errors(shares: Sequence[Decimal]) -> list[FieldError]:
    total = sum(shares, Decimal(0))
    if total != Decimal(100):
        return [
            FieldError(
                "authors",
                f"Author shares must sum to 100 (they sum to {total.normalize():f}).",
                f"Tổng tỷ lệ đóng góp của các tác giả phải bằng 100 (hiện là {total.normalize():f}).",
            )
        ]
    return []


def first_applied_errors(first_applied_on: date | None, today: date) -> list[FieldError]:
    if first_applied_on is not None and first_applied_on > today:
        return [
            FieldError(
                "first_applied_on",
                "The date of first application cannot be in the future.",
                "Ngày áp dụng lần đầu không được ở tương lai.",
            )
        ]
    return []


def unit_errors(level: str | None) -> list[FieldError]:
    if level is None:
        return [FieldError("unit", "Unknown unit code.", "Mã đơn vị không tồn tại.")]
    if level != "grassroots":
        return [
            FieldError(
                "unit",
                "An initiative belongs to a grassroots union unit.",
                "Sáng kiến phải thuộc một công đoàn cơ sở.",
            )
        ]
    return []


def programme_errors(known: bool, phase: PhaseWindow | None) -> list[FieldError]:
    if not known:
        return [FieldError("programme", "Unknown programme.", "Chương trình không tồn tại.")]
    if phase is None:
        return [
            FieldError(
                "programme",
                "The programme has no phase open today.",
                "Chương trình không có giai đoạn nào đang mở hôm nay.",
            )
        ]
    return []


def submitter_errors(principal: Principal, author_member_ids: Sequence[str | None]) -> list[FieldError]:
    """A member submits initiatives they co-authored; the support team submits for others."""
    if principal.role == "member" and principal.sub not in author_member_ids:
        return [
            FieldError(
                "authors",
                "A member can only submit an initiative they are an author of.",
                "Đoàn viên chỉ được nộp sáng kiến mà mình là tác giả.",
            )
        ]
    return []


def can_read(
    principal: Principal, unit_path: Sequence[str], submitted_by: str, author_ids: Sequence[str | None]
) -> bool:
    if principal.role == "member":
        return principal.sub == submitted_by or principal.sub in author_ids
    return principal.in_scope(unit_path)


def can_change(
    principal: Principal, unit_path: Sequence[str], submitted_by: str, author_ids: Sequence[str | None]
) -> bool:
    """Authors and the submitter change their own; the unit's support team and admins theirs."""
    if principal.role == "member":
        return principal.sub == submitted_by or principal.sub in author_ids
    return principal.role in ("support_team", "unit_admin", "national_admin") and principal.in_scope(unit_path)


# Which level may sit under which: the registry's tree shape.
CHILD_LEVELS = {"top": ("upper", "grassroots"), "upper": ("grassroots",)}


def unit_registration_errors(
    code: str, level: str, block: str | None, parent_level: str | None, top: str | None
) -> list[FieldError]:
    """A new upper-grassroots or grassroots unit under an existing unit of the tree."""
    if parent_level is None:
        return [FieldError("parent", "Unknown parent unit.", "Đơn vị cấp trên không tồn tại.")]
    errors = []
    if level not in CHILD_LEVELS.get(parent_level, ()):
        errors.append(
            FieldError(
                "level",
                f"A {level} unit cannot sit under a {parent_level} unit.",
                f"Đơn vị cấp {level} không thể trực thuộc đơn vị cấp {parent_level}.",
            )
        )
    if top and not code.startswith(f"{top}-"):
        errors.append(
            FieldError(
                "code",
                f"Codes of units under {top} start with '{top}-'.",
                f"Mã đơn vị trực thuộc {top} phải bắt đầu bằng '{top}-'.",
            )
        )
    if level == "grassroots" and block is None:
        errors.append(
            FieldError(
                "block",
                "A grassroots unit belongs to the enterprise or the administration block.",
                "Công đoàn cơ sở phải thuộc khối doanh nghiệp hoặc khối hành chính sự nghiệp.",
            )
        )
    if level == "upper" and block is not None:
        errors.append(
            FieldError("block", "Only grassroots units have a block.", "Chỉ công đoàn cơ sở mới thuộc một khối.")
        )
    return errors


# --- The review lifecycle, as the submission side keeps it ------------------------------------
#
# Review announces each step on review.events; they arrive at least once and in any order
# (each event type has its own queue). The initiative's status follows the steps with two
# rules: a step applies only when it comes after where the initiative stands in the review's
# own order (revision, then level, then stage within the level), and nothing moves a final
# status. A step that does not apply is still a fact: it goes into the history, at its time.

SUBMITTED, IN_REVIEW, RETURNED = "submitted", "in_review", "returned"
REJECTED, RECOGNIZED, NOMINATED, WITHDRAWN = "rejected", "recognized", "nominated", "withdrawn"
STATUSES = (SUBMITTED, IN_REVIEW, RETURNED, REJECTED, RECOGNIZED, NOMINATED, WITHDRAWN)
LEVELS = ("grassroots", "upper", "top", "national")

# An initiative can be withdrawn until review decides for good (a recognition at any level
# included); it is resubmitted only when review returned it.
WITHDRAWABLE = (SUBMITTED, IN_REVIEW, RETURNED)
RESUBMITTABLE = (RETURNED,)
FINAL = (WITHDRAWN, REJECTED)  # no review step moves these

# Stages within one level, in the review's order: received (submitted, resubmitted, or
# nominated from below), accepted (review.started), scored, decided, nominated upward.
RECEIVED_STAGE, ACCEPTED_STAGE, SCORED_STAGE, DECIDED_STAGE, NOMINATED_STAGE = range(5)

# Review step kind (its event) -> (its stage at its level, the status it leads to).
# deadline_missed changes no status: history only.
REVIEW_STEPS: dict[str, tuple[int, str | None]] = {
    "accepted": (ACCEPTED_STAGE, IN_REVIEW),  # review.started
    "scored": (SCORED_STAGE, IN_REVIEW),  # initiative.scored
    "returned": (DECIDED_STAGE, RETURNED),  # initiative.returned (at intake or after review)
    "rejected": (DECIDED_STAGE, REJECTED),  # initiative.rejected
    "recognized": (DECIDED_STAGE, RECOGNIZED),  # initiative.recognized
    "nominated": (NOMINATED_STAGE, NOMINATED),  # initiative.nominated: received at the next level
    "deadline_missed": (DECIDED_STAGE, None),  # review.deadline_missed
}
EVENT_KINDS = {
    "review.started": "accepted",
    "initiative.scored": "scored",
    "initiative.returned": "returned",
    "initiative.rejected": "rejected",
    "initiative.recognized": "recognized",
    "initiative.nominated": "nominated",
    "review.deadline_missed": "deadline_missed",
}
# Where a standing is within its level, by its status (in_review: accepted, at least).
STATUS_STAGES = {
    SUBMITTED: RECEIVED_STAGE,
    NOMINATED: RECEIVED_STAGE,  # its level is already the next one, which received it
    IN_REVIEW: ACCEPTED_STAGE,
    RETURNED: DECIDED_STAGE,
    REJECTED: DECIDED_STAGE,
    RECOGNIZED: DECIDED_STAGE,
}


@dataclass(frozen=True)
class Standing:
    """Where an initiative stands: its status, the review level and unit that have it."""

    status: str
    revision: int
    level: str | None
    unit: str | None
    recognized_level: str | None = None  # the highest level that recognised it

    def position(self) -> tuple[int, int, int]:
        return (self.revision, level_rank(self.level), STATUS_STAGES.get(self.status, RECEIVED_STAGE))


@dataclass(frozen=True)
class ReviewStep:
    """One announced review step, as plain data."""

    kind: str  # a key of REVIEW_STEPS
    level: str
    unit: str
    revision: int | None  # None when the event does not say (initiative.returned, review.deadline_missed)
    to_level: str | None = None  # nominated: the level and unit that received it
    to_unit: str | None = None


def level_rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def higher_level(a: str | None, b: str | None) -> str | None:
    return a if level_rank(a) >= level_rank(b) else b


def after_review_step(standing: Standing, step: ReviewStep) -> Standing:
    """The standing after a review step; the same standing when the step changes nothing.

    A step without a revision concerns the revision under review: only one return can happen
    per revision (the author must resubmit before review acts again), so none can be stale.
    """
    stage, status = REVIEW_STEPS[step.kind]
    recognized = standing.recognized_level
    # A fact whatever the order it arrives in; only a recognised initiative is nominated upward.
    if step.kind in ("recognized", "nominated"):
        recognized = higher_level(recognized, step.level)
    standing = Standing(standing.status, standing.revision, standing.level, standing.unit, recognized)
    if status is None or standing.status in FINAL:
        return standing
    revision = standing.revision if step.revision is None else step.revision
    if (revision, level_rank(step.level), stage) <= standing.position():
        return standing  # older than where the initiative stands: a late or repeated step
    if step.kind == "nominated":
        return Standing(status, revision, step.to_level, step.to_unit, recognized)
    return Standing(status, revision, step.level, step.unit, recognized)


def reviewing_unit(unit_path: Sequence[str], level: str) -> str | None:
    """The unit that reviews an initiative of `unit_path` at `level` (review's chain).

    ["VGCL", "HN", "HN-KL", "HN-KL-C001"]: grassroots HN-KL-C001, upper HN-KL, top HN, national
    VGCL; a grassroots union right under its top-level unit has no upper level.
    """
    codes = list(unit_path)
    if len(codes) < 3:
        return None
    chain = {"grassroots": codes[-1], "top": codes[1], "national": codes[0]}
    if len(codes) > 3:
        chain["upper"] = codes[-2]
    return chain.get(level)


# --- History: one row per step, oldest first ------------------------------------------------

# Steps at the same instant (a council's score and its decision; a nomination and the next
# level's receipt) are shown in the order they happen in.
HISTORY_KINDS = (
    "submitted",
    "resubmitted",
    "accepted",
    "scored",
    "deadline_missed",
    "returned",
    "rejected",
    "recognized",
    "nominated",
    "received",
    "withdrawn",
)


@dataclass(frozen=True)
class Entry:
    """A history row as plain data (the event id is the caller's)."""

    kind: str
    at: datetime
    level: str | None
    unit: str | None
    revision: int | None = None
    reason: str | None = None
    score: float | None = None
    passed: bool | None = None
    honour: str | None = None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def review_step(event_type: str, data: dict[str, Any], unit_path: Sequence[str]) -> tuple[ReviewStep, list[Entry]]:
    """A review event's step and the history rows it adds (a nomination: two, sent and received)."""
    kind = EVENT_KINDS[event_type]
    revision = data.get("revision")
    if kind == "nominated":
        step = ReviewStep(
            kind, data["from_level"], data["from_unit"], revision, to_level=data["to_level"], to_unit=data["to_unit"]
        )
        at = _time(data["nominated_at"])
        sent = Entry(kind, at, step.level, step.unit, revision, reason=data["reason"] or None, honour=data["honour"])
        return step, [sent, Entry("received", at, step.to_level, step.to_unit, revision)]
    level = data["level"]
    unit = data.get("level_unit") or reviewing_unit(unit_path, level)  # initiative.returned names no unit
    step = ReviewStep(kind, level, unit or "", revision)
    if kind == "accepted":
        return step, [Entry(kind, _time(data["accepted_at"]), level, unit, revision)]
    if kind == "scored":
        scores = data["scores"]
        at = _time(data["scored_at"])
        return step, [Entry(kind, at, level, unit, revision, score=scores["total"], passed=scores["passed"])]
    if kind == "deadline_missed":
        return step, [Entry(kind, _time(data["detected_at"]), level, unit, revision)]
    at = _time(data[f"{kind}_at"])  # returned_at, rejected_at, recognized_at
    return step, [Entry(kind, at, level, unit, revision, reason=data.get("reason"))]


def in_order(entries: Iterable[Any]) -> list[Any]:
    """History rows (anything with `at`, `kind` and `id`) oldest first, same instants in step order."""

    def key(entry: Any) -> tuple[datetime, int, int]:
        at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=UTC)  # SQLite: naive UTC
        rank = HISTORY_KINDS.index(entry.kind) if entry.kind in HISTORY_KINDS else len(HISTORY_KINDS)
        return at, rank, entry.id or 0

    return sorted(entries, key=key)


def withdrawal_refusal(standing: Standing) -> Conflict | None:
    """Why the initiative can no longer be withdrawn, if it cannot (withdrawn again is no change)."""
    if standing.status == WITHDRAWN:
        return None
    # Beyond the first level, it was recognised below even if that event has not arrived yet.
    recognised = standing.recognized_level is not None or level_rank(standing.level) > 0
    if recognised or standing.status == RECOGNIZED:
        return Conflict(
            "This initiative has been recognised; a recognised initiative cannot be withdrawn.",
            "Sáng kiến này đã được công nhận; không thể rút sáng kiến đã được công nhận.",
            code="already_recognized",
        )
    if standing.status not in WITHDRAWABLE:
        return Conflict(
            f"An initiative in status {standing.status!r} cannot be withdrawn.",
            f"Không thể rút sáng kiến đang ở trạng thái {standing.status!r}.",
            code="not_withdrawable",
        )
    return None


def resubmission_refusal(status: str) -> Conflict | None:
    if status not in RESUBMITTABLE:
        return Conflict(
            "Only an initiative returned by review can be resubmitted.",
            "Chỉ sáng kiến bị trả lại để chỉnh sửa mới được nộp lại.",
        )
    return None
