"""Submission follows review a batch at a time, no broker: the same rows as one event at a time,
and an outcome per event through the chassis' batch contract (claims, duplicates, poison).

The consumer is called as nameko would call it, with a fake service whose `db` is the real
database provider's, on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from chassis.auth import Principal
from chassis.consuming import DONE, DUPLICATE
from chassis.db import Db, make_engine
from chassis.tables import inbox
from submission import SERVICE, commands
from submission.service import SubmissionService
from submission.writes import HISTORY, INITIATIVES
from tests.factories import UNIT, UPPER, initiative

ROOT = Path(__file__).resolve().parents[2]
TEAM = Principal("tht-1", "support_team", UPPER)
LEVEL_UNITS = {"grassroots": UNIT, "upper": UPPER, "top": "HN", "national": "VGCL"}


@dataclass
class FakeService:
    db: Db


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    url = request.getfixturevalue("db_url" if request.param == "postgresql" else "sqlite_url")
    engine = make_engine(url)
    yield Db(sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()


def submitted(db: Db, n: int) -> list[str]:
    ids = []
    for i in range(n):
        with db.transaction() as session:
            ini, _ = commands.submit(session, TEAM, initiative(title=f"Sáng kiến {i}"), None)
            ids.append(ini.id)
    return ids


def event(event_type: str, initiative_id: str, at: str, **data: Any) -> dict[str, Any]:
    """The contract's example of `event_type`, about this initiative, at `at`, with `data` changed."""
    example = json.loads((ROOT / "contracts/examples" / f"{event_type}.v1.json").read_text(encoding="utf-8"))
    body = example["data"] | {"initiative_id": initiative_id, "unit": UNIT, "top_unit": "HN"} | data
    for name in ("accepted_at", "scored_at", "returned_at", "rejected_at", "recognized_at", "nominated_at"):
        if name in body:
            body[name] = at
    if "detected_at" in body:
        body["detected_at"] = at
    return example | {"id": str(uuid.uuid4()), "unit": "HN", "data": body}


def at_level(level: str, revision: int = 1) -> dict[str, Any]:
    return {"level": level, "level_unit": LEVEL_UNITS[level], "revision": revision}


def review_of(initiative_id: str, n: int) -> list[dict[str, Any]]:
    """Review's steps for one initiative, in its own order: four endings, by n."""
    t = [f"2026-05-{day:02d}T09:00:00+07:00" for day in range(1, 12)]
    steps = [
        event("review.started", initiative_id, t[0], **at_level("grassroots")),
        event("initiative.scored", initiative_id, t[1], **at_level("grassroots")),
    ]
    ending = n % 4
    if ending == 0:  # recognised, nominated, then returned by the upper level
        steps += [
            event("initiative.recognized", initiative_id, t[2], **at_level("grassroots")),
            event(
                "initiative.nominated",
                initiative_id,
                t[3],
                from_level="grassroots",
                from_unit=UNIT,
                to_level="upper",
                to_unit=UPPER,
                revision=1,
            ),
            event("review.started", initiative_id, t[4], **at_level("upper")),
            event("initiative.returned", initiative_id, t[5], level="upper"),
        ]
    elif ending == 1:
        steps.append(event("initiative.rejected", initiative_id, t[2], **at_level("grassroots")))
    elif ending == 2:
        steps.append(event("review.deadline_missed", initiative_id, t[2], **at_level("grassroots")))
    else:
        steps.append(event("initiative.returned", initiative_id, t[2], level="grassroots"))
    return steps


