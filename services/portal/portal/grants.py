"""Who may grant which role where: plain rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from chassis.auth import path_codes

# The order people see them in when switching roles.
ROLE_ORDER = ("member", "support_team", "reviewer", "unit_admin", "national_admin", "operator")
NATIONAL_ROLES = ("national_admin", "operator")
# What a unit admin may hand out inside their subtree.
UNIT_ADMIN_GRANTS = ("support_team", "reviewer", "unit_admin")

ROLE_NAMES_VI = {
    "member": "Đoàn viên",
    "support_team": "Tổ hỗ trợ sáng kiến",
    "reviewer": "Người thẩm định",
    "unit_admin": "Quản trị đơn vị",
    "national_admin": "Quản trị Tổng LĐLĐ",
    "operator": "Vận hành hệ thống",
}
ROLE_NAMES_EN = {
    "member": "Member",
    "support_team": "Support team",
    "reviewer": "Reviewer",
    "unit_admin": "Unit admin",
    "national_admin": "National admin",
    "operator": "Operator",
}


@dataclass(frozen=True)
class Acting:
    """The role someone acts in now: one of their grants."""

    person: str
    role: str
    unit: str
    unit_path: str


def may_grant(actor: Acting, role: str, unit_path: str) -> bool:
    """National admins grant anything; unit admins grant staff roles within their own subtree."""
    if role not in ROLE_ORDER:
        return False
    if actor.role == "national_admin":
        return True
    if actor.role == "unit_admin":
        return role in UNIT_ADMIN_GRANTS and actor.unit in path_codes(unit_path)
    return False


def refusal(actor: Acting, role: str, unit_path: str) -> tuple[str, str] | None:
    """Why a grant or revocation is refused (English, Vietnamese), or None when it is allowed."""
    if role not in ROLE_ORDER:
        return ("Unknown role.", "Vai trò không tồn tại.")
    if actor.role not in ("national_admin", "unit_admin"):
        return ("Only unit admins grant roles.", "Chỉ quản trị đơn vị mới được phân quyền.")
    if actor.role == "unit_admin" and role not in UNIT_ADMIN_GRANTS:
        return (
            "A unit admin grants support team, reviewer and unit admin roles only.",
            "Quản trị đơn vị chỉ được giao vai trò tổ hỗ trợ, người thẩm định và quản trị đơn vị.",
        )
    if not may_grant(actor, role, unit_path):
        return ("That unit is outside your unit.", "Đơn vị này không thuộc đơn vị của bạn.")
    return None


def token_subject(role: str, person: str, member_id: str | None) -> str:
    """A member acts as their membership (authorship, inbox); staff act as themselves."""
    return member_id if role == "member" and member_id else person
