"""A review process killed with SIGKILL mid-backlog loses nothing and doubles nothing."""

from __future__ import annotations

import uuid

from tests.integration.conftest import count, wait_for
from tests.integration.killing import finish, kill_midway, publish_all, queue_exists, start
from tests.integration.test_review_events import submitted_event

EVENTS = 400


def test_killed_mid_backlog_every_event_has_exactly_one_effect(review_db_url, rabbit_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    amqp_uri, log = rabbit_config["AMQP_URI"], tmp_path / "review-hn.log"
    # Small batches: a whole batch of 200 could handle the backlog before the kill could land.
    first = start(
        "review", "review.service:ReviewService", review_db_url, amqp_uri, log, UNIT="HN", CONSUMER_BATCH_SIZE="20"
    )
    wait_for(lambda: queue_exists(rabbit_config["vhost"], "review-hn.initiative.submitted"), timeout=30)
    events = [submitted_event(str(uuid.uuid4())) for _ in range(EVENTS)]
    # The same backlog again in part: at-least-once delivery upstream must not double anything here.
    publish_all(amqp_uri, events + events[:50], "submission.events")
    kill_midway(first, review_db_url, 60, EVENTS)
    finish(
        start("review", "review.service:ReviewService", review_db_url, amqp_uri, log, UNIT="HN"), review_db_url, EVENTS
    )
    for table in ("cases", "level_reviews", "audit_trail"):
        assert count(review_db_url, table) == EVENTS, table
    assert count(review_db_url, "(SELECT DISTINCT initiative_id FROM similarity_bands) AS indexed") == EVENTS
