"""Integration fixtures: the real service on a real broker virtual host and a real database."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import amqp
import kombu.exceptions
import pytest
import requests
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text

from awards.service import AwardsService
from chassis.db import normalize_url
from review.service import ReviewService
from submission.service import SubmissionService

pytestmark = pytest.mark.integration


BROKER_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)


class EventTap:
    """A plain queue bound to routing-key patterns: what a subscriber would receive."""

    def __init__(self, amqp_uri: str, exchange: str, patterns: list[str], durable: bool = False) -> None:
        self.amqp_uri, self.patterns = amqp_uri, patterns
        self.exchange = Exchange(exchange, type="topic", durable=True)
        # durable + quorum survives a broker restart, like any real subscriber's queue
        arguments = {"x-queue-type": "quorum"} if durable else {}
        self.queue = Queue(f"tap-{id(self)}", durable=durable, auto_delete=False, queue_arguments=arguments)
        self._connect()

    def _connect(self) -> None:
        self.conn = Connection(self.amqp_uri)
        channel = self.conn.channel()
        self.exchange(channel).declare()
        self.bound = self.queue(channel)
        self.bound.declare()
        for pattern in self.patterns:
            self.bound.bind_to(exchange=self.exchange.name, routing_key=pattern)

    def _get(self) -> Any:
        try:
            return self.bound.get(no_ack=True)
        except BROKER_ERRORS:  # the broker restarted: reconnect
            self.conn.release()
            time.sleep(0.5)
            with contextlib.suppress(BROKER_ERRORS):
                self._connect()
            return None

    def get(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._get()
            if message is not None:
                return message.delivery_info["routing_key"], json.loads(message.body)
            time.sleep(0.05)
        raise AssertionError(f"no event within {timeout}s")

    def drain(self, count: int, timeout: float = 20.0) -> list[tuple[str, dict[str, Any]]]:
        return [self.get(timeout) for _ in range(count)]

    def assert_quiet(self, seconds: float = 1.0) -> None:
        time.sleep(seconds)
        message = self._get()
        assert message is None, f"unexpected event {message.delivery_info['routing_key']}"

    def close(self) -> None:
        with contextlib.suppress(*BROKER_ERRORS):
            self.bound.delete()
        self.conn.release()


@pytest.fixture
def tap(rabbit_config) -> Iterator:  # type: ignore[no-untyped-def]
    taps: list[EventTap] = []

    def make(patterns: list[str], exchange: str = "submission.events", durable: bool = False) -> EventTap:
        taps.append(EventTap(rabbit_config["AMQP_URI"], exchange, patterns, durable))
        return taps[-1]

    yield make
    for t in taps:
        t.close()


@pytest.fixture
def api(container_factory, make_config, db_url):  # type: ignore[no-untyped-def]
    """The submission service on PostgreSQL; returns its base URL."""
    config = make_config(db_url)
    container = container_factory(SubmissionService, config)
    container.start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def review_api(container_factory, make_config, review_db_url):  # type: ignore[no-untyped-def]
    """The catch-all review service (every unit) on its own PostgreSQL database."""
    config = make_config(review_db_url, "review", UNITS="*", DEAD_LETTER_POLL_SECONDS=1)
    container = container_factory(ReviewService, config)
    container.start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def awards_api(container_factory, make_config, awards_db_url):  # type: ignore[no-untyped-def]
    """The awards service (every unit) on its own PostgreSQL database."""
    # Rankings computed fresh on every read: tests read right after the events they sent.
    config = make_config(awards_db_url, "awards", UNITS="*", DEAD_LETTER_POLL_SECONDS=1, RANKINGS_CACHE_SECONDS=0)
    container = container_factory(AwardsService, config)
    container.start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


def count(db_url: str, table: str, where: str = "") -> int:
    return int(rows(db_url, f"SELECT count(*) AS n FROM {table} {where}")[0]["n"])


def rows(db_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of a query, as dicts."""
    engine = create_engine(normalize_url(db_url))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def post(url: str, body: Any, headers: dict[str, str], **kwargs: Any) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=30, **kwargs)


def publish(amqp_uri: str, exchange: str, routing_key: str, body: bytes | str, **properties: Any) -> None:
    """Publishes like another service would (persistent, confirmed)."""
    from chassis.relay import amqp_connection

    conn = amqp_connection(amqp_uri)
    try:
        channel = conn.channel()
        channel.confirm_select()
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        import amqp

        message = amqp.Message(body, content_type="application/cloudevents+json", delivery_mode=2, **properties)
        channel.basic_publish_confirm(message, exchange=exchange, routing_key=routing_key)
    finally:
        conn.close()


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
