"""The outbox relay: at-least-once publishing through crashes, once in effect downstream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from nameko.dependency_providers import Config
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from chassis.consuming import handles_each
from chassis.db import Database, make_engine, normalize_url
from chassis.handler import unit_event_handler
from chassis.tables import metadata as chassis_metadata
from submission.commands import submit
from tests.conftest import create_database, drop_database
from tests.factories import UPPER, initiative
from tests.integration.conftest import count, wait_for

ROOT = Path(__file__).resolve().parents[2]
effects_metadata = MetaData()
effects = Table("effects", effects_metadata, Column("event_id", String(64)), Column("initiative_id", String(36)))


class CountingConsumer:
    """Stands for any downstream service: one row of effect per event it processes."""

    name = "counter"
    config = Config()
    db = Database()

    @unit_event_handler("submission", "initiative.submitted")
    @handles_each("counter")
    def on_submitted(self, session: Session, event: dict) -> None:
        session.execute(insert(effects).values(event_id=event["id"], initiative_id=event["subject"]))


@pytest.fixture
def consumer_db() -> str:  # type: ignore[misc]
    name = f"sangkien_consumer_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    engine = create_engine(normalize_url(url))
    chassis_metadata.create_all(engine)
    effects_metadata.create_all(engine)
    engine.dispose()
    yield url
    drop_database(name)


def stage_submissions(db_url: str, n: int) -> None:
    """Commits n submissions (and their outbox rows) with no relay running."""
    from chassis.auth import Principal

    team = Principal("tht-1", "support_team", UPPER)
    factory = sessionmaker(bind=make_engine(db_url), expire_on_commit=False)
    for i in range(n):
        with factory.begin() as session:
            submit(session, team, initiative(title=f"Sáng kiến {i}"), None)


def run_relay(db_url: str, amqp_uri: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "SUBMISSION_DATABASE_URL": db_url, "AMQP_URI": amqp_uri, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "chassis.relay_main", "submission", "--once", *extra],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_relay_killed_after_publish_before_marking(
    container_factory, make_config, db_url, consumer_db, rabbit_config, tap
) -> None:  # type: ignore[no-untyped-def]
    amqp = rabbit_config["AMQP_URI"]
    container = container_factory(CountingConsumer, make_config(consumer_db, OUTBOX_RELAY="off"))
    container.start()
    raw = tap(["initiative.submitted.*"])
    stage_submissions(db_url, 40)
    assert count(db_url, "outbox", "WHERE published_at IS NULL") == 40

    killed = subprocess.run(
        [sys.executable, str(ROOT / "tests/integration/relay_killer.py"), normalize_url(db_url), amqp],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert count(db_url, "outbox", "WHERE published_at IS NULL") == 40  # nothing was marked

    restarted = run_relay(db_url, amqp)
    assert restarted.returncode == 0, restarted.stderr
    assert count(db_url, "outbox", "WHERE published_at IS NULL") == 0

    delivered = Counter(event["id"] for _, event in raw.drain(80))
    assert len(delivered) == 40 and set(delivered.values()) == {2}  # at-least-once on the wire
    wait_for(lambda: count(consumer_db, "inbox") == 40, timeout=30)
    engine = create_engine(normalize_url(consumer_db))
    with engine.connect() as conn:
        rows = conn.execute(select(effects.c.event_id)).scalars().all()
    engine.dispose()
    assert sorted(rows) == sorted(delivered) and len(rows) == 40  # exactly once in effect


def test_relay_killed_before_publishing_loses_nothing(db_url, rabbit_config, tap) -> None:  # type: ignore[no-untyped-def]
    raw = tap(["initiative.submitted.*"])
    stage_submissions(db_url, 10)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; import chassis.relay_main; time.sleep(60)"],
        env={**os.environ, "SUBMISSION_DATABASE_URL": db_url},
        cwd=ROOT,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_relay(db_url, rabbit_config["AMQP_URI"]).returncode == 0
    assert len({event["id"] for _, event in raw.drain(10)}) == 10
    raw.assert_quiet()


def test_concurrent_relays_publish_each_row_once(db_url, rabbit_config, tap) -> None:  # type: ignore[no-untyped-def]
    raw = tap(["initiative.submitted.*"])
    stage_submissions(db_url, 300)
    environment = {
        **os.environ,
        "SUBMISSION_DATABASE_URL": db_url,
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "OUTBOX_BATCH_SIZE": "20",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chassis.relay_main", "submission", "--once"], env=environment, cwd=ROOT
        )
        for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    ids = [event["id"] for _, event in raw.drain(300)]
    assert len(set(ids)) == 300
    raw.assert_quiet()
    assert count(db_url, "outbox", "WHERE published_at IS NULL") == 0


def test_published_rows_are_pruned_after_retention_pending_rows_never(db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from chassis.relay import OutboxRelay
    from chassis.tables import outbox

    stage_submissions(db_url, 6)
    engine = make_engine(db_url)
    relay = OutboxRelay(engine, rabbit_config["AMQP_URI"], "submission", batch_size=3, retention=timedelta(days=7))
    assert relay.publish_pending() == 3  # one batch: three published, three still pending
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.published_at.is_not(None))
            .values(published_at=datetime.now(UTC) - timedelta(days=8))
        )
    assert relay.prune() == 3
    assert count(db_url, "outbox") == 3 and relay.pending_count() == 3
    assert relay.prune() == 0
    relay.close()
    engine.dispose()


def test_a_commit_wakes_the_relay_without_waiting_for_its_poll(container_factory, make_config, db_url, tap) -> None:  # type: ignore[no-untyped-def]
    from submission.service import SubmissionService
    from tests.conftest import token
    from tests.factories import UNIT
    from tests.integration.conftest import post

    config = make_config(db_url, OUTBOX_POLL_SECONDS=600)  # a poll alone would take ten minutes
    container_factory(SubmissionService, config).start()
    events = tap(["initiative.submitted.HN"])
    api = f"http://{config['WEB_SERVER_ADDRESS']}"
    for i in range(3):
        assert (
            post(
                f"{api}/api/v1/initiatives", initiative(title=f"Đánh thức {i}"), token("member", UNIT, "dv-an")
            ).status_code
            == 201
        )
        events.get(timeout=15)
