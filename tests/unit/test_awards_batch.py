"""Awards' consumers take a batch at a time: the same rows as one event at a time, in any order.

On SQLite and on a throwaway PostgreSQL database (where the nation's rows go through
national_pending and are folded after the commit). No broker: the batch function is called as the
chassis calls it, and the entrypoint with a fake service whose database yields a session.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eventlet
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from awards import commands, facts, projections
from awards.contributions import contribution
from awards.facts import FactState, view
from awards.models import Base, Fact, Hourly
from awards.service import AwardsService
from chassis.consuming import DONE, DUPLICATE
from chassis.db import make_engine
from tests import event_factories as ev
from tests.conftest import AWARDS_TABLES, create_database, drop_database, migrate, truncate

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
UNITS = ("HN-KCN-C001", "HN-KL-C002", "HN-TH-C003", "THO-KKT-C001", "HCM-BD-C002", "CTVN-HC-C001")
READ_MODELS = ("cells", "totals", "participants", "hourly")


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    name = f"sangkien_awards_batch_{os.getpid()}"
    url = create_database(name)
    migrate(url, "awards")
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        engine = request.getfixturevalue("pg_engine")
        clear(engine)
        yield engine
        return
    url = f"sqlite:///{tmp_path / 'awards.db'}"
    migrate(url, "awards")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def clear(engine: Engine) -> None:
    truncate(engine.url.render_as_string(hide_password=False), (*AWARDS_TABLES, "national_pending"))


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        yield session


def author(member: str, share: float = 100.0) -> dict[str, Any]:
    return {"member_id": member, "share_percent": share}


def scenario() -> list[dict[str, Any]]:
    """Initiatives of several units: resubmitted, withdrawn, recognised (once before its submission,
    once at two levels), co-authors who share initiatives, several hours."""
    events: list[dict[str, Any]] = []
    for n in range(12):
        unit = UNITS[n % len(UNITS)]
        first = ev.submitted(
            unit,
            target_group=1 + n % 5,
            benefit_vnd_per_year=None if n % 7 == 3 else 10_000_000 * (n + 1),
            authors=[author(f"dv-{n % 4}", 60), author(f"dv-{(n + 1) % 4}", 40)],
            submitted_at=f"2026-04-{10 + n % 3}T0{n % 4}:30:00Z",
        )
        latest = first
        if n % 3 == 0:
            events.append(ev.recognized(first, at="2026-06-01T02:00:00Z"))  # before its submission
        events.append(first)
        if n % 2 == 1:  # a resubmission moves its group and changes its authors
            latest = ev.submitted(
                unit,
                revision=2,
                initiative_id=first["data"]["initiative_id"],
                target_group=2,
                benefit_vnd_per_year=7_000_000,
                authors=[author(f"dv-{n % 4}")],
                submitted_at=first["data"]["submitted_at"],
            )
            events.append(latest)
        if n % 4 == 2:
            events.append(ev.withdrawn(latest, at=f"2026-05-0{1 + n % 5}T04:00:00Z"))
        if n % 5 == 1:
            events.append(ev.recognized(latest, at="2026-06-15T02:00:00Z"))
            events.append(ev.recognized(latest, level="top", at="2026-07-20T03:00:00Z"))
    return events


def one_by_one(engine: Engine, events: list[dict[str, Any]]) -> None:
    """Each event in its own transaction, the nation's rows folded after each (the consumers' step)."""
    for event in events:
        with transaction(engine) as session:
            assert commands.initiative_events(session, [event], NOW) == [DONE]
        projections.fold(engine)


def batched(engine: Engine, events: list[dict[str, Any]], size: int = 200) -> None:
    for first in range(0, len(events), size):
        chunk = events[first : first + size]
        with transaction(engine) as session:
            assert commands.initiative_events(session, chunk, NOW) == [DONE] * len(chunk)
        projections.fold(engine)


def rows(engine: Engine, table: str, order: str, where: str = "") -> list[tuple]:
    """A table's rows as the models read them (aware datetimes on SQLite too), in key order."""
    query = select(Base.metadata.tables[table]).order_by(text(order))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.where(text(where)) if where else query)]


