"""Notify's set-based batch on plain data, no broker: the rows of one-by-one handling, an outcome each.

Each test runs on SQLite (make run's local mode) and on a throwaway PostgreSQL database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from chassis.consuming import DONE, DUPLICATE, Outcome, retry
from chassis.db import make_engine
from chassis.tables import inbox
from notify import commands, rendering
from notify.models import Activity, Contact, Delivery, Initiative, Message, Reminder, Subscription
from notify.service import NotifyService
from tests import event_factories as ev
from tests.conftest import NOTIFY_TABLES, migrate

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
UNIT, OTHER = "HN-KL-C002", "THO-KKT-C001"
TABLES = (Initiative, Message, Delivery, Reminder, Activity)


class Db:
    """The notify database, as the service's `db` dependency offers it (`transaction()`)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine)
        self.statements = 0
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.statements += 1

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.factory() as session, session.begin():
            yield session

    def empty(self) -> None:
        """Nothing but the contacts and webhook subscriptions."""
        with self.transaction() as session:
            for name in NOTIFY_TABLES:
                session.execute(text(f"DELETE FROM {name}"))
            session.execute(insert(Contact.__table__), CONTACTS)
            session.execute(insert(Subscription.__table__), SUBSCRIPTIONS)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row notify wrote but the random ids, sorted: comparable between two runs."""
        with self.engine.connect() as conn:
            found = {}
            for model in TABLES:
                table = model.__table__
                columns = [c for c in table.c if c.name != "id"]
                found[table.name] = sorted(tuple(map(repr, r)) for r in conn.execute(select(*columns)))
            return found

    def scalars(self, statement: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(statement).scalars())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notify.db'}"
        migrate(url, "notify")
    else:
        url = request.getfixturevalue("notify_db_url")
    database = Db(url)
    database.empty()
    yield database
    database.engine.dispose()


def contact(recipient: str, channels: list[str], language: str = "vi", **addresses: str) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "email": addresses.get("email"),
        "phone": addresses.get("phone"),
        "zalo_user_id": addresses.get("zalo"),
        "language": language,
        "channels": channels,
        "digest": True,
        "updated_by": "tests",
        "updated_at": NOW,
    }


CONTACTS = [
    contact("member:dv-a", ["email"], "en", email="a@congdoan-test.vn"),
    contact("member:dv-b", ["sms", "zalo"], phone="+84900000001", zalo="8400000000000001"),
    contact("member:dv-c", []),
    contact("member:ht-1", ["email", "sms"], email="ht1@congdoan-test.vn"),  # sms chosen, no phone given
    contact(f"reviewer@{UNIT}", ["email"], email="totham@congdoan-test.vn"),
    contact("unit_admin@HN", ["email"], "en", email="admin.hn@congdoan-test.vn"),
]


def subscription(event_types: list[str], units: list[str], active: bool = True) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "url": "https://he-thong-khac.congdoan-test.vn/hook",
        "secret": "s" * 20,
        "event_types": event_types,
        "units": units,
        "active": active,
        "created_by": "tests",
        "created_at": NOW,
    }


SUBSCRIPTIONS = [
    subscription(["initiative.submitted", "review.started", "initiative.rejected"], ["HN"]),
    subscription(["initiative.submitted", "initiative.withdrawn"], ["*"]),
    subscription(["initiative.submitted"], ["*"], active=False),
]


def submitted(unit: str = UNIT, **changes: Any) -> dict[str, Any]:
    return ev.submitted(
        unit,
        authors=[{"member_id": "dv-a", "share_percent": 60.0}, {"member_id": "dv-b", "share_percent": 40.0}],
        submitted_by={"member_id": "ht-1", "role": "support_team"},
        **changes,
    )


def story() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Events handled before, then a batch naming the same initiatives, in every order that matters."""
    s, other, earlier = submitted(title="Giảm hao hụt vật tư"), ev.submitted(OTHER), submitted()
    before = [earlier, ev.review_started(earlier)]
    revised = {"initiative_id": s["data"]["initiative_id"], "authors": s["data"]["authors"]}
    second = ev.submitted(
        UNIT, revision=2, title="Giảm hao hụt vật tư (sửa)", **revised, submitted_by=s["data"]["submitted_by"]
    )
    stale = ev.submitted(UNIT, revision=1, title="Bản nộp cũ", **revised)  # revision 1 again: changes nothing
    batch = [
        ev.review_started(s),  # before its submission: not yet known
        s,
        ev.review_started(s),  # known from the submission just before it in the batch
        ev.returned(s, reason="Thiếu bảng tính hiệu quả"),  # closes the reminder opened just before
        second,
        stale,
        ev.review_started(s, level="top"),
        ev.nominated(s, "grassroots", "top", "exemplary"),
        ev.recognized(s),
        ev.deadline_missed(s, level="top", escalate_to="HN"),
        other,
        ev.rejected(other, reason="Trùng với giải pháp đã áp dụng"),  # no reminder: closes nothing
        ev.withdrawn(other),
        ev.rejected(earlier),  # closes a reminder of an earlier batch
        ev.award_granted(UNIT, "dv-a", initiative_id=s["data"]["initiative_id"]),
        ev.award_granted("HN-KL", kind="certificate_of_merit", amount_vnd=None),
        ev.remuneration_due(s),
    ]
    return before, batch


def handle(db: Db, events: list[dict[str, Any]]) -> list[Outcome]:
    with db.transaction() as session:
        return commands.handle_batch(session, events, NOW)


