"""How the pages write numbers, money and dates: the Vietnamese way (1.440.000 đ, 07/12/2026)."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import date as Date
from typing import Any
from zoneinfo import ZoneInfo

from chassis.config import setting


def number(value: object) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}".replace(",", ".")  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


def vnd(value: object) -> str:
    return "—" if value is None or value == "" else f"{number(value)} đ"


def _parse(value: object) -> datetime | Date | None:
    if isinstance(value, datetime | Date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return Date.fromisoformat(value[:10])
        except ValueError:
            return None


def date(value: object) -> str:
    parsed = _parse(value)
    if parsed is None:
        return "—"
    if isinstance(parsed, datetime) and parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(setting("LOCAL_TIMEZONE")))
    return parsed.strftime("%d/%m/%Y")


def datetime_local(value: object) -> str:
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return date(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(setting("LOCAL_TIMEZONE")))
    return parsed.strftime("%d/%m/%Y %H:%M")


def days_left(due: Any, now: datetime | None = None) -> int | None:
    """Whole days from now to a deadline (negative once it has passed)."""
    parsed = _parse(due)
    if not isinstance(parsed, datetime):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    seconds = (parsed - (now or datetime.now(UTC))).total_seconds()
    return int(seconds // 86400)