KEYS = {
    "facts": "initiative_id",
    "cells": "unit, programme, phase, block, target_group",
    "totals": "unit, programme, phase",
    "participants": "unit, programme, phase, member_id",
    "hourly": "unit, programme, hour",
}


def ledger(engine: Engine) -> list[tuple]:
    """The ledger without its random ids (the outbox keeps the order it was written in)."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT grant_key, kind, recipient_type, recipient_unit, recipient_member, amount_vnd, reason, due_on"
                " FROM ledger ORDER BY grant_key"
            )
        )
        return [tuple(r) for r in found]


def outbox(engine: Engine) -> list[tuple]:
    """The staged events in order, without what is new in each (ids, times)."""
    with engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.scalars(text("SELECT body FROM outbox ORDER BY seq"))]
    return [(b["type"], b["subject"] if b["type"] != "award.granted" else "", strip(b["data"])) for b in bodies]


def strip(data: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in data.items() if k != "award_id"}, sort_keys=True)


def state(engine: Engine) -> dict[str, Any]:
    found: dict[str, Any] = {table: rows(engine, table, order) for table, order in KEYS.items()}
    found["ledger"], found["outbox"] = ledger(engine), outbox(engine)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM national_pending")) == 0, "every staged row is folded"
    return found


def test_a_batch_gives_the_rows_of_the_same_events_one_by_one(engine: Engine) -> None:
    events = scenario()
    one_by_one(engine, events)
    expected = state(engine)
    clear(engine)
    batched(engine, events)
    got = state(engine)
    for table in expected:
        assert got[table] == expected[table], table
    assert len(expected["facts"]) == 12 and expected["ledger"] and expected["outbox"]
    assert any(r[0] == "VGCL" for r in expected["totals"]), "the nation's rows are compared too"


def test_batches_of_any_size_give_the_same_rows(engine: Engine) -> None:
    events = scenario()
    batched(engine, events, size=200)
    expected = state(engine)
    for size in (7, 2):
        clear(engine)
        batched(engine, events, size=size)
        assert state(engine) == expected, size


def nonzero(engine: Engine) -> dict[str, list[tuple]]:
    """The read models as numbers: rows with something counted (zero rows depend on the path taken)."""
    counted = {
        "cells": "submitted <> 0 OR recognized <> 0 OR benefit_vnd <> 0 OR recognized_benefit_vnd <> 0",
        "totals": "submitted <> 0 OR recognized <> 0 OR participants <> 0 OR benefit_vnd <> 0",
        "participants": "initiatives <> 0",
        "hourly": "submitted <> 0 OR recognized <> 0",
    }
    found = {table: rows(engine, table, KEYS[table], where) for table, where in counted.items()}
    return found | {"facts": rows(engine, "facts", "initiative_id")}


def test_events_in_any_order_give_the_same_totals(engine: Engine) -> None:
    events = scenario()
    one_by_one(engine, events)
    expected = nonzero(engine)
    for seed in range(4):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        clear(engine)
        batched(engine, shuffled, size=(200, 5, 13, 1)[seed])
        got = nonzero(engine)
        for table in expected:
            assert got[table] == expected[table], (seed, table)
    assert replayed(engine) == as_numbers(expected)


def replayed(engine: Engine) -> dict[str, Counter]:
    """The read models as a replay of the final facts builds them: the sum of their contributions."""
    parts: dict[str, Counter] = {"cells": Counter(), "participants": Counter(), "hourly": Counter()}
    with engine.connect() as conn:
        facts = [FactState(**row._mapping) for row in conn.execute(select(Fact.__table__))]
    for fact in facts:
        for part, counter in contribution(view(fact)).items():
            for key, n in counter.items():
                parts[part][(key[0], fact.programme, *key[1:])] += n
    totals: Counter = Counter()
    for (unit, programme, phase, _block, _group, column), n in parts["cells"].items():
        totals[(unit, programme, phase, column)] += n
    for (unit, programme, phase, _member), n in parts["participants"].items():
        totals[(unit, programme, phase, "participants")] += n > 0
    return {part: +counter for part, counter in parts.items()} | {"totals": +totals}


def as_numbers(found: dict[str, list[tuple]]) -> dict[str, Counter]:
    """The rows read back, keyed like replayed()."""
    columns = ("submitted", "recognized", "benefit_vnd", "recognized_benefit_vnd")
    totals = ("submitted", "recognized", "participants", "benefit_vnd", "recognized_benefit_vnd")
    return {
        "cells": +Counter({(*r[:5], c): r[5 + i] for r in found["cells"] for i, c in enumerate(columns)}),
        "participants": +Counter({r[:4]: r[4] for r in found["participants"]}),
        "hourly": +Counter(
            {(*r[:3], c): r[3 + i] for r in found["hourly"] for i, c in enumerate(("submitted", "recognized"))}
        ),
        "totals": +Counter({(*r[:3], c): r[6 + i] for r in found["totals"] for i, c in enumerate(totals)}),
    }


@dataclass
class FakeDatabase:
    """What the chassis' consumer uses of chassis.db.Database."""

    engine: Engine
    transactions: int = 0

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self.transactions += 1
        with transaction(self.engine) as session:
            yield session


