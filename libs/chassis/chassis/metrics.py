"""Prometheus metrics of the chassis, and the dependency that times every entrypoint."""

from __future__ import annotations

import time
import weakref
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram

ENTRYPOINT_CALLS = Counter(
    "entrypoint_calls_total",
    "Entrypoint executions.",
    ["service", "entrypoint", "unit", "status"],
)
ENTRYPOINT_LATENCY = Histogram(
    "entrypoint_duration_seconds",
    "Entrypoint execution time.",
    ["service", "entrypoint", "unit", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge("outbox_pending_events", "Outbox rows not yet published.", ["service"])
OUTBOX_OLDEST_PENDING = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row.", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "outbox_published_events_total", "Events published and confirmed.", ["service", "event_type"]
)
OUTBOX_PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Relay batches that failed to publish.", ["service"])
OUTBOX_UNROUTABLE = Counter(
    "outbox_unroutable_events_total",
    "Events the broker confirmed but no queue was bound for.",
    ["exchange", "routing_key"],
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total",
    "Events handled, by outcome (processed, duplicate, retried: not yet, failed: raised, dead_lettered).",
    ["service", "event_type", "unit", "outcome"],
)

DEAD_LETTERS = Gauge(
    "dead_letter_messages",
    "Messages waiting in a consumer's dead-letter queue (replay: python -m chassis.dead_letters).",
    ["service", "queue"],
)


class WorkerMetrics:
    """Per-worker labels the entrypoint may refine (the unit it acted for)."""

    def __init__(self) -> None:
        self.unit = ""
        self.status = ""
        self.started = time.perf_counter()


class Metrics(DependencyProvider):
    """Counts and times every entrypoint with service, entrypoint, unit and status labels."""

    def setup(self) -> None:
        self._workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx) -> WorkerMetrics:  # type: ignore[no-untyped-def]
        state = WorkerMetrics()
        self._workers[worker_ctx] = state
        return state

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:  # type: ignore[no-untyped-def]
        state = self._workers.pop(worker_ctx, None)
        if state is None:
            return
        status = state.status or _status_of(result, exc_info)
        labels = (
            service_label(self.container),
            worker_ctx.entrypoint.method_name,
            state.unit or "none",
            status,
        )
        ENTRYPOINT_CALLS.labels(*labels).inc()
        ENTRYPOINT_LATENCY.labels(*labels).observe(time.perf_counter() - state.started)


def service_label(container: Any) -> str:
    """The `service` label: the instance (review-hn) where one service runs per unit."""
    return container.config.get("INSTANCE_NAME") or container.service_name


def _status_of(result: object, exc_info: object) -> str:
    code = getattr(result, "status_code", None)
    if code is not None:
        return str(code)
    return "error" if exc_info else "ok"
