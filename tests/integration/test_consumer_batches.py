"""Batched consuming: many events in one transaction, yet each settled by its own outcome."""

from __future__ import annotations

import collections
import uuid
from typing import Any

from nameko.dependency_providers import Config
from sqlalchemy import create_engine, text

from chassis.consuming import handles_each
from chassis.db import Database, normalize_url
from chassis.dead_letters import depth
from chassis.envelope import dumps
from chassis.errors import PoisonMessage
from chassis.handler import unit_event_handler
from chassis.relay import ConfirmingPublisher
from tests.integration.conftest import count, wait_for
from tests.integration.test_consumers import returned_event

BROKEN, POISON = "hỏng mãi", "nội dung không thể có"


class BatchService:
    name = "batched"
    config = Config()
    db = Database()
    sessions: collections.Counter = collections.Counter()

    @unit_event_handler("review", "initiative.returned")
    @handles_each("batched")
    def handle(self, session: Any, event: dict) -> None:
        BatchService.sessions[id(session)] += 1
        if event["data"]["reason"] == BROKEN:
            raise RuntimeError("fails every time")
        if event["data"]["reason"] == POISON:
            raise PoisonMessage("no retry can fix this")
        # An effect in the database: rolled back with its batch when another event fails.
        session.execute(
            text("INSERT INTO effects (event_id) VALUES (:id)"),
            {"id": event["id"]},
        )


def test_a_batch_with_a_failing_and_a_poison_event_settles_each_alone(  # type: ignore[no-untyped-def]
    container_factory, make_config, db_url, rabbit_config
) -> None:
    engine = create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (event_id VARCHAR(64))"))  # no key: a double would show
    engine.dispose()
    BatchService.sessions.clear()
    config = make_config(db_url, DELIVERY_LIMIT=2, UNITS="HN", CONSUMER_BATCH_SIZE=50, CONSUMER_BATCH_WAIT_MS=200)
    container_factory(BatchService, config).start()

    good = [returned_event(str(uuid.uuid4())) for _ in range(40)]
    broken, poison = returned_event(str(uuid.uuid4()), BROKEN), returned_event(str(uuid.uuid4()), POISON)
    events = [*good[:20], broken, *good[20:], poison, *good[:5]]  # the last five are redeliveries
    publisher = ConfirmingPublisher(rabbit_config["AMQP_URI"])
    try:
        publisher.publish_batch(
            [("review.events", "initiative.returned.HN", dumps(e), str(uuid.uuid4()), e["type"]) for e in events]
        )
    finally:
        publisher.close()

    dlq = "batched.initiative.returned.dlq"
    wait_for(lambda: depth(rabbit_config["AMQP_URI"], dlq) == 2, timeout=60)
    wait_for(lambda: count(db_url, "effects") == len(good), timeout=30)
    assert count(db_url, "(SELECT event_id FROM effects GROUP BY event_id HAVING count(*) > 1) AS doubled") == 0
    assert count(db_url, "inbox", "WHERE consumer = 'batched'") == len(good)
    assert max(BatchService.sessions.values()) > 1, "the events were never handled together"