class FakeAwards:
    metrics = None

    def __init__(self, engine: Engine) -> None:
        self.db = FakeDatabase(engine)


def test_outcomes_of_a_mixed_batch(engine: Engine) -> None:
    """47 good submissions, one poison, one of an initiative not known yet, one duplicate."""
    service = FakeAwards(engine)
    good = [ev.submitted(UNITS[i % len(UNITS)], authors=[author(f"dv-{i}")]) for i in range(47)]
    bad = ev.submitted("HN-KL-C002", submitted_at="last Tuesday")
    first_revision = ev.submitted("HN-KCN-C002", authors=[author("dv-x")])
    unknown = ev.submitted("HN-KCN-C002", revision=2, initiative_id=first_revision["data"]["initiative_id"])
    batch = [*good[:20], bad, unknown, good[5], *good[20:]]

    outcomes = AwardsService.on_submitted(service, batch)

    assert [o.status for o in outcomes] == ["done"] * 20 + ["poison", "done", "duplicate"] + ["done"] * 27
    assert "submitted_at" in outcomes[20].reason or "isoformat" in outcomes[20].reason
    with engine.connect() as conn:
        claimed = set(conn.scalars(text("SELECT event_id FROM inbox")))
        facts = set(conn.scalars(text("SELECT initiative_id FROM facts")))
        vgcl = conn.scalar(text("SELECT submitted FROM totals WHERE unit = 'VGCL' AND phase = '*'"))
        bonuses = conn.scalar(text("SELECT count(*) FROM ledger WHERE kind = 'bonus'"))
    assert claimed == {e["id"] for e in good} | {unknown["id"]}, "the poison event's claim is released"
    assert bad["data"]["initiative_id"] not in facts and len(facts) == 48
    assert vgcl == 48, "the nation's rows are folded after the commit"
    assert bonuses == 9, "HN-KCN's scheme: 8 of the good ones and the resubmission"

    # Later: the initiative's first revision arrives (older: it changes nothing, grants nothing again);
    # a redelivered event is a duplicate; the poison event's redelivery is poison again.
    again = AwardsService.on_submitted(service, [good[0], first_revision, bad])
    assert again == [DUPLICATE, DONE, again[2]] and again[2].status == "poison"
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT submitted FROM totals WHERE unit = 'VGCL' AND phase = '*'")) == 48
        revision = conn.scalar(
            text("SELECT revision FROM facts WHERE initiative_id = :i"), {"i": unknown["data"]["initiative_id"]}
        )
    assert revision == 2


