"""The dispatcher dependency: one greenthread per outside channel, beside the consumers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from chassis.config import setting
from chassis.db import Database
from notify import channels, dispatch
from notify.models import Subscription


def _setting(config: dict[str, Any], name: str) -> str:
    return str(config.get(name, setting(name)))


class Dispatcher(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.rates = dispatch.parse_rates(_setting(config, "NOTIFY_RATES"))
        self.max_attempts = int(_setting(config, "NOTIFY_MAX_ATTEMPTS"))
        self.base = float(_setting(config, "NOTIFY_RETRY_BASE_SECONDS"))
        self.cap = float(_setting(config, "NOTIFY_RETRY_MAX_SECONDS"))
        self.poll = float(_setting(config, "NOTIFY_POLL_SECONDS"))
        self.lease = timedelta(seconds=float(_setting(config, "NOTIFY_LEASE_SECONDS")))
        self.channels: list[channels.Channel] = [
            channels.Email(config),
            channels.Zalo(config),
            channels.Sms(config),
            channels.Webhook(config, self._secret),
        ]
        self._running = False

    def start(self) -> None:
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.sessions = sessionmaker(bind=database.engine)
        self._running = True
        for channel in self.channels:
            self.container.spawn_managed_thread(lambda c=channel: self._loop(c), identifier=f"dispatch-{channel.name}")

    def stop(self) -> None:
        self._running = False

    def kill(self) -> None:
        self._running = False

    def _secret(self, subscription_id: str) -> str | None:
        with self.sessions() as session:
            sub = session.get(Subscription, subscription_id)
            return sub.secret if sub is not None and sub.active else None

    def _loop(self, channel: channels.Channel) -> None:
        bucket = dispatch.TokenBucket(self.rates.get(channel.name, 10.0))
        pool = eventlet.GreenPool(20)
        while self._running:
            try:
                if not self._round(channel, bucket, pool):
                    eventlet.sleep(self.poll)
            except Exception:  # noqa: BLE001 - a database outage: wait, then go on
                dispatch.log.exception("dispatch round of %s failed", channel.name)
                eventlet.sleep(max(self.poll, 2.0))

    def _round(self, channel: channels.Channel, bucket: dispatch.TokenBucket, pool: eventlet.GreenPool) -> bool:
        """One batch: claim what the rate allows, send concurrently, record every outcome."""
        allowed = bucket.available()
        if allowed < 1:
            eventlet.sleep(1 / bucket.rate)
            return True
        with self.sessions() as session, session.begin():
            batch = dispatch.claim(session, channel.name, min(allowed, 100), dispatch_now(), self.lease)
        if not batch:
            return False
        bucket.take(len(batch))
        results = list(pool.imap(lambda m: (m, dispatch.send_one(channel, m)), batch))
        with self.sessions() as session, session.begin():
            for message, error in results:
                outcome = dispatch.settle(
                    session, message.id, error, dispatch_now(), self.max_attempts, self.base, self.cap
                )
                dispatch.DELIVERIES.labels(channel.name, outcome).inc()
        return True

    def get_dependency(self, worker_ctx) -> Any:  # type: ignore[no-untyped-def]
        return self


def dispatch_now() -> datetime:
    return datetime.now(UTC)
