"""A review process killed with SIGKILL mid-backlog loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from chassis.envelope import dumps
from chassis.relay import ConfirmingPublisher
from tests.conftest import free_port
from tests.integration.conftest import count, wait_for
from tests.integration.test_review_events import submitted_event

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 400


def start_review(db_url: str, amqp_uri: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "UNIT": "HN",
        "REVIEW_DATABASE_URL": db_url,
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    command = [sys.executable, "-m", "chassis.run", "review", "review.service:ReviewService"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("a"))


def test_killed_mid_backlog_every_event_has_exactly_one_effect(review_db_url, rabbit_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    amqp_uri = rabbit_config["AMQP_URI"]
    log = tmp_path / "review-hn.log"
    first = start_review(review_db_url, amqp_uri, log)
    try:
        wait_for(lambda: count(review_db_url, "inbox") == 0 and _queue_exists(rabbit_config), timeout=30)
        publisher = ConfirmingPublisher(amqp_uri)
        events = [submitted_event(str(uuid.uuid4())) for _ in range(EVENTS)]
        publisher.publish_batch(
            [("submission.events", "initiative.submitted.HN", dumps(e), e["id"], e["type"]) for e in events]
        )
        # The same backlog again: at-least-once delivery upstream must not double anything here.
        publisher.publish_batch(
            [("submission.events", "initiative.submitted.HN", dumps(e), e["id"], e["type"]) for e in events[:50]]
        )
        publisher.close()
        wait_for(lambda: count(review_db_url, "inbox") >= 60, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)  # in the middle of handling: no clean shutdown, no acks
        first.wait(timeout=10)
    assert count(review_db_url, "inbox") < EVENTS, "the kill came too late to prove anything"

    second = start_review(review_db_url, amqp_uri, log)
    try:
        wait_for(lambda: count(review_db_url, "inbox") == EVENTS, timeout=120)
    finally:
        second.terminate()
        second.wait(timeout=30)
    for table in ("cases", "level_reviews", "audit_trail"):
        assert count(review_db_url, table) == EVENTS, table
    bands = count(review_db_url, "(SELECT DISTINCT initiative_id FROM similarity_bands) AS indexed")
    assert bands == EVENTS


def _queue_exists(rabbit_config: dict) -> bool:
    import requests

    vhost = rabbit_config["vhost"]
    answer = requests.get(
        f"http://127.0.0.1:15672/api/queues/{vhost}/review-hn.initiative.submitted", auth=("guest", "guest"), timeout=5
    )
    return answer.status_code == 200