def test_one_initiatives_events_in_one_batch_are_applied_in_order(engine: Engine) -> None:
    """Submitted, resubmitted and withdrawn in one batch: counted for nothing, its hours kept."""
    first = ev.submitted("HN-KL-C002", authors=[author("dv-a")], submitted_at="2026-04-10T03:10:00Z")
    second = ev.submitted(
        "HN-KL-C002", revision=2, initiative_id=first["data"]["initiative_id"], target_group=1,
        submitted_at="2026-04-10T03:10:00Z",
    )  # fmt: skip
    gone = ev.withdrawn(second, at="2026-04-11T05:00:00Z")
    batched(engine, [first, second, gone])
    with engine.connect() as conn:
        totals = conn.execute(text("SELECT unit, submitted, participants FROM totals WHERE phase = '*' ORDER BY unit"))
        assert [tuple(r) for r in totals] == [("HN", 0, 0), ("HN-KL", 0, 0), ("HN-KL-C002", 0, 0), ("VGCL", 0, 0)]
        table = Hourly.__table__
        hourly = conn.execute(select(table).where(table.c.unit == "HN").order_by(table.c.hour))
        assert [(h.hour.astimezone(UTC).hour, h.submitted) for h in hourly] == [(3, 1), (5, -1)]
        assert conn.scalar(text("SELECT count(*) FROM participants WHERE initiatives <> 0")) == 0


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        ("initiative.submitted", {"submitted_at": "2026-04-10T03:00:00"}),  # no time zone
        ("initiative.submitted", {"revision": "2"}),
        ("initiative.submitted", {"unit_path": "VGCL/HN"}),
        ("initiative.submitted", {"first_applied_on": "01/03/2026"}),
        ("initiative.submitted", {"authors": None, "title": None, "programme": None}),
        ("initiative.recognized", {"recognized_at": "soon"}),
        ("initiative.withdrawn", {"withdrawn_at": None}),
    ],
)
def test_content_no_rule_can_apply_is_poison_before_anything_changes(event_type: str, change: dict[str, Any]) -> None:
    submitted = ev.submitted("HN-KL-C002")
    event = {"initiative.submitted": submitted, "initiative.recognized": ev.recognized(submitted)}.get(
        event_type, ev.withdrawn(submitted)
    )
    event["data"] = {k: v for k, v in {**event["data"], **change}.items() if v is not None}  # None: left out
    with pytest.raises((KeyError, TypeError, ValueError)):
        facts.parse(event_type, event["data"])
    outcomes = commands.initiative_events(None, [event], NOW)  # type: ignore[arg-type] - no statement is run
    assert [o.status for o in outcomes] == ["poison"]


def test_concurrent_batches_of_several_units_sharing_authors_neither_deadlock_nor_lose_counts(
    pg_engine: Engine,
) -> None:
    """Batches of two units at once (and two of one unit, which take turns): the nation's participant
    rows they share are locked in key order, its totals folded after each commit."""
    clear(pg_engine)
    service = FakeAwards(pg_engine)
    shared = [author("dv-shared-1", 50), author("dv-shared-2", 50)]
    batches = [
        [ev.submitted(unit, authors=[*shared[:: 1 if i % 2 else -1], author(f"dv-{unit}-{i}")]) for i in range(40)]
        for unit in ("HN-KL-C002", "THO-KKT-C001", "HCM-BD-C002", "HN-KCN-C001", "THO-DQ-C001", "HCM-VT-C001")
    ]
    pool = eventlet.GreenPool(len(batches))
    outcomes = list(pool.imap(lambda batch: AwardsService.on_submitted(service, batch), batches))
    assert all(o == DONE for batch in outcomes for o in batch)
    assert service.db.transactions == len(batches), "no batch failed (a deadlock) and was handled one by one"
    with pg_engine.connect() as conn:
        nation = conn.execute(
            text("SELECT submitted, participants FROM totals WHERE unit = 'VGCL' AND phase = '*'")
        ).one()
        pending = conn.scalar(text("SELECT count(*) FROM national_pending"))
    assert (nation.submitted, pending) == (240, 0)
    assert nation.participants == 2 + 240, "each shared author once, each own author once"
