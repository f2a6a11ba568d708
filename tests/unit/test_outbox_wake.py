"""The relay is woken after a commit that staged events: declared in Db.transaction, not a session hook."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from chassis import outbox
from chassis.db import Db


class Relay:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def test_a_commit_that_staged_events_wakes_the_relays_and_a_rollback_or_a_plain_commit_does_not() -> None:
    relay = Relay()
    outbox.listen(relay)
    db = Db(sessionmaker(create_engine("sqlite://")))
    try:
        with db.transaction() as session:
            session.info[outbox.WRITTEN] = True
        assert relay.woken == 1
        with pytest.raises(RuntimeError), db.transaction() as session:
            session.info[outbox.WRITTEN] = True
            raise RuntimeError("rolled back: nothing to publish")
        with db.transaction():
            pass
        assert relay.woken == 1
    finally:
        outbox.forget(relay)
