"""From a submitted HTML form to the API's JSON, field by field: the form's names are the API's."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

TEXT_FIELDS = ("title", "field", "problem", "solution", "novelty", "scope", "benefit_description")
MAX_AUTHORS = 6  # rows the form offers; the API takes up to 20


def _integer(raw: str) -> Any:
    """ "1.440.000" or "1 440 000" -> 1440000; anything else goes as typed, for the API to refuse."""
    cleaned = re.sub(r"[\s.,_đ]", "", raw)
    return int(cleaned) if cleaned.isdigit() else raw


def _share(raw: str) -> Any:
    try:
        return float(Decimal(raw.replace(",", ".").replace("%", "").strip()))
    except InvalidOperation:
        return raw


def authors(form: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(MAX_AUTHORS):
        name = form.get(f"authors.{i}.name", "").strip()
        member_id = form.get(f"authors.{i}.member_id", "").strip()
        share = form.get(f"authors.{i}.share_percent", "").strip()
        if not (name or member_id or share):
            continue  # an empty row is not an author
        out.append({"name": name, "member_id": member_id or None, "share_percent": _share(share) if share else None})
    return out


def initiative_content(form: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    if not payload["benefit_description"]:
        payload["benefit_description"] = None
    group = form.get("target_group", "").strip()
    payload["target_group"] = _integer(group) if group else None
    benefit = form.get("benefit_vnd_per_year", "").strip()
    payload["benefit_vnd_per_year"] = _integer(benefit) if benefit else None
    payload["first_applied_on"] = form.get("first_applied_on", "").strip() or None
    payload["confidential"] = form.get("confidential") == "on"
    payload["authors"] = authors(form)
    return {k: v for k, v in payload.items() if v is not None or k in ("benefit_vnd_per_year", "first_applied_on")}


def initiative(form: Any) -> dict[str, Any]:
    payload = initiative_content(form)
    payload["programme"] = form.get("programme", "").strip()
    payload["unit"] = form.get("unit", "").strip()
    return payload


def values_of(initiative: dict[str, Any]) -> dict[str, str]:
    """An initiative the API returned, as the form's values (for resubmitting)."""
    values = {name: initiative.get(name) or "" for name in TEXT_FIELDS}
    values["target_group"] = str(initiative.get("target_group") or "")
    values["benefit_vnd_per_year"] = str(initiative.get("benefit_vnd_per_year") or "")
    values["first_applied_on"] = initiative.get("first_applied_on") or ""
    values["programme"] = initiative.get("programme", "")
    values["unit"] = initiative.get("unit", "")
    values["confidential"] = "on" if initiative.get("confidential") else ""
    for i, author in enumerate(initiative.get("authors", [])[:MAX_AUTHORS]):
        values[f"authors.{i}.name"] = author.get("name") or ""
        values[f"authors.{i}.member_id"] = author.get("member_id") or ""
        values[f"authors.{i}.share_percent"] = (
            f"{author.get('share_percent', ''):g}" if author.get("share_percent") else ""
        )
    return values
