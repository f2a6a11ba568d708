"""The zero-configuration default (SQLite), the public subscriber example, health and metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from chassis.contracts import contract_errors
from submission.service import SubmissionService
from tests.conftest import token
from tests.factories import UNIT, initiative
from tests.integration.conftest import post, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_default_serves_and_publishes(container_factory, make_config, sqlite_url, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.submitted.HN"])
    config = make_config(sqlite_url)
    container_factory(SubmissionService, config).start()
    api = f"http://{config['WEB_SERVER_ADDRESS']}"
    for i in range(5):
        assert (
            post(
                f"{api}/api/v1/initiatives", initiative(title=f"SQLite {i}"), token("member", UNIT, "dv-an")
            ).status_code
            == 201
        )
    received = events.drain(5)
    assert all(contract_errors(e) == [] for _, e in received)


def test_plain_pika_subscriber_receives_submissions(api, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    amqp = rabbit_config["AMQP_URI"].replace("pyamqp://", "amqp://")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "contracts/examples/subscriber.py"),
            "--amqp-url",
            amqp,
            "--queue",
            "union-system-x.hn",
            "--binding",
            "initiative.*.HN",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: list[str] = []
        wait_for(lambda: bool(lines.append(proc.stderr.readline()) or any("consuming" in x for x in lines)), timeout=20)
        created = post(f"{api}/api/v1/initiatives", initiative(), token("member", UNIT, "dv-an")).json()
        wait_for(
            lambda: bool(lines.append(proc.stderr.readline()) or any(created["id"] in x for x in lines)), timeout=20
        )
        assert not any("invalid" in x.lower() for x in lines)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_health_readiness_and_metrics(api) -> None:  # type: ignore[no-untyped-def]
    assert requests.get(f"{api}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{api}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "broker": True}
    post(f"{api}/api/v1/initiatives", initiative(), token("member", UNIT, "dv-an"))
    time.sleep(0.5)
    text = requests.get(f"{api}/metrics", timeout=5).text
    assert 'entrypoint_calls_total{entrypoint="submit_initiative",service="submission",status="201",unit="HN"}' in text
    assert "entrypoint_duration_seconds_bucket" in text
    assert 'outbox_published_events_total{event_type="initiative.submitted",service="submission"}' in text
    assert 'outbox_pending_events{service="submission"}' in text
    assert 'outbox_oldest_pending_age_seconds{service="submission"}' in text


def test_broker_check_fails_when_the_broker_is_unreachable() -> None:
    from chassis.health import broker_reachable

    assert broker_reachable("amqp://guest:guest@127.0.0.1:1/") is False


def test_openapi_document_lists_every_route(api) -> None:  # type: ignore[no-untyped-def]
    doc = requests.get(f"{api}/api/v1/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.1")
    assert {"/api/v1/initiatives", "/api/v1/initiatives/bulk", "/api/v1/units", "/api/v1/members"} <= set(doc["paths"])
    assert "InitiativeIn" in doc["components"]["schemas"]
