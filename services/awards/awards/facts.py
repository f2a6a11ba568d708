"""What awards knows of an initiative, in memory, and how each of its events changes that.

A batch loads its facts once, applies its events to them here in the batch's order, then writes
each changed fact once (projections.apply_changes). The rules are the ones the one-by-one path had.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from awards.contributions import FactView, author_ids, highest
from chassis.auth import path_codes

SUBMITTED, WITHDRAWN, RECOGNIZED = "submitted", "withdrawn", "recognized"
KIND_OF = {
    "initiative.submitted": SUBMITTED,
    "initiative.resubmitted": SUBMITTED,
    "initiative.withdrawn": WITHDRAWN,
    "initiative.recognized": RECOGNIZED,
}


@dataclass(slots=True)
class FactState:
    """A row of `facts` (awards.models.Fact) as plain data: the ledger's rules read it like the model."""

    initiative_id: str
    programme: str
    unit: str
    top_unit: str
    revision: int = 0
    phase: str = ""
    unit_path: str = ""
    block: str | None = None
    target_group: int | None = None
    field: str = ""
    title: str = ""
    confidential: bool = False
    benefit_vnd_per_year: int | None = None
    first_applied_on: date | None = None
    authors: list[dict[str, Any]] | None = None
    submitted_at: datetime | None = None
    withdrawn_at: datetime | None = None
    recognized_at: datetime | None = None
    recognized_level: str | None = None
    certificate_number: str | None = None

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self.unit_path)

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS} | {"authors": self.authors or []}


COLUMNS = tuple(f.name for f in fields(FactState))


def placeholder(data: dict[str, Any]) -> FactState:
    """The empty fact an initiative's first event creates, whichever event that is."""
    return FactState(data["initiative_id"], data["programme"], data["unit"], data["top_unit"], authors=[])


def view(fact: FactState | None) -> FactView | None:
    """The fields counts depend on; None while nothing placed the initiative on the tree."""
    if fact is None or not fact.unit_path:
        return None
    return FactView(
        programme=fact.programme,
        phase=fact.phase,
        unit_path=tuple(fact.path_codes),
        block=fact.block,
        target_group=fact.target_group,
        benefit_vnd_per_year=fact.benefit_vnd_per_year,
        author_ids=author_ids(fact.authors or []),
        submitted_at=fact.submitted_at,
        withdrawn_at=fact.withdrawn_at,
        recognized_at=fact.recognized_at,
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One event's change, parsed: its kind, its data, and the moments it carries."""

    kind: str
    data: dict[str, Any]
    at: datetime | None  # submitted_at, withdrawn_at or recognized_at
    first_applied_on: date | None = None


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # compared with stored, aware moments: it would fail at every delivery
        raise ValueError(f"{value!r} has no time zone")
    return moment


def parse(event_type: str, data: dict[str, Any]) -> Change:
    """Raises (KeyError, ValueError, TypeError) on content no rule can apply: the event is poison."""
    kind = KIND_OF[event_type]
    for key in ("initiative_id", "programme", "unit", "top_unit"):
        if not isinstance(data[key], str):
            raise TypeError(f"{key} is not a string")
    missing = [key for key in READS[kind] if key not in data]
    if missing:  # found out here, before the batch's facts change, not half way through them
        raise KeyError(", ".join(missing))
    if kind == SUBMITTED:
        if not isinstance(data["revision"], int) or not isinstance(data["unit_path"], list):
            raise TypeError("revision or unit_path of the wrong type")
        applied = data["first_applied_on"]
        return Change(kind, data, _moment(data["submitted_at"]), date.fromisoformat(applied) if applied else None)
    if kind == WITHDRAWN:
        return Change(kind, data, _moment(data["withdrawn_at"]))
    return Change(kind, data, _moment(data["recognized_at"]))


def submit(fact: FactState, change: Change) -> None:
    """`initiative.submitted` / `.resubmitted`: the content of the latest revision wins."""
    data = change.data
    if fact.revision >= data["revision"]:
        return  # an older revision arriving late
    fact.revision = data["revision"]
    for name in ("programme", "phase", "unit", "top_unit", "block", "target_group", "field", "title"):
        setattr(fact, name, data[name])
    fact.unit_path = "/" + "/".join(data["unit_path"]) + "/"
    fact.confidential = data["confidential"]
    fact.benefit_vnd_per_year = data["benefit_vnd_per_year"]
    fact.first_applied_on = change.first_applied_on
    fact.authors = data["authors"]
    if fact.submitted_at is None:
        fact.submitted_at = change.at


def withdraw(fact: FactState, change: Change) -> None:
    if fact.withdrawn_at is None:  # kept even when it overtook the submission
        fact.withdrawn_at = change.at


RECOGNITION_FIELDS = (
    "phase",
    "block",
    "target_group",
    "field",
    "title",
    "confidential",
    "benefit_vnd_per_year",
    "authors",
)


def recognize(fact: FactState, change: Change) -> None:
    """Counted once, at the first recognition; the highest level reached is kept."""
    data = change.data
    if fact.revision == 0:  # recognised before the submission reached us: keep what the event says
        for name in RECOGNITION_FIELDS:
            setattr(fact, name, data[name])
    moment = change.at
    if fact.recognized_at is None or moment < fact.recognized_at:
        fact.recognized_at = moment
    if highest([fact.recognized_level, data["level"]]) == data["level"]:
        fact.recognized_level = data["level"]
        fact.certificate_number = data["certificate_number"]


MUTATIONS = {SUBMITTED: submit, WITHDRAWN: withdraw, RECOGNIZED: recognize}
# What each mutation reads of an event's data.
READS = {
    SUBMITTED: (
        *("revision", "phase", "block", "target_group", "field", "title", "unit_path", "confidential"),
        *("benefit_vnd_per_year", "first_applied_on", "authors", "submitted_at"),
    ),
    WITHDRAWN: ("withdrawn_at",),
    RECOGNIZED: (*RECOGNITION_FIELDS, "recognized_at", "level", "certificate_number"),
}
