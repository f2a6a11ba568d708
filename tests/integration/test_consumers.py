"""Consuming events: once in effect, retried on failure, dead-lettered, never lost."""

from __future__ import annotations

import json
import time
import uuid

import requests
from nameko.dependency_providers import Config

from chassis.consuming import handles_each
from chassis.db import Database
from chassis.envelope import dumps, new_event
from chassis.handler import unit_event_handler
from chassis.relay import amqp_connection
from tests.conftest import token
from tests.factories import UNIT, initiative
from tests.integration.conftest import count, post, publish, wait_for


def returned_event(initiative_id: str, reason: str = "Bổ sung số liệu hiệu quả") -> dict:
    data = {
        "initiative_id": initiative_id,
        "unit": UNIT,
        "top_unit": "HN",
        "level": "grassroots",
        "reason": reason,
        "returned_by": "reviewer-1",
        "returned_at": "2026-11-21T08:00:00Z",
    }
    return new_event("initiative.returned", data, source="/vgcl/review", subject=initiative_id, unit="HN")


def test_returned_then_resubmitted_and_a_redelivery_changes_nothing(api, tap, db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.resubmitted.HN"])
    member = token("member", UNIT, "dv-an")
    ini = post(f"{api}/api/v1/initiatives", initiative(), member).json()
    returned = returned_event(ini["id"])
    publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(returned))
    url = f"{api}/api/v1/initiatives/{ini['id']}"
    wait_for(lambda: requests.get(url, headers=member, timeout=5).json()["status"] == "returned")
    assert requests.get(url, headers=member, timeout=5).json()["return_reason"] == "Bổ sung số liệu hiệu quả"

    again = post(
        f"{url}/resubmit",
        {k: v for k, v in initiative(title="Bản sửa").items() if k not in ("unit", "programme")},
        member,
    )
    assert again.status_code == 200, again.text
    assert again.json()["revision"] == 2 and again.json()["status"] == "submitted"
    _, event = events.get()
    assert event["data"]["revision"] == 2 and event["data"]["title"] == "Bản sửa"

    # The broker delivers the old event again: the inbox skips it, the resubmission stands.
    publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(returned))
    wait_for(lambda: count(db_url, "inbox") == 1)
    time.sleep(1.0)
    assert requests.get(url, headers=member, timeout=5).json()["status"] == "submitted"
    assert count(db_url, "inbox") == 1
    assert post(f"{url}/resubmit", initiative(), member).status_code == 422  # unit/programme are not editable


def test_resubmit_only_when_returned(api) -> None:  # type: ignore[no-untyped-def]
    member = token("member", UNIT, "dv-an")
    ini = post(f"{api}/api/v1/initiatives", initiative(), member).json()
    body = {k: v for k, v in initiative().items() if k not in ("unit", "programme")}
    response = post(f"{api}/api/v1/initiatives/{ini['id']}/resubmit", body, member)
    assert response.status_code == 409 and response.json()["error"]["message_vi"]


class FailingService:
    """A consumer whose handler always fails: the message must end dead-lettered, not lost."""

    name = "failing"
    config = Config()
    db = Database()
    attempts: list[str] = []

    @unit_event_handler("review", "initiative.returned")
    def handle(self, event: dict) -> None:
        FailingService.attempts.append(event["id"])
        raise RuntimeError("the database said no")


def _dead_letters(amqp_uri: str, queue: str) -> list[dict]:
    conn = amqp_connection(amqp_uri)
    try:
        channel = conn.channel()
        out = []
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            try:
                body = json.loads(message.body)
            except ValueError:
                body = {"raw": message.body}
            out.append({"body": body, "headers": message.headers})
        return out
    finally:
        conn.close()


