"""Domain rules of submission: plain functions, no framework."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chassis.auth import Principal
from chassis.contracts import vocabulary
from chassis.validation import FieldError

TARGET_GROUPS: dict[int, str] = vocabulary()["target_groups"]
FIELDS: dict[str, str] = vocabulary()["fields"]
SUBMITTER_ROLES = ("member", "support_team")
# An initiative can be withdrawn until review decides; it is resubmitted only when returned.
WITHDRAWABLE = ("submitted", "returned")
RESUBMITTABLE = ("returned",)


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
