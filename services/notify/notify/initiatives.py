"""Who an initiative's news is for, remembered from its submission events: later events name only the id."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notify import writing
from notify.models import Initiative

TABLE = Initiative.__table__
SUBMISSIONS = ("initiative.submitted", "initiative.resubmitted")


def row_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The row a submission makes (None for other events, and for events naming no initiative)."""
    data = event["data"]
    if event["type"] not in SUBMISSIONS or not data.get("initiative_id"):
        return None
    return {
        "initiative_id": data["initiative_id"],
        "revision": data["revision"],
        "title": data["title"],
        "unit": data["unit"],
        "unit_path": "/" + "/".join(data["unit_path"]) + "/",
        "top_unit": data["top_unit"],
        "authors": [a["member_id"] for a in data["authors"] if a.get("member_id")],
        "submitted_by": data["submitted_by"]["member_id"],
    }


def replaces(row: dict[str, Any], kept: dict[str, Any] | None) -> bool:
    """A newer revision replaces what was kept; the same revision again changes nothing."""
    return kept is None or kept["revision"] < row["revision"]


def known(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the audience rules read of a kept initiative."""
    if row is None:
        return None
    return {
        "title": row["title"],
        "authors": row["authors"],
        "unit_path": [c for c in row["unit_path"].split("/") if c],
    }


def load(session: Session, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The kept rows of these initiatives, by id: one query."""
    if not ids:
        return {}
    rows = session.execute(select(TABLE).where(TABLE.c.initiative_id.in_(sorted(ids)))).mappings()
    return {r["initiative_id"]: dict(r) for r in rows}


def remember(session: Session, rows: list[dict[str, Any]]) -> None:
    """One upsert of a batch's newest rows; a newer revision another transaction wrote stays."""
    ordered = sorted(rows, key=lambda r: r["initiative_id"])
    writing.upsert(session, TABLE, ordered, ["initiative_id"], where=lambda t, new: t.c.revision < new.revision)
