"""An initiative's timeline as a member reads it: the steps of its history, in words. Plain data."""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {
    "submitted": ("Đã gửi", "Submitted"),
    "in_review": ("Đang thẩm định", "In review"),
    "returned": ("Trả lại để bổ sung", "Returned for changes"),
    "recognized": ("Đã công nhận", "Recognised"),
    "rejected": ("Không công nhận", "Rejected"),
    "nominated": ("Đề nghị cấp trên", "Nominated upward"),
    "withdrawn": ("Đã rút", "Withdrawn"),
    "scored": ("Đã chấm điểm", "Scored"),
}
STEP_NAMES = {
    "submitted": ("Gửi sáng kiến", "Submitted"),
    "resubmitted": ("Gửi lại sau khi bổ sung", "Resubmitted after changes"),
    "received": ("Đơn vị nhận hồ sơ", "Received"),
    "accepted": ("Tiếp nhận hồ sơ", "Accepted for review"),
    "review_started": ("Tiếp nhận hồ sơ", "Accepted for review"),
    "scored": ("Chấm điểm", "Scored"),
    "recognized": ("Công nhận sáng kiến", "Recognised"),
    "rejected": ("Không công nhận", "Rejected"),
    "returned": ("Trả lại để bổ sung", "Returned for changes"),
    "nominated": ("Đề nghị lên cấp trên", "Nominated upward"),
    "withdrawn": ("Rút sáng kiến", "Withdrawn"),
    "deadline_missed": ("Quá hạn thẩm định", "Review deadline missed"),
}
LEVEL_NAMES = {
    "grassroots": ("Công đoàn cơ sở", "Grassroots union"),
    "upper": ("Công đoàn cấp trên cơ sở", "Upper-grassroots union"),
    "upper_grassroots": ("Công đoàn cấp trên cơ sở", "Upper-grassroots union"),
    "top": ("LĐLĐ tỉnh, thành phố / Công đoàn ngành", "Top-level unit"),
    "national": ("Tổng Liên đoàn", "National"),
}
# Withdrawing or resubmitting is offered only while review has not decided for good.
WITHDRAWABLE = ("submitted", "in_review", "returned")
RESUBMITTABLE = ("returned",)


def word(names: dict[str, tuple[str, str]], key: str | None, lang: str) -> str:
    """A code in words from a (Vietnamese, English) table; an unknown code as itself."""
    pair = names.get(key or "")
    if pair is None:
        return key or ""
    return pair[1] if lang == "en" else pair[0]


def level_name(level: str | None, lang: str) -> str:
    return word(LEVEL_NAMES, level, lang)


def status_name(status: str | None, lang: str) -> str:
    return word(STATUS_NAMES, status, lang)


def steps(item: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Oldest first; each with what happened, when, where (level and unit) and why."""
    history = item.get("history") or [{"kind": "submitted", "at": item.get("submitted_at"), "unit": item.get("unit")}]
    out = []
    for entry in history:
        kind = entry.get("kind")
        out.append(
            {
                "kind": kind,
                "what": word(STEP_NAMES, kind, lang),
                "at": entry.get("at"),
                "level": word(LEVEL_NAMES, entry.get("level"), lang) if entry.get("level") else "",
                "unit": entry.get("unit") or "",
                "reason": entry.get("reason") or "",
                "score": entry.get("score"),
                "passed": entry.get("passed"),
                "honour": entry.get("honour") or "",
            }
        )
    return out


def can_withdraw(item: dict[str, Any]) -> bool:
    return item.get("status") in WITHDRAWABLE


def can_resubmit(item: dict[str, Any]) -> bool:
    return item.get("status") in RESUBMITTABLE