def arrivals(ids: list[str], seed: int) -> list[dict[str, Any]]:
    """Every initiative's steps, interleaved, some twice and out of order (seven queues, at least once)."""
    rng = random.Random(seed)
    events = [e for n, i in enumerate(ids) for e in review_of(i, n)]
    events += rng.sample(events, len(events) // 5)  # redelivered
    rng.shuffle(events)
    return events


def renamed(events: list[dict[str, Any]], ids: dict[str, str]) -> list[dict[str, Any]]:
    """The same events about other initiatives (each redelivery keeps its original's id)."""
    event_ids: dict[str, str] = {}
    out = []
    for e in events:
        event_id = event_ids.setdefault(e["id"], str(uuid.uuid4()))
        out.append(e | {"id": event_id, "data": e["data"] | {"initiative_id": ids[e["data"]["initiative_id"]]}})
    return out


def state(db: Db, ids: list[str]) -> list[Any]:
    """Each initiative's row and history, without what differs between two runs of the same events."""
    out = []
    with db.engine.connect() as conn:
        for initiative_id in ids:
            row = dict(conn.execute(select(INITIATIVES).where(INITIATIVES.c.id == initiative_id)).one()._mapping)
            history = conn.execute(  # the review's steps (each initiative was submitted at its own time)
                select(HISTORY).where(HISTORY.c.initiative_id == initiative_id, HISTORY.c.kind != "submitted")
            ).all()
            ignored = ("id", "initiative_id", "event_id", "updated_at", "submitted_at", "title")
            out.append(
                (
                    {k: v for k, v in row.items() if k not in ignored},
                    sorted(tuple((k, str(v)) for k, v in h._mapping.items() if k not in ignored) for h in history),
                )
            )
    return out


def test_a_batch_gives_the_rows_of_its_events_one_by_one(db: Db) -> None:
    ids = submitted(db, 24)
    batched, alone = ids[:12], ids[12:]
    events = arrivals(batched, seed=7)
    service = FakeService(db)
    outcomes = SubmissionService.on_initiative_scored(service, events)  # one batch, one transaction
    assert {o.status for o in outcomes} == {"done", "duplicate"}
    for e in renamed(events, dict(zip(batched, alone, strict=True))):
        assert SubmissionService.on_initiative_scored(service, [e])[0] in (DONE, DUPLICATE)
    assert state(db, batched) == state(db, alone)
    statuses = {row["status"] for row, _ in state(db, batched)}
    assert statuses == {"returned", "rejected", "in_review"}  # the four endings (a missed deadline: in review)


def test_outcomes_of_a_mixed_batch(db: Db) -> None:
    """47 good events, a poison one, one about an initiative not submitted here and a duplicate.

    Submission never retries an event: an initiative starts here, so one it does not know is never
    going to arrive (not yet known elsewhere; here, not its own): done, and nothing written.
    """
    ids = submitted(db, 47)
    good = [event("review.started", i, "2026-05-01T09:00:00+07:00", **at_level("grassroots")) for i in ids]
    bad = event("initiative.scored", ids[0], "2026-05-02T09:00:00+07:00", **at_level("grassroots"))
    del bad["data"]["scores"]  # a step that cannot be read: it would fail forever
    stranger = event("review.started", str(uuid.uuid4()), "2026-05-01T09:00:00+07:00", **at_level("grassroots"))
    batch = [*good[:20], bad, *good[20:30], stranger, good[5], *good[30:]]

    outcomes = SubmissionService.on_review_started(FakeService(db), batch)

    assert [o.status for o in outcomes] == (
        ["done"] * 20 + ["poison"] + ["done"] * 10 + ["done", "duplicate"] + ["done"] * 17
    )
    assert "scores" in outcomes[20].reason
    with db.engine.connect() as conn:
        claimed = set(conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == SERVICE)).scalars())
        statuses = conn.execute(select(INITIATIVES.c.status, func.count()).group_by(INITIATIVES.c.status)).all()
        history = conn.execute(select(HISTORY.c.kind, func.count()).group_by(HISTORY.c.kind)).all()
    assert claimed == {e["id"] for e in [*good, stranger]}  # the poison's claim was released
    assert statuses == [("in_review", 47)]
    assert sorted(history) == [("accepted", 47), ("submitted", 47)]
