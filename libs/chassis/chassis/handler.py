"""Unit-routed event handler: binds `<event>.<UNIT>` keys, quorum queues, never drops."""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import eventlet
from kombu import Connection, Exchange, Queue, binding
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import QueueConsumer
from nameko.standalone.events import get_event_exchange

from chassis import metrics
from chassis.config import setting
from chassis.consuming import DONE, Outcome, failed
from chassis.contracts import contract_errors
from chassis.db import Database, ping, unavailable
from chassis.dead_letters import DLQ_SUFFIX, depth
from chassis.envelope import envelope_errors

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "platform.dlx"
NATIONAL_UNIT = "VGCL"  # the root of the union tree: the routing key of national events


def _codes(value: str | list[str] | tuple[str, ...]) -> list[str]:
    units = value.split(",") if isinstance(value, str) else list(value)
    units = [u.strip() for u in units if u.strip()]
    for unit in units:
        if unit != "*" and ("." in unit or not unit.isalnum() or not unit.isupper()):
            raise ValueError(f"unit code {unit!r} must be one uppercase word")
    return units


def top_unit_codes() -> list[str]:
    """The registry of top-level units that routing keys carry (contracts/top-units.json)."""
    registry = json.loads((Path(setting("CONTRACTS_DIR")) / "top-units.json").read_text(encoding="utf-8"))
    return [u["code"] for u in registry["units"]]


def parse_units(value: str | list[str] | tuple[str, ...], exclude: str | list[str] | tuple[str, ...] = "") -> list[str]:
    """`*` binds every unit; `*` with exclusions binds each other registered unit by name.

    A catch-all beside dedicated deployments cannot use the `*` wildcard: it would also take
    their units' events, and topic bindings cannot subtract.
    """
    units, excluded = _codes(value), _codes(exclude)
    if not units:
        raise ValueError("UNITS is empty: give unit codes or *")
    if "*" not in units:
        return units
    if not excluded:
        return ["*"]
    known = top_unit_codes()
    unknown = sorted(set(excluded) - set(known))
    if unknown:
        raise ValueError(f"UNITS_EXCLUDE names unknown units: {', '.join(unknown)}")
    # The nation's own events (the VGCL unit, its targets) belong to no top-level unit: the
    # catch-all takes them, or nobody would.
    return [u for u in [*known, NATIONAL_UNIT] if u not in excluded]


