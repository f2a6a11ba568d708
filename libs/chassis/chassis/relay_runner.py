"""Runs the outbox relay: inside a nameko service (a dependency) or as its own process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy import Engine

from chassis import metrics, outbox
from chassis.config import setting
from chassis.db import Database, make_engine
from chassis.relay import OutboxRelay

log = logging.getLogger(__name__)


class RelayLoop:
    """One relay's schedule: drain, refresh gauges, prune, back off on failure."""

    def __init__(self, relay: OutboxRelay, poll_seconds: float) -> None:
        self.relay = relay
        self.poll_seconds = poll_seconds
        self.failures = 0
        self._last_gauge = 0.0
        self._last_prune = 0.0

    def step(self) -> float:
        """Does one round of work; returns how long to wait before the next."""
        try:
            published = self.relay.drain(max_batches=20)
            now = time.monotonic()
            if now - self._last_gauge > 5:
                self._refresh_gauges()
                self._last_gauge = now
            if now - self._last_prune > 3600:
                self.relay.prune()
                self._last_prune = now
            self.failures = 0
        except Exception as exc:  # noqa: BLE001 - broker or database down: retry, never stop relaying
            self.failures += 1
            log.warning("outbox relay failed (%s), retry %d", exc, self.failures)
            return min(0.5 * 2 ** min(self.failures, 5), 10.0)
        return 0.0 if published >= self.relay.batch_size else self.poll_seconds

    def _refresh_gauges(self) -> None:
        service = self.relay.service
        metrics.OUTBOX_PENDING.labels(service=service).set(self.relay.pending_count())
        metrics.OUTBOX_OLDEST_PENDING.labels(service=service).set(self.relay.oldest_pending_age())


def make_relay(engine: Engine, amqp_uri: str, service: str) -> OutboxRelay:
    return OutboxRelay(
        engine,
        amqp_uri,
        service,
        batch_size=int(setting("OUTBOX_BATCH_SIZE")),
        retention=timedelta(hours=float(setting("OUTBOX_RETENTION_HOURS"))),
    )


class OutboxRelayRunner(DependencyProvider):
    """Runs a relay greenthread beside the service; commits that wrote events wake it."""

    def setup(self) -> None:
        config = self.container.config
        self.enabled = config.get("OUTBOX_RELAY", "on") != "off"
        self._gt = None

    def start(self) -> None:
        if not self.enabled:
            return
        import eventlet

        config = self.container.config
        # Share the service's engine: two SQLite connections in one eventlet hub deadlock.
        databases = [d for d in self.container.dependencies if isinstance(d, Database)]
        engine = databases[0].engine if databases else make_engine(config["DATABASE_URL"])
        relay = make_relay(engine, config["AMQP_URI"], metrics.service_label(self.container))
        self.loop = RelayLoop(relay, float(config["OUTBOX_POLL_SECONDS"]))
        self._wakeup = eventlet.event.Event()
        self._running = True
        outbox.listen(self)
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def wake(self) -> None:
        if self._gt is not None and not self._wakeup.ready():
            self._wakeup.send(None)

    def _run(self) -> None:
        import eventlet

        while self._running:
            delay = self.loop.step()
            if delay <= 0:
                eventlet.sleep(0)
                continue
            if self.loop.failures:  # broker or database down: commits must not cut the backoff short
                eventlet.sleep(delay)
            else:
                with eventlet.Timeout(delay, False):
                    self._wakeup.wait()
            self._wakeup = eventlet.event.Event()

    def stop(self) -> None:
        self._running = False
        outbox.forget(self)
        if self._gt is not None:
            self._gt.kill()
            self._gt = None
            self.loop.relay.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> Callable[[], None]:  # type: ignore[no-untyped-def]
        return self.wake


def run_forever(database_url: str, amqp_uri: str, service: str, once: bool = False) -> None:
    """A stand-alone relay process (no eventlet): `python -m chassis.relay_main`."""
    relay = make_relay(make_engine(database_url, pool_size=2), amqp_uri, service)
    loop = RelayLoop(relay, float(setting("OUTBOX_POLL_SECONDS")))
    while True:
        delay = loop.step()
        if once and delay > 0:
            return
        time.sleep(delay)
