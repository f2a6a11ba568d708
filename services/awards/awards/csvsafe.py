"""Text cells a spreadsheet would run as a formula (CSV injection) are written with a leading apostrophe."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Numbers pass unchanged; text such as `=HYPERLINK(..)` becomes `'=HYPERLINK(..)`, shown but not run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