def consumer_queue(name: str, exchange: Exchange, event_type: str, units: list[str], limit: int) -> Queue:
    return Queue(
        name,
        bindings=[binding(exchange, routing_key=f"{event_type}.{u}") for u in units],
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(name: str) -> Queue:
    exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
    return Queue(
        f"{name}{DLQ_SUFFIX}",
        exchange=exchange,
        routing_key=name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


class PrefetchingQueueConsumer(QueueConsumer):
    """Hands consumers `CONSUMER_PREFETCH` events at a time, not `max_workers`: batches need them."""

    @property
    def prefetch_count(self) -> int:
        config = self.container.config
        return max(int(config.get("CONSUMER_PREFETCH", 400)), int(config.get("CONSUMER_BATCH_SIZE", 1)))


class UnitEventHandler(EventHandler):
    """`@unit_event_handler("submission", "initiative.submitted")`.

    Binds the units of the `UNITS` config key (list or `*`); the queue is named after the
    consumer instance (`INSTANCE_NAME`, default the service name), so `review-hn` and the
    catch-all `review` each own their queue. Failed handlers are requeued with a backoff;
    the quorum queue dead-letters after `DELIVERY_LIMIT` deliveries.

    Where the service method is a consumer (`chassis.consuming`), events are gathered up to
    `CONSUMER_BATCH_SIZE` (waiting `CONSUMER_BATCH_WAIT_MS` for more, and up to
    `CONSUMER_BATCH_MAX_WAIT_MS` while more keep coming) and one worker handles them in one
    transaction; each message is then acked, requeued or dead-lettered by its own outcome.
    """

    queue_consumer = PrefetchingQueueConsumer()

    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        config = self.container.config
        self.units = parse_units(config.get("UNITS", "*"), config.get("UNITS_EXCLUDE", ""))
        instance = config.get("INSTANCE_NAME") or self.container.service_name
        self.queue_name = f"{instance}.{self.event_type}"
        exchange = get_event_exchange(self.source_service, config)
        limit = int(config.get("DELIVERY_LIMIT", 10))
        self.queue = consumer_queue(self.queue_name, exchange, self.event_type, self.units, limit)
        # The dead-letter queue must exist before the first failure, or the broker drops it.
        with Connection(config["AMQP_URI"]) as conn:
            dead_letter_queue(self.queue_name)(conn.default_channel).declare()
        method = getattr(self.container.service_cls, self.method_name)
        batches = getattr(method, "consumer", None) is not None  # declared with chassis.consuming
        self.batch_size = int(config.get("CONSUMER_BATCH_SIZE", 1)) if batches else 1
        self.batch_wait = float(config.get("CONSUMER_BATCH_WAIT_MS", 5)) / 1000
        self.batch_max_wait = float(config.get("CONSUMER_BATCH_MAX_WAIT_MS", 50)) / 1000
        self.arm_count, self.first_pending_at = 0, 0.0
        self.pending: list[tuple[Any, Any]] = []
        self.flush_timer: Any = None
        # Skip EventHandler.setup (it would build its own single-key classic queue).
        super(EventHandler, self).setup()

    def start(self) -> None:
        super().start()
        self.container.spawn_managed_thread(self._watch_dead_letters, identifier=f"dlq-{self.queue_name}")

    def _watch_dead_letters(self) -> None:
        """Keeps the dead-letter gauge current, so an alert can fire on it."""
        config = self.container.config
        gauge = metrics.DEAD_LETTERS.labels(metrics.service_label(self.container), self.queue_name + DLQ_SUFFIX)
        while True:
            try:
                gauge.set(depth(config["AMQP_URI"], self.queue_name + DLQ_SUFFIX))
            except Exception as exc:  # noqa: BLE001 - the broker may be away; try again later
                log.warning("cannot read dead-letter depth of %s: %s", self.queue_name, type(exc).__name__)
            eventlet.sleep(float(config.get("DEAD_LETTER_POLL_SECONDS", 30)))

    def handle_message(self, body: Any, message: Any) -> None:
        problems = envelope_errors(body) or contract_errors(body)
        if problems:
            log.error("dead-lettering invalid message on %s: %s", self.queue_name, "; ".join(problems)[:500])
            self._count(body, "dead_lettered")
            message.reject(requeue=False)
            return
        if self.batch_size <= 1:
            super().handle_message(body, message)
            return
        self.pending.append((body, message))
        if len(self.pending) >= self.batch_size:
            self._flush()
        elif self.flush_timer is None:
            self.first_pending_at = time.monotonic()
            self._arm()

    def _arm(self) -> None:
        self.arm_count = len(self.pending)
        self.flush_timer = eventlet.spawn_after(self.batch_wait, self._flush_when_due)

    def _flush_when_due(self) -> None:
        """The wait is over. A lone event goes now; while events keep arriving (a backlog, a
        peak) or every worker is busy, the batch keeps growing, up to its size or the longest
        wait: per-transaction costs are then shared by many events."""
        self.flush_timer = None
        pool = getattr(self.container, "_worker_pool", None)  # nameko's GreenPool of workers
        busy = pool is not None and pool.free() == 0
        arriving = len(self.pending) > self.arm_count
        waited = time.monotonic() - self.first_pending_at
        if (busy or arriving) and len(self.pending) < self.batch_size and waited < self.batch_max_wait:
            self._arm()
            return
        self._flush()

    def _flush(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        events, messages = [b for b, _ in batch], [m for _, m in batch]
        try:
            self.container.spawn_worker(
                self,
                (events,),
                {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=partial(self._settle_batch, messages),
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def _settle_batch(self, messages: list[Any], worker_ctx: Any, result: Any = None, exc_info: Any = None) -> tuple:
        self._settle(messages, _outcomes(result, exc_info, len(messages)))
        return result, exc_info

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        self._settle([message], _outcomes(result, exc_info, 1))

    def _settle(self, messages: list[Any], outcomes: list[Outcome]) -> None:
        """Acks, dead-letters (poison) or requeues each message by its own outcome."""
        again = []
        for message, outcome in zip(messages, outcomes, strict=True):
            self._count(message.payload, COUNTED_AS[outcome.status])
            if outcome.settled:
                _on_live_connection(self.queue_consumer.ack_message, message)
            elif outcome.status == "poison":
                log.error("dead-lettering an event on %s: %s", self.queue_name, outcome.reason[:500])
                _on_live_connection(lambda m: m.reject(requeue=False), message)
            else:
                again.append(message)
        if not again:
            return
        if len(messages) > 1:
            log.warning("%d of %d events on %s requeued", len(again), len(messages), self.queue_name)
        errors = [o.error for o in outcomes if o.status == "failed"]
        if errors and all(e is not None and unavailable(e) for e in errors):
            # The database is down: hold the messages until it answers. Each requeue is a delivery,
            # and an outage longer than the delivery limit's backoff dead-lettered good events.
            self._wait_for_database()
        else:
            # Wait before handing them back: a failing event must not spin.
            deliveries = max(int((m.headers or {}).get("x-delivery-count", 0)) for m in again)
            eventlet.sleep(min(0.2 * 2**deliveries, 5.0))
        for message in again:
            _on_live_connection(self.queue_consumer.requeue_message, message)

    def _wait_for_database(self, longest: float = 300.0) -> None:
        engines = [d.engine for d in self.container.dependencies if isinstance(d, Database)]
        waited, pause = 0.0, 0.5
        while engines and waited < longest:
            try:
                for engine in engines:
                    ping(engine)
                return
            except Exception:  # noqa: BLE001 - any failure to reach it is "still down"
                eventlet.sleep(pause)
                waited += pause
                pause = min(pause * 2, 5.0)

    def _count(self, body: Any, outcome: str) -> None:
        unit = body.get("unit", "none") if isinstance(body, dict) else "none"
        metrics.EVENTS_CONSUMED.labels(metrics.service_label(self.container), self.event_type, str(unit), outcome).inc()


# The `outcome` label of events_consumed_total, by an event's outcome.
COUNTED_AS = {
    "done": "processed",
    "duplicate": "duplicate",
    "retry": "retried",
    "failed": "failed",
    "poison": "dead_lettered",
}


def _outcomes(result: Any, exc_info: Any, size: int) -> list[Outcome]:
    """The consumer's outcomes; a worker that raised (or a plain method's None) counts for all."""
    if exc_info is not None:
        return [failed(exc_info[1])] * size
    if isinstance(result, list) and len(result) == size and all(isinstance(o, Outcome) for o in result):
        return result
    return [DONE] * size


def _on_live_connection(settle: Any, message: Any) -> None:
    """Settles a message; if the broker dropped the connection meanwhile, it redelivers the
    message itself (the inbox absorbs the repeat). nameko catches amqp's ConnectionError only:
    a reset socket escaped, killed the worker and with it the whole service process."""
    try:
        settle(message)
    except OSError as exc:
        log.warning("could not settle a message, the broker will redeliver it: %s", type(exc).__name__)


unit_event_handler = UnitEventHandler.decorator
