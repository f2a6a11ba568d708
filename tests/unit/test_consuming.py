"""The batch contract of consumers on plain data: outcomes per event, claims, steps after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, create_engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from chassis.consuming import DONE, DUPLICATE, Outcome, handles_batch, handles_each, poison, retry
from chassis.errors import PoisonMessage
from chassis.tables import inbox
from chassis.tables import metadata as chassis_metadata

effects_metadata = MetaData()
effects = Table("effects", effects_metadata, Column("event_id", String(64)))


class Db:
    """The one method of chassis.db.Database a consumer uses, on SQLite in memory."""

    def __init__(self) -> None:
        self.engine = create_engine("sqlite://")
        chassis_metadata.create_all(self.engine)
        effects_metadata.create_all(self.engine)
        self.factory = sessionmaker(self.engine)
        self.transactions = 0

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.factory() as session, session.begin():
            self.transactions += 1
            yield session

    def scalar(self, statement: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(statement).scalar()


def event(unit: str = "HN", kind: str = "good") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "initiative.returned", "unit": unit, "data": {"kind": kind}}


class Service:
    """A consumer that writes an effect per good event and names the others' outcomes."""

    def __init__(self) -> None:
        self.db = Db()
        self.committed: list[int] = []
        self.batches: list[int] = []

    @handles_batch("tests", after_commit=(lambda self: self.committed.append(self.effects()),))
    def on_batch(self, session: Session, events: list[dict[str, Any]]) -> list[Outcome]:
        self.batches.append(len(events))
        outcomes = []
        for e in events:
            kind = e["data"]["kind"]
            if kind == "raise":
                raise RuntimeError("a bug")
            if kind == "poison-raise":
                raise PoisonMessage("cannot ever work")
            outcome = {"good": DONE, "later": retry("not yet known"), "poison": poison("no")}[kind]
            if outcome == DONE:
                session.execute(insert(effects).values(event_id=e["id"]))
            outcomes.append(outcome)
        return outcomes

    @handles_each("tests-each")
    def on_each(self, session: Session, e: dict[str, Any]) -> Outcome | None:
        if e["data"]["kind"] == "later":
            return retry("not yet known")
        session.execute(insert(effects).values(event_id=e["id"]))
        return None

    def effects(self) -> int:
        return self.db.scalar(select(func.count()).select_from(effects))

    def claimed(self, consumer: str = "tests") -> set[str]:
        with self.db.engine.connect() as conn:
            return set(conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == consumer)).scalars())


def test_a_mixed_batch_gives_each_event_its_own_outcome_in_one_transaction() -> None:
    service = Service()
    seen = event()
    service.on_batch([seen])
    good = [event(unit) for unit in ("THO", "HN", "CTVN") for _ in range(16)][:47]
    later, bad = event("HN", "later"), event("THO", "poison")
    batch = [*good[:20], later, seen, *good[20:], bad]
    before = service.db.transactions

    outcomes = service.on_batch(batch)

    assert service.db.transactions == before + 1
    assert outcomes[20] == retry("not yet known") and outcomes[21] == DUPLICATE and outcomes[-1].status == "poison"
    assert [o for i, o in enumerate(outcomes) if i not in (20, 21, len(batch) - 1)] == [DONE] * 47
    assert service.effects() == 48
    # The unsettled events' claims are released: their redelivery is handled, not a duplicate.
    assert service.claimed() == {seen["id"], *(e["id"] for e in good)}
    assert service.committed == [1, 48]


def test_a_redelivered_copy_in_the_same_batch_is_a_duplicate() -> None:
    service = Service()
    one = event()
    assert service.on_batch([one, dict(one), event()]) == [DONE, DUPLICATE, DONE]
    assert service.effects() == 2


def test_a_batch_that_raises_is_handled_one_event_per_transaction() -> None:
    service = Service()
    good = [event() for _ in range(5)]
    batch = [good[0], event(kind="raise"), *good[1:3], event(kind="poison-raise"), *good[3:]]

    outcomes = service.on_batch(batch)

    assert [o.status for o in outcomes] == ["done", "failed", "done", "done", "poison", "done", "done"]
    assert "RuntimeError" in outcomes[1].reason and isinstance(outcomes[1].error, RuntimeError)
    assert service.effects() == 5  # the failed batch's writes were rolled back, then each once
    assert service.claimed() == {e["id"] for e in good}
    assert service.batches == [7, 1, 1, 1, 1, 1, 1, 1]


def test_steps_after_commit_run_only_when_the_batch_did_work() -> None:
    service = Service()
    one = event()
    service.on_batch([one])
    service.on_batch([one])
    service.on_batch([event(kind="later")])
    assert service.committed == [1]


def test_a_per_event_handler_is_a_batch_of_its_own_outcomes() -> None:
    service = Service()
    one, later = event(), event(kind="later")
    assert service.on_each([one, later, dict(one)]) == [DONE, retry("not yet known"), DUPLICATE]
    assert service.on_each(later) == [retry("not yet known")]  # one event, as nameko hands it alone
    assert service.claimed("tests-each") == {one["id"]}


def test_the_entrypoint_keeps_the_signature_nameko_checks() -> None:
    import inspect

    assert list(inspect.signature(Service.on_batch).parameters) == ["self", "events"]
    assert Service.on_batch.__name__ == "on_batch"
