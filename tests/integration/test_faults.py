"""Broker and database outages: accepted submissions are never lost, nothing hangs."""

from __future__ import annotations

import time

import requests
from sqlalchemy import create_engine, text

from chassis.db import normalize_url
from chassis.envelope import dumps
from tests.conftest import token
from tests.factories import UNIT, initiative
from tests.integration.conftest import count, post, publish, wait_for
from tests.integration.faults import postgres_stopped, rabbitmq_stopped
from tests.integration.test_consumers import returned_event

MEMBER = token("member", UNIT, "dv-an")


def test_submissions_during_a_broker_outage_are_published_when_it_returns(api, tap, db_url) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.submitted.HN"], durable=True)
    before = post(f"{api}/api/v1/initiatives", initiative(title="Trước"), MEMBER).json()["id"]
    during = []
    with rabbitmq_stopped():
        for i in range(5):
            response = post(f"{api}/api/v1/initiatives", initiative(title=f"Trong lúc mất kết nối {i}"), MEMBER)
            assert response.status_code == 201, response.text  # the outbox holds the event
            during.append(response.json()["id"])
        ready = requests.get(f"{api}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["broker"] is False
        assert count(db_url, "outbox", "WHERE published_at IS NULL") >= 5
    after = post(f"{api}/api/v1/initiatives", initiative(title="Sau"), MEMBER).json()["id"]
    received = {event["subject"] for _, event in events.drain(7, timeout=60)}
    assert received == {before, *during, after}
    events.assert_quiet()
    wait_for(lambda: count(db_url, "outbox", "WHERE published_at IS NULL") == 0, timeout=30)


def test_database_outage_answers_503_quickly_and_recovers(api, db_url) -> None:  # type: ignore[no-untyped-def]
    assert post(f"{api}/api/v1/initiatives", initiative(), MEMBER).status_code == 201
    with postgres_stopped():
        started = time.monotonic()
        response = post(f"{api}/api/v1/initiatives", initiative(title="Khi CSDL dừng"), MEMBER)
        took = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["error"]["message_vi"]
        assert took < 10  # an answer, not a hang (requests would time out at 30 s)
        assert requests.get(f"{api}/readyz", timeout=10).json()["checks"]["database"] is False
    wait_for(
        lambda: post(f"{api}/api/v1/initiatives", initiative(title="Sau"), MEMBER).status_code == 201,
        timeout=30,
    )
    assert count(db_url, "initiatives") == 2  # the refused one left nothing behind


def test_cut_database_connections_are_replaced(api, db_url) -> None:  # type: ignore[no-untyped-def]
    assert post(f"{api}/api/v1/initiatives", initiative(), MEMBER).status_code == 201
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    assert cut >= 1
    for i in range(3):
        assert post(f"{api}/api/v1/initiatives", initiative(title=f"Sau khi cắt {i}"), MEMBER).status_code == 201


def test_an_event_arriving_during_a_database_outage_is_retried_not_lost(api, db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    ini = post(f"{api}/api/v1/initiatives", initiative(), MEMBER).json()
    with postgres_stopped():
        publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(returned_event(ini["id"])))
        time.sleep(2)  # the handler fails and backs off meanwhile
    url = f"{api}/api/v1/initiatives/{ini['id']}"
    wait_for(lambda: requests.get(url, headers=MEMBER, timeout=10).json().get("status") == "returned", timeout=60)
    assert count(db_url, "inbox") == 1