def test_failing_handler_is_retried_then_dead_lettered(container_factory, make_config, db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    FailingService.attempts = []
    container = container_factory(FailingService, make_config(db_url, DELIVERY_LIMIT=3, UNITS="HN"))
    container.start()
    event = returned_event(str(uuid.uuid4()))
    publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(event))
    wait_for(lambda: len(FailingService.attempts) >= 4, timeout=30)
    dead: list[dict] = []
    wait_for(
        lambda: bool(dead.extend(_dead_letters(rabbit_config["AMQP_URI"], "failing.initiative.returned.dlq")) or dead),
        timeout=30,
    )
    assert [d["body"]["id"] for d in dead] == [event["id"]]
    assert dead[0]["headers"]["x-death"][0]["reason"] == "delivery_limit"
    assert FailingService.attempts == [event["id"]] * len(FailingService.attempts)


def test_other_units_are_not_consumed_and_garbage_is_dead_lettered_at_once(
    container_factory, make_config, db_url, rabbit_config
) -> None:  # type: ignore[no-untyped-def]
    FailingService.attempts = []
    container = container_factory(FailingService, make_config(db_url, UNITS="HN"))
    container.start()
    publish(
        rabbit_config["AMQP_URI"], "review.events", "initiative.returned.THO", dumps(returned_event(str(uuid.uuid4())))
    )
    publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", b"{not json")
    impossible = returned_event(str(uuid.uuid4()))
    impossible["data"]["level"] = "galactic"
    publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(impossible))
    dead: list[dict] = []

    def two_dead() -> bool:
        dead.extend(_dead_letters(rabbit_config["AMQP_URI"], "failing.initiative.returned.dlq"))
        return len(dead) >= 2

    wait_for(two_dead, timeout=20)
    assert FailingService.attempts == []  # neither reached the handler; THO was never routed here
    assert {d["headers"]["x-death"][0]["reason"] for d in dead} == {"rejected"}


class FixableService:
    """Fails until the operator ships the fix; then handles each event once."""

    name = "fixable"
    config = Config()
    db = Database()
    broken = True
    handled: list[str] = []

    @unit_event_handler("review", "initiative.returned")
    @handles_each("fixable")
    def handle(self, session: object, event: dict) -> None:
        if FixableService.broken:
            raise RuntimeError("a bug, fixed in the next release")
        FixableService.handled.append(event["id"])


def test_dead_letters_are_counted_listed_and_replayed_after_the_fix(  # type: ignore[no-untyped-def]
    container_factory, make_config, db_url, rabbit_config
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    FixableService.broken, FixableService.handled = True, []
    config = make_config(db_url, DELIVERY_LIMIT=2, UNITS="HN", DEAD_LETTER_POLL_SECONDS=0.2)
    container_factory(FixableService, config).start()
    events = [returned_event(str(uuid.uuid4())) for _ in range(3)]
    for event in events:
        publish(rabbit_config["AMQP_URI"], "review.events", "initiative.returned.HN", dumps(event))
    dlq = "fixable.initiative.returned.dlq"
    gauge = f'dead_letter_messages{{queue="{dlq}",service="fixable"}} 3.0'
    from prometheus_client import REGISTRY, generate_latest  # the service runs in this process

    wait_for(lambda: gauge in generate_latest(REGISTRY).decode(), timeout=60)

    env = {**os.environ, "AMQP_URI": rabbit_config["AMQP_URI"].replace("pyamqp://", "amqp://")}
    env["RABBITMQ_API_URL"] = "http://guest:guest@127.0.0.1:15672/api"
    root = Path(__file__).resolve().parents[2]
    listed = subprocess.run(
        [sys.executable, "-m", "chassis.dead_letters", "list"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0 and f"3  {dlq}" in listed.stdout, listed.stdout + listed.stderr

    FixableService.broken = False  # the fix is deployed
    replayed = subprocess.run(
        [sys.executable, "-m", "chassis.dead_letters", "replay", "fixable.initiative.returned"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 0 and '"replayed": 3' in replayed.stdout, replayed.stdout + replayed.stderr
    wait_for(lambda: len(FixableService.handled) == 3, timeout=30)
    assert sorted(FixableService.handled) == sorted(e["id"] for e in events)
    wait_for(
        lambda: f'dead_letter_messages{{queue="{dlq}",service="fixable"}} 0.0' in generate_latest(REGISTRY).decode()
    )
