"""The batch contract of event consumers: a batch in, one outcome per event out.

A consumer declares `handle_batch(self, session, events) -> list[Outcome]` with `@handles_batch`,
or a per-event function with `@handles_each` (the default for handlers that need nothing more).
The chassis claims the events in the inbox, runs the handler in one transaction, commits, then
runs the steps the declaration names in `after_commit`. The entrypoint (`chassis.handler`) acks,
requeues or dead-letters each message by its outcome and counts it under one `service` label.

An outcome other than done means the handler wrote nothing for that event: its inbox claim is
released in the same transaction, so its redelivery is handled, not taken for a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from chassis.errors import PoisonMessage
from chassis.inbox import claim_many, serialize
from chassis.tables import inbox

log = logging.getLogger(__name__)

Status = Literal["done", "duplicate", "retry", "failed", "poison"]


@dataclass(frozen=True)
class Outcome:
    """What became of one event: done, duplicate (seen before), retry (not yet), failed (it raised;
    retried with a backoff) or poison (dead-lettered)."""

    status: Status
    reason: str = ""
    error: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def settled(self) -> bool:
        """Done or duplicate: the message is acked."""
        return self.status in ("done", "duplicate")


DONE = Outcome("done")
DUPLICATE = Outcome("duplicate")


def retry(reason: str) -> Outcome:
    """Not yet (data another queue brings has not arrived): requeued with a backoff."""
    return Outcome("retry", reason)


def poison(reason: str) -> Outcome:
    """Can never succeed: dead-lettered at once, for a person to look at."""
    return Outcome("poison", reason)


def failed(exc: BaseException) -> Outcome:
    """An exception raised while handling one event alone, as its outcome."""
    if isinstance(exc, PoisonMessage):
        return poison(str(exc))
    return Outcome("failed", f"{type(exc).__name__}: {exc}"[:300], exc)


Event = dict[str, Any]
BatchHandler = Callable[[Any, Session, list[Event]], Sequence[Outcome]]
EachHandler = Callable[[Any, Session, Event], Outcome | None]
AfterCommit = Callable[[Any], None]


@dataclass(frozen=True)
class Consumer:
    """One consumer's declaration: its inbox name, its locking, and its steps after commit."""

    name: str
    handle_batch: BatchHandler
    serialized: bool = False
    after_commit: tuple[AfterCommit, ...] = ()
    db_attr: str = "db"

    def __call__(self, service: Any, events: Event | list[Event]) -> list[Outcome]:
        """The nameko entrypoint's call: a batch (or one event) in, an outcome per event out."""
        batch = events if isinstance(events, list) else [events]
        worker_metrics = getattr(service, "metrics", None)
        if worker_metrics is not None and batch:  # label the entrypoint's metrics with the unit
            worker_metrics.unit = str(batch[0].get("unit", ""))
        if len(batch) > 1:
            try:
                return self._in_one_transaction(service, batch)
            except Exception:  # noqa: BLE001 - which one failed is found by handling each alone
                log.info("%s: a batch of %d failed; handling each alone", self.name, len(batch))
        return [self._alone(service, event) for event in batch]

    def _alone(self, service: Any, event: Event) -> Outcome:
        try:
            return self._in_one_transaction(service, [event])[0]
        except Exception as exc:  # noqa: BLE001 - the event's own outcome, settled by the entrypoint
            log.warning("%s: %s %s failed: %s", self.name, event.get("type"), event.get("id"), failed(exc).reason)
            return failed(exc)

    def _in_one_transaction(self, service: Any, batch: list[Event]) -> list[Outcome]:
        # By unit (stable, so one initiative's events keep their order): concurrent batches then
        # lock per-unit rows in one order and cannot deadlock.
        order = sorted(range(len(batch)), key=lambda i: str(batch[i].get("unit", "")))
        ordered = [batch[i] for i in order]
        outcomes: list[Outcome] = [DUPLICATE] * len(ordered)
        with getattr(service, self.db_attr).transaction() as session:
            if self.serialized:  # each of the batch's units once, in unit order
                for unit in dict.fromkeys(str(e.get("unit", "")) for e in ordered):
                    serialize(session, self.name, unit)
            fresh_ids = claim_many(session, self.name, ordered)
            fresh: list[int] = []
            for i, event in enumerate(ordered):
                if event["id"] in fresh_ids:  # a redelivered copy in the same batch is a duplicate
                    fresh_ids.discard(event["id"])
                    fresh.append(i)
            if fresh:
                handled = list(self.handle_batch(service, session, [ordered[i] for i in fresh]))
                if len(handled) != len(fresh):
                    raise RuntimeError(f"{self.name}: {len(handled)} outcomes for {len(fresh)} events")
                for i, outcome in zip(fresh, handled, strict=True):
                    outcomes[i] = outcome
                unsettled = [ordered[i]["id"] for i, o in zip(fresh, handled, strict=True) if not o.settled]
                if unsettled:  # they wrote nothing: their redelivery must be handled, not skipped
                    session.execute(delete(inbox).where(inbox.c.consumer == self.name, inbox.c.event_id.in_(unsettled)))
        if any(o.status == "done" for o in outcomes):
            for step in self.after_commit:
                step(service)
        back = [DUPLICATE] * len(batch)
        for position, outcome in zip(order, outcomes, strict=True):
            back[position] = outcome
        return back


def _entrypoint(consumer: Consumer, like: Callable[..., Any]) -> Callable[[Any, Any], list[Outcome]]:
    def entrypoint(self: Any, events: Any) -> list[Outcome]:
        return consumer(self, events)

    # Not functools.wraps: nameko checks a call against the signature, which must stay (self, events).
    entrypoint.__name__, entrypoint.__qualname__, entrypoint.__doc__ = like.__name__, like.__qualname__, like.__doc__
    entrypoint.consumer = consumer  # type: ignore[attr-defined]
    return entrypoint


def handles_batch(
    name: str, *, serialized: bool = False, after_commit: Sequence[AfterCommit] = (), db_attr: str = "db"
) -> Callable[[BatchHandler], Callable[[Any, Any], list[Outcome]]]:
    """Declares `handle_batch(self, session, events) -> outcomes`, run once per batch of fresh events.

    `serialized`: the consumer's transactions take turns per unit (`chassis.inbox.serialize`).
    `after_commit`: steps `step(self)` run once the batch's transaction committed with work done.
    """

    def declare(handler: BatchHandler) -> Callable[[Any, Any], list[Outcome]]:
        consumer = Consumer(name, handler, serialized, tuple(after_commit), db_attr)
        return _entrypoint(consumer, handler)

    return declare


def handles_each(
    name: str, *, serialized: bool = False, after_commit: Sequence[AfterCommit] = (), db_attr: str = "db"
) -> Callable[[EachHandler], Callable[[Any, Any], list[Outcome]]]:
    """Declares a per-event `handle(self, session, event) -> Outcome | None` (None is done).

    The batch's events share one transaction; an exception sends the batch back to be handled
    one event per transaction, where it is that event's outcome alone.
    """

    def declare(handler: EachHandler) -> Callable[[Any, Any], list[Outcome]]:
        def each(service: Any, session: Session, events: list[Event]) -> list[Outcome]:
            return [handler(service, session, event) or DONE for event in events]

        consumer = Consumer(name, each, serialized, tuple(after_commit), db_attr)
        return _entrypoint(consumer, handler)

    return declare
