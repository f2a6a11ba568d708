"""The RabbitMQ topology the operator declares is exactly what the services' code declares.

Expectations come from the rendered Deployments themselves: each one's service class (its
`unit_event_handler` entrypoints), its UNIT/UNITS/UNITS_EXCLUDE and DELIVERY_LIMIT, through
`chassis.handler` - so a new handler, a new unit deployment or a changed setting that the manifests
do not follow fails here, for every service alike.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kombu import Exchange, Queue

from chassis.handler import DEAD_LETTER_EXCHANGE, consumer_queue, dead_letter_queue, parse_units
from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, config_env, of_kind, service_of
from tests.deploy.services import TARGETS, built, consumed_events, service_class

Doc = dict[str, Any]


@dataclass(frozen=True)
class Consumer:
    service: str  # the RabbitMQ user and the service class
    source: str  # the service whose exchange it binds
    queue: Queue


def consumers(docs: list[Doc]) -> Iterator[Consumer]:
    """Every queue the chassis would declare, per Deployment, as the Deployment configures it."""
    for deployment in of_kind(docs, "Deployment"):
        service = service_of(deployment)
        cls = service_class(service)
        env = config_env(docs, deployment)
        # chassis.config.nameko_config and UnitEventHandler.setup, step by step.
        unit = env.get("UNIT", "")
        instance = env.get("INSTANCE_NAME") or (f"{service}-{unit.lower()}" if unit else cls.name)
        units = parse_units(unit or env.get("UNITS", "*"), env.get("UNITS_EXCLUDE", ""))
        limit = int(env.get("DELIVERY_LIMIT", "10"))
        for source, event in sorted(consumed_events(cls)):
            exchange = Exchange(f"{source}.events", type="topic")
            yield Consumer(service, source, consumer_queue(f"{instance}.{event}", exchange, event, units, limit))


def published_exchange(service: str) -> str | None:
    """The exchange a service's outbox publishes to (`<package>.EXCHANGE`), if it publishes."""
    service_class(service)
    return getattr(importlib.import_module(service), "EXCHANGE", None)


def _arguments(spec: Doc) -> dict[str, Any]:
    return {**spec.get("arguments", {}), "x-queue-type": spec["type"]}


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request, rendered) -> list[Doc]:
    return rendered[request.param]


def test_every_consumer_queue_is_declared_with_the_chassis_arguments_and_bindings(docs) -> None:
    queues = {q["spec"]["name"]: q["spec"] for q in of_kind(docs, "Queue")}
    bindings: dict[str, set[tuple[str, str]]] = {}
    for b in of_kind(docs, "Binding"):
        assert b["spec"]["destinationType"] == "queue"
        bindings.setdefault(b["spec"]["destination"], set()).add((b["spec"]["source"], b["spec"]["routingKey"]))
    expected = list(consumers(docs))
    assert {"awards", "notify"} <= {c.service for c in expected}
    for consumer in expected:
        name = consumer.queue.name
        assert name in queues, f"{name} is not declared"
        assert queues[name]["durable"] is True and queues[name]["autoDelete"] is False
        assert _arguments(queues[name]) == consumer.queue.queue_arguments, name
        # Exactly the chassis' bindings: a missing one loses events, an extra one doubles them.
        assert bindings.get(name) == {(b.exchange.name, b.routing_key) for b in consumer.queue.bindings}, name
        dlq = dead_letter_queue(name)
        assert _arguments(queues[dlq.name]) == dlq.queue_arguments, dlq.name
        assert bindings.get(dlq.name) == {(DEAD_LETTER_EXCHANGE, dlq.routing_key)}, dlq.name
    # Nothing declared that no consumer reads (a stale queue fills until the broker stops publishing).
    names = {c.queue.name for c in expected}
    assert set(queues) == names | {f"{n}.dlq" for n in names}


def test_the_exchanges_are_those_consumers_bind_and_services_publish(docs) -> None:
    exchanges = {e["spec"]["name"]: e["spec"] for e in of_kind(docs, "Exchange")}
    sources = {f"{c.source}.events" for c in consumers(docs)}
    published = {published_exchange(s) for s in TARGETS if built(s)} - {None}
    assert "awards.events" in sources & published
    assert set(exchanges) == sources | published | {DEAD_LETTER_EXCHANGE}
    for name, spec in exchanges.items():
        assert spec["type"] == ("direct" if name == DEAD_LETTER_EXCHANGE else "topic"), name
        assert spec["durable"] is True and spec["autoDelete"] is False, name
    assert {b["spec"]["source"] for b in of_kind(docs, "Binding")} <= set(exchanges)


def test_each_service_user_may_do_what_its_code_does_and_no_more(docs) -> None:
    """configure: declare its queues and the exchanges it binds or publishes; write: bind its queues,
    publish to its exchange; read: consume its queues, bind from the exchanges (RabbitMQ's model)."""
    users = by_name(docs, "User")
    permissions = {p["spec"]["userReference"]["name"]: p["spec"]["permissions"] for p in of_kind(docs, "Permission")}
    everything = list(consumers(docs))
    all_queues = {c.queue.name for c in everything} | {f"{c.queue.name}.dlq" for c in everything}
    all_exchanges = {e["spec"]["name"] for e in of_kind(docs, "Exchange")}
    for deployment in of_kind(docs, "Deployment"):
        service = service_of(deployment)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        mine = [c for c in everything if c.service == service]
        own_exchange = published_exchange(service)
        if not mine and own_exchange is None:
            # Neither consumes nor publishes (the portal): no broker credentials, no user at all.
            assert "AMQP_URI" not in {e["name"] for e in container.get("env", [])}, service
            assert service not in users and service not in permissions, service
            continue
        (uri,) = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == "AMQP_URI"]
        assert users[service]["spec"]["importCredentialsSecret"]["name"] == uri["name"] == f"{service}-amqp"
        allowed = {verb: re.compile(pattern) for verb, pattern in permissions[service].items()}
        own_queues = {c.queue.name for c in mine} | {f"{c.queue.name}.dlq" for c in mine}
        bound = {f"{c.source}.events" for c in mine} | {DEAD_LETTER_EXCHANGE}

        def may(verb: str, name: str, allowed: dict[str, re.Pattern[str]] = allowed) -> bool:
            return bool(allowed[verb].search(name))

        for queue in own_queues:
            assert all(may(v, queue) for v in ("configure", "write", "read")), (service, queue)
        for exchange in bound:
            assert may("configure", exchange) and may("read", exchange), (service, exchange)
        if own_exchange:
            assert may("configure", own_exchange) and may("write", own_exchange), (service, own_exchange)
        for queue in all_queues - own_queues:
            assert not any(may(v, queue) for v in allowed), (service, queue)
        for exchange in all_exchanges - {own_exchange}:
            assert not may("write", exchange), (service, exchange)
        for exchange in all_exchanges - bound - {own_exchange}:
            assert not may("read", exchange) and not may("configure", exchange), (service, exchange)