def test_a_batch_writes_the_rows_of_its_events_handled_one_by_one(db: Db) -> None:
    before, batch = story()
    handle(db, before)
    one_by_one = [o for e in batch for o in handle(db, [e])]
    expected = db.rows()
    db.empty()

    handle(db, before)
    outcomes = handle(db, batch)

    assert outcomes == one_by_one
    assert outcomes[0] == retry(f"initiative {batch[0]['data']['initiative_id']} not yet known")
    assert outcomes[1:] == [DONE] * (len(batch) - 1)
    assert db.rows() == expected
    # What that is: the newest revision kept, a reminder per level (closed by a decision), a message
    # per recipient and a delivery per channel with an address, the webhooks subscribed to.
    s = batch[1]["data"]["initiative_id"]
    assert db.scalars(select(Initiative.title).where(Initiative.initiative_id == s)) == ["Giảm hao hụt vật tư (sửa)"]
    reminders = db.scalars(select(Reminder.closed).where(Reminder.initiative_id == s).order_by(Reminder.level))
    assert reminders == [True, False]  # grassroots: returned; top: still open
    received = db.scalars(select(Message.recipient).where(Message.event_id == batch[1]["id"]))
    assert sorted(received) == ["member:dv-a", "member:dv-b", "member:ht-1", f"reviewer@{UNIT}"]
    channels = select(Delivery.recipient, Delivery.channel).where(Delivery.event_id == batch[1]["id"])
    with db.engine.connect() as conn:
        assert sorted(map(tuple, conn.execute(channels))) == [
            ("member:dv-a", "email"),
            ("member:dv-b", "sms"),
            ("member:dv-b", "zalo"),
            ("member:ht-1", "email"),
            (f"reviewer@{UNIT}", "email"),
            *sorted((f"webhook:{sub['id']}", "webhook") for sub in SUBSCRIPTIONS[:2]),
        ]
    english = db.scalars(select(Message.subject).where(Message.recipient == "member:dv-a"))
    assert "Initiative received: Giảm hao hụt vật tư" in english


def test_a_batch_is_a_few_statements_however_many_events_it_holds(db: Db) -> None:
    def statements(n: int) -> int:
        events = [submitted() for _ in range(n)]
        started = db.statements
        assert handle(db, events) == [DONE] * n
        return db.statements - started

    assert statements(100) == statements(5) <= 8


class Service:
    """What the consumer entrypoint uses of the service: its `db`."""

    def __init__(self, db: Db) -> None:
        self.db = db


def test_a_mixed_batch_gives_each_event_its_outcome_and_only_the_done_ones_write(db: Db) -> None:
    service = Service(db)
    seen = submitted()
    assert NotifyService.on_submitted(service, [seen]) == [DONE]
    good = [submitted(unit) for unit in (UNIT, OTHER, "HN-KCN-C001") for _ in range(16)][:47]
    unknown = ev.returned(submitted())  # its submission has not arrived
    bad = ev.review_started(seen, decision_due_at="not a date")
    batch = [*good[:20], unknown, dict(seen), *good[20:40], bad, *good[40:]]

    outcomes = NotifyService.on_submitted(service, batch)

    assert outcomes[20] == retry(f"initiative {unknown['data']['initiative_id']} not yet known")
    assert outcomes[21] == DUPLICATE
    assert outcomes[42].status == "poison" and "ValueError" in outcomes[42].reason
    assert [o for i, o in enumerate(outcomes) if i not in (20, 21, 42)] == [DONE] * 47
    written = set(db.scalars(select(Message.event_id)))
    assert written == {e["id"] for e in [seen, *good]}
    assert set(db.scalars(select(Delivery.event_id))) == written
    assert db.scalars(select(Reminder.initiative_id)) == []
    assert db.scalars(select(Activity.count).where(Activity.unit == UNIT, Activity.kind == "submitted")) == [17]
    # The unsettled events' claims are released: their redelivery is handled, not taken for a duplicate.
    assert set(db.scalars(select(inbox.c.event_id))) == written
    assert NotifyService.on_submitted(service, [unknown]) == [outcomes[20]]


def test_an_initiatives_events_in_one_batch_see_each_other(db: Db) -> None:
    s = submitted()
    started, returned = ev.review_started(s), ev.returned(s)

    assert handle(db, [started, s, returned]) == [
        retry(f"initiative {s['data']['initiative_id']} not yet known"),
        DONE,
        DONE,
    ]
    assert handle(db, [started]) == [DONE]  # redelivered after its submission

    categories = db.scalars(select(Message.category).where(Message.recipient == "member:dv-b"))
    assert sorted(categories) == ["accepted", "received", "returned"]
    # The reminder review.started opened after the return is open: the one-by-one order.
    assert db.scalars(select(Reminder.closed)) == [False]


def test_an_event_no_template_renders_is_poison_and_later_events_do_not_see_it(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = rendering.render

    def fussy(category: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
        if context["title"] == "Không hiển thị được":
            raise ValueError("a template cannot render this")
        return render(category, language, context)

    monkeypatch.setattr(rendering, "render", fussy)
    bad, good = submitted(title="Không hiển thị được"), submitted()
    batch = [good, bad, ev.review_started(bad), ev.review_started(good)]

    outcomes = handle(db, batch)

    assert outcomes[0] == DONE and outcomes[3] == DONE
    assert outcomes[1].status == "poison"
    assert outcomes[2] == retry(f"initiative {bad['data']['initiative_id']} not yet known")
    assert db.scalars(select(Initiative.initiative_id)) == [good["data"]["initiative_id"]]
    assert set(db.scalars(select(Message.event_id))) == {good["id"], batch[3]["id"]}


def test_templates_are_compiled_once() -> None:
    context = {"title": "T", "initiative_id": "x", "unit": UNIT}
    rendering.render("received", "vi", context)
    hits = rendering._template.cache_info().hits
    assert rendering.render("received", "vi", context) == rendering.render("received", "fr", context)
    assert rendering._template.cache_info().hits == hits + 2
