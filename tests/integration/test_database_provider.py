"""The database provider under eventlet: a slow query in one worker blocks nobody else."""

from __future__ import annotations

import time

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from chassis.db import Db, make_engine


def test_slow_query_does_not_freeze_other_greenthreads(db_url) -> None:  # type: ignore[no-untyped-def]
    db = Db(sessionmaker(bind=make_engine(db_url)))
    finished: list[str] = []

    def slow() -> None:
        with db.transaction() as session:
            session.execute(text("SELECT pg_sleep(2)"))
        finished.append("slow")

    def quick(i: int) -> None:
        with db.transaction() as session:
            session.execute(text("SELECT 1"))
        finished.append(f"quick-{i}")

    slow_thread = eventlet.spawn(slow)
    eventlet.sleep(0.2)  # the slow query is now waiting on the server
    quick_threads = [eventlet.spawn(quick, i) for i in range(5)]
    for t in quick_threads:
        t.wait()
    # Had psycopg2 blocked the hub, no quick query could finish before the slow one.
    assert "slow" not in finished and len(finished) == 5
    slow_thread.wait()
    assert finished[-1] == "slow"
    db.engine.dispose()


def test_a_transaction_rolls_back_on_error(db_url) -> None:  # type: ignore[no-untyped-def]
    db = Db(sessionmaker(bind=make_engine(db_url)))
    marker = f"rollback-{time.time_ns()}"
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.execute(text("INSERT INTO clusters (code, name) VALUES (:c, :n)"), {"c": marker[-20:], "n": marker})
        raise RuntimeError("fail after writing")
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM clusters WHERE name = :n"), {"n": marker}).scalar_one() == 0
    db.engine.dispose()


def test_a_read_sees_one_snapshot_and_writes_nothing(db_url) -> None:  # type: ignore[no-untyped-def]
    """A read's second query must not see a commit made after its first (an initiative loaded
    before a consumer's commit and its history after it showed a status behind its timeline)."""
    db = Db(sessionmaker(bind=make_engine(db_url)))
    marker = f"snap-{time.time_ns()}"
    count = text("SELECT count(*) FROM clusters WHERE name = :n")
    with db.read() as session:
        assert session.execute(count, {"n": marker}).scalar_one() == 0
        with db.transaction() as other:
            other.execute(text("INSERT INTO clusters (code, name) VALUES (:c, :n)"), {"c": marker[-20:], "n": marker})
        assert session.execute(count, {"n": marker}).scalar_one() == 0
        with pytest.raises(Exception, match="read-only transaction"):
            session.execute(text("DELETE FROM clusters WHERE name = :n"), {"n": marker})
    with db.read() as session:
        assert session.execute(count, {"n": marker}).scalar_one() == 1
    # The pooled connection is back to read committed and writable for the next transaction.
    with db.transaction() as session:
        session.execute(text("DELETE FROM clusters WHERE name = :n"), {"n": marker})
        level = session.execute(text("SHOW transaction_isolation")).scalar_one()
    assert level == "read committed"
    db.engine.dispose()
