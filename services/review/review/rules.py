"""Review rules per programme and level, read from a data file (rules/programmes.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from review.domain import CRITERIA, DECISION_RULES, SCORE_MAX, Rules

RULES_FILE = Path(__file__).parent / "rules" / "programmes.json"


@cache
def _document(path: Path = RULES_FILE) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    for programme in [None, *document["programmes"]]:
        for level in ("grassroots", "upper", "top", "national"):
            _check(_merged(document, programme, level), programme, level)
    return document


def _merged(document: dict[str, Any], programme: str | None, level: str) -> dict[str, Any]:
    specific = document["programmes"].get(programme, {}) if programme else {}
    merged = {**document["default"], **{k: v for k, v in specific.items() if k != "levels"}}
    merged.update(specific.get("levels", {}).get(level, {}))
    return merged


def _check(values: dict[str, Any], programme: str | None, level: str) -> None:
    """A broken rules file must stop the service at start, not mis-score initiatives."""
    where = f"rules of {programme or 'default'}/{level}"
    if set(values["weights"]) != set(CRITERIA) or any(w < 0 for w in values["weights"].values()):
        raise ValueError(f"{where}: weights must be non-negative for exactly {CRITERIA}")
    if sum(values["weights"].values()) <= 0:
        raise ValueError(f"{where}: weights must not all be zero")
    if values["decision_rule"] not in DECISION_RULES:
        raise ValueError(f"{where}: decision_rule must be one of {DECISION_RULES}")
    if not 0 <= values["pass_mark"] <= SCORE_MAX:
        raise ValueError(f"{where}: pass_mark must be within 0..{SCORE_MAX}")
    if min(values["intake_days"], values["decision_months"], values["warn_days"]) < 0:
        raise ValueError(f"{where}: durations must not be negative")


def warn_days() -> int:
    """How early a deadline shows as approaching: one value, so queue filters and flags agree."""
    return int(_document()["default"]["warn_days"])


def rules_for(programme: str, level: str) -> Rules:
    values = _merged(_document(), programme, level)
    return Rules(
        weights={c: float(values["weights"][c]) for c in CRITERIA},
        pass_mark=float(values["pass_mark"]),
        decision_rule=values["decision_rule"],
        intake_days=int(values["intake_days"]),
        decision_months=int(values["decision_months"]),
        warn_days=int(values["warn_days"]),
    )
