"""Who hears about an event, and as what: plain functions of the event and what notify knows.

Recipients are opaque addresses: `member:<id>` for a person, `<role>@<unit>` for a unit's
role mailbox (its reviewers, its admins, its support team). Contact details are looked up
later, per recipient, from what they chose to give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    recipient: str
    category: str  # names the template: received, new_item, returned, ...
    context: dict[str, Any] = field(default_factory=dict)


def member(member_id: str) -> str:
    return f"member:{member_id}"


def mailbox(role: str, unit: str) -> str:
    return f"{role}@{unit}"


def level_unit(unit_path: Sequence[str], level: str) -> str | None:
    """The unit reviewing at a level, from the initiative's path (VGCL, top, [upper,] grassroots)."""
    if not unit_path:
        return None
    return {
        "grassroots": unit_path[-1],
        "upper": unit_path[-2] if len(unit_path) > 3 else None,
        "top": unit_path[1] if len(unit_path) > 1 else None,
        "national": unit_path[0],
    }.get(level)


def _authors(ids: Sequence[str | None]) -> list[str]:
    return [member(i) for i in dict.fromkeys(i for i in ids if i)]


def notices(event: dict[str, Any], known: dict[str, Any] | None) -> list[Notice]:
    """`known`: what notify kept of the initiative (title, unit_path, authors), if anything."""
    kind, data = event["type"], event["data"]
    known = known or {}
    title = data.get("title") or known.get("title") or ""
    context = {"title": title, "initiative_id": data.get("initiative_id"), **data}
    authors = _authors([a.get("member_id") for a in data.get("authors", [])] or list(known.get("authors", [])))
    if kind in ("initiative.submitted", "initiative.resubmitted"):
        submitter = data["submitted_by"]["member_id"]
        people = authors + ([member(submitter)] if member(submitter) not in authors else [])
        return [Notice(p, "received", context) for p in people] + [
            Notice(mailbox("reviewer", data["unit"]), "new_item", context)
        ]
    if kind == "review.started":
        return [Notice(a, "accepted", context) for a in authors]
    if kind == "initiative.returned":
        return [Notice(a, "returned", context) for a in authors]
    if kind == "initiative.rejected":
        return [Notice(a, "rejected", context) for a in authors]
    if kind == "initiative.recognized":
        return [Notice(a, "recognized", context) for a in authors]
    if kind == "initiative.nominated":
        return [Notice(a, "nominated", context) for a in authors] + [
            Notice(mailbox("reviewer", data["to_unit"]), "new_item", context)
        ]
    if kind == "review.deadline_missed":
        escalation = data["escalate_to"]
        return [
            Notice(mailbox("reviewer", data["level_unit"]), "deadline_missed", context),
            Notice(mailbox(escalation["role"], escalation["unit"]), "escalation", context),
        ]
    if kind == "award.granted":
        recipient = data["recipient"]
        if recipient["type"] == "individual" and recipient["member_id"]:
            return [Notice(member(recipient["member_id"]), "award", context)]
        return [Notice(mailbox(role, recipient["unit"]), "award", context) for role in ("unit_admin", "support_team")]
    if kind == "remuneration.due":
        payees = _authors([p["member_id"] for p in data["payees"]])
        return [Notice(p, "remuneration_due", context) for p in payees] + [
            Notice(mailbox("unit_admin", data["unit"]), "remuneration_due", context)
        ]
    return []


# What each event counts as in a unit's daily digest.
DIGEST_KINDS = {
    "initiative.submitted": "submitted",
    "initiative.resubmitted": "resubmitted",
    "initiative.withdrawn": "withdrawn",
    "initiative.recognized": "recognized",
    "initiative.rejected": "rejected",
    "initiative.returned": "returned",
    "review.deadline_missed": "deadline_missed",
    "award.granted": "awards",
}


def digest_units(event: dict[str, Any], unit_path: Sequence[str]) -> list[str]:
    """The units whose digest counts this event: every unit on the initiative's path but the nation."""
    if event["type"] not in DIGEST_KINDS:
        return []
    path = list(unit_path) or [u for u in (event["data"].get("top_unit"), event["data"].get("unit")) if u]
    return [u for u in dict.fromkeys(path) if u != "VGCL"]


def webhook_wants(event_types: Sequence[str], units: Sequence[str], event: dict[str, Any]) -> bool:
    """A subscription hears the event types it chose, from its top-level units (or all: "*")."""
    top = str(event.get("unit") or event["data"].get("top_unit") or "")
    return event["type"] in event_types and ("*" in units or top in units)
