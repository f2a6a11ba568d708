"""Legal clocks with an injected clock: flagged when near, announced once when missed, escalated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests
from nameko.testing.services import entrypoint_hook
from sqlalchemy.orm import Session

from chassis.auth import Principal
from chassis.db import make_engine
from chassis.envelope import dumps
from review import commands, queries
from review.service import ReviewService
from tests.conftest import token
from tests.factories import UNIT
from tests.integration.conftest import count, publish, wait_for
from tests.integration.test_review_events import submitted_event

REVIEWER = Principal("rv-cs", "reviewer", UNIT)


def sweep(db_url: str, now: datetime) -> list[tuple[str, str]]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            return [(r.level, r.clock) for r in commands.sweep_deadlines(session, now)]
    finally:
        engine.dispose()


def queue(db_url: str, now: datetime, **args: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            page = queries.work_queue(session, REVIEWER, args, now)
            return [i["initiative_id"] for i in page["items"]]
    finally:
        engine.dispose()


def test_missed_deadlines_are_announced_once_and_escalated(review_api, review_db_url, tap, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    missed = tap(["review.deadline_missed.*"], exchange="review.events")
    initiative_id = str(uuid.uuid4())
    publish(
        rabbit_config["AMQP_URI"], "submission.events", "initiative.submitted.HN", dumps(submitted_event(initiative_id))
    )
    wait_for(lambda: count(review_db_url, "level_reviews") == 1)
    received = datetime.now(UTC)

    # Intake: one month. Approaching within a week of it, overdue after it.
    assert queue(review_db_url, received, deadline="ok") == [initiative_id]
    assert queue(review_db_url, received + timedelta(days=25), deadline="approaching") == [initiative_id]
    assert queue(review_db_url, received + timedelta(days=25), deadline="overdue") == []
    assert sweep(review_db_url, received + timedelta(days=29)) == []
    late = received + timedelta(days=31)
    assert queue(review_db_url, late, deadline="overdue") == [initiative_id]
    assert sweep(review_db_url, late) == [("grassroots", "intake")]
    assert sweep(review_db_url, late + timedelta(days=1)) == []  # once, however often it sweeps

    _, event = missed.get()
    assert event["data"]["clock"] == "intake" and event["data"]["level_unit"] == UNIT
    assert event["data"]["escalate_to"] == {"role": "unit_admin", "unit": UNIT}
    missed.assert_quiet()

    # Accepting (late) starts the decision clock: three calendar months.
    reviewer = token("reviewer", UNIT, "rv-cs")
    accepted = requests.post(
        f"{review_api}/api/v1/reviews/{initiative_id}/accept", json={}, headers=reviewer, timeout=5
    )
    assert accepted.status_code == 200, accepted.text
    step = accepted.json()["steps"][0]
    assert step["clock"] == "decision" and step["missed_at"] is None
    due = datetime.fromisoformat(step["due_at"])
    assert due - datetime.fromisoformat(step["accepted_at"]) >= timedelta(days=89)
    assert sweep(review_db_url, due - timedelta(hours=1)) == []
    assert sweep(review_db_url, due + timedelta(minutes=1)) == [("grassroots", "decision")]
    _, event = missed.get()
    assert event["data"]["clock"] == "decision"
    audit = [
        a["action"]
        for a in requests.get(f"{review_api}/api/v1/reviews/{initiative_id}", headers=reviewer, timeout=5).json()[
            "audit"
        ]
    ]
    assert audit == ["received", "deadline_missed", "accept", "deadline_missed"]


def test_the_sweep_entrypoint_publishes_the_backlog_gauge(
    container_factory, make_config, review_db_url, rabbit_config
) -> None:  # type: ignore[no-untyped-def]
    config = make_config(review_db_url, "review", UNITS="*")
    container = container_factory(ReviewService, config)
    container.start()
    for _ in range(3):
        publish(
            rabbit_config["AMQP_URI"],
            "submission.events",
            "initiative.submitted.HN",
            dumps(submitted_event(str(uuid.uuid4()))),
        )
    wait_for(lambda: count(review_db_url, "level_reviews") == 3)
    with entrypoint_hook(container, "sweep_deadlines") as sweep_now:
        sweep_now()
    metrics = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/metrics", timeout=5).text
    line = 'review_open_items{deadline_state="ok",level="grassroots",service="review",unit="HN"} 3.0'
    assert line in metrics
