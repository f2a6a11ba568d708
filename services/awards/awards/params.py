"""Query-string parameters of the report, chart and export endpoints: every bad field reported at once."""

from __future__ import annotations

import re
from typing import Any

from awards.queries import PROGRAMME, UNIT_CODE
from awards.rules import load
from chassis.validation import FieldError

REPORT_PERIOD = re.compile(r"20[0-9]{2}(?:-H[12])?")  # years the calendar arithmetic can hold
FORMATS = ("json", "csv", "xlsx")


def text(
    args: Any, name: str, pattern: re.Pattern[str], errors: list[FieldError], required: bool = False
) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        if required:
            errors.append(FieldError(name, "Missing data for required field.", "Thiếu trường bắt buộc."))
        return None
    if not pattern.fullmatch(value):
        errors.append(FieldError(name, "Not a valid code.", "Mã không hợp lệ."))
        return None
    return value


def programme(args: Any, errors: list[FieldError], required: bool = True, known: bool = True) -> str | None:
    """A programme code; `known` also asks for its rules file (phases, from which targets are prorated)."""
    code = text(args, "programme", PROGRAMME, errors, required)
    if code is not None and known and load(code) is None:
        errors.append(FieldError("programme", "No such programme.", "Không có chương trình này."))
        return None
    return code


def unit(args: Any, errors: list[FieldError]) -> str | None:
    return text(args, "unit", UNIT_CODE, errors)


def period(args: Any, errors: list[FieldError]) -> str | None:
    value = args.get("period")
    if value is None or value == "":
        errors.append(FieldError("period", "Missing data for required field.", "Thiếu trường bắt buộc."))
        return None
    if not REPORT_PERIOD.fullmatch(value):
        errors.append(
            FieldError(
                "period",
                "A six-month or annual period: 2026-H1, 2026-H2 or 2026.",
                "Kỳ báo cáo sáu tháng hoặc năm: 2026-H1, 2026-H2 hoặc 2026.",
            )
        )
        return None
    return value


def choice(args: Any, name: str, allowed: tuple[str, ...], default: str, errors: list[FieldError]) -> str:
    value = args.get(name, default)
    if value not in allowed:
        errors.append(
            FieldError(name, f"Must be one of: {', '.join(allowed)}.", f"Phải là một trong: {', '.join(allowed)}.")
        )
        return default
    return value
