"""The Vietnamese calendar the platform keeps: local days, calendar months."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from chassis.config import setting

LOCAL = ZoneInfo(setting("LOCAL_TIMEZONE"))
Day = TypeVar("Day", date, datetime)


def local_day(moment: datetime) -> date:
    """Phases, due dates and 'today' follow the Vietnamese calendar, not UTC's."""
    return moment.astimezone(LOCAL).date()


def add_months(moment: Day, months: int) -> Day:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
