"""Outbox relay: publishes pending rows with publisher confirms, then marks them published.

Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of relays (one per replica)
can run against one database. A crash between publish and mark re-publishes the batch:
delivery is at-least-once and consumers deduplicate through their inbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlparse

import amqp
from sqlalchemy import Engine, delete, func, select, update

from chassis import metrics
from chassis.envelope import CONTENT_TYPE
from chassis.tables import outbox

log = logging.getLogger(__name__)


class PublishFailed(RuntimeError):
    """The broker refused, dropped or did not confirm a batch: its rows stay pending."""


def amqp_connection(uri: str, heartbeat: int = 30) -> amqp.Connection:
    parts = urlparse(uri)
    vhost = unquote(parts.path[1:]) if parts.path and parts.path != "/" else "/"
    conn = amqp.Connection(
        host=f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}",
        userid=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        virtual_host=vhost,
        heartbeat=heartbeat,
        connect_timeout=5,
    )
    conn.connect()
    return conn


class ConfirmingPublisher:
    """Publishes a batch on a confirm-mode channel and waits for all broker acks at once."""

    def __init__(self, amqp_uri: str, confirm_timeout: float = 30.0) -> None:
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._conn: amqp.Connection | None = None
        self._channel: amqp.Channel | None = None
        self._declared: set[str] = set()
        self._pending: dict[int, str] = {}
        self._nacked: list[int] = []
        self._next_tag = 1
        self._unroutable_logged: set[tuple[str, str]] = set()

    def _open(self) -> amqp.Channel:
        if self._channel is not None and self._conn is not None and self._conn.connected:
            return self._channel
        self.close()
        self._conn = amqp_connection(self.amqp_uri)
        channel = self._conn.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._channel = channel
        self._declared = set()
        self._next_tag = 1
        return channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, acked=True)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, acked=False)

    def _settle(self, tag: int, multiple: bool, acked: bool) -> None:
        tags = [t for t in self._pending if t <= tag] if multiple else [tag]
        for t in tags:
            if self._pending.pop(t, None) is not None and not acked:
                self._nacked.append(t)

    def _on_return(self, exc, exchange, routing_key, message) -> None:  # type: ignore[no-untyped-def]
        # Nothing is bound for this key: the broker confirms and drops it.
        metrics.OUTBOX_UNROUTABLE.labels(exchange=exchange, routing_key=routing_key).inc()
        if (exchange, routing_key) not in self._unroutable_logged:  # once per key, not per event
            self._unroutable_logged.add((exchange, routing_key))
            log.warning("no queue is bound for %s on %s; the broker dropped it (%s)", routing_key, exchange, exc)

    def publish_batch(self, messages: list[tuple[str, str, str, str, str]]) -> None:
        """messages: (exchange, routing_key, body, event_id, event_type). Raises unless all acked."""
        self._pending = {}
        self._nacked = []
        try:
            channel = self._open()
            for exchange, key, body, event_id, event_type in messages:
                if exchange not in self._declared:
                    channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
                    self._declared.add(exchange)
                msg = amqp.Message(
                    body,
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=event_id,
                    type=event_type,
                )
                channel.basic_publish(msg, exchange=exchange, routing_key=key, mandatory=True)
                self._pending[self._next_tag] = event_id
                self._next_tag += 1
            deadline = datetime.now(UTC) + timedelta(seconds=self.confirm_timeout)
            while self._pending:
                if datetime.now(UTC) > deadline:
                    raise PublishFailed(f"{len(self._pending)} confirms timed out")
                try:
                    assert self._conn is not None
                    self._conn.drain_events(timeout=1)
                except TimeoutError:  # socket.timeout: no frame this second, keep waiting
                    continue
        except (OSError, amqp.exceptions.AMQPError) as exc:
            self.close()
            raise PublishFailed(str(exc)) from exc
        if self._nacked:
            raise PublishFailed(f"broker nacked {len(self._nacked)} messages")

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close
                conn.collect()


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        amqp_uri: str,
        service: str,
        batch_size: int = 500,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.engine = engine
        self.publisher = ConfirmingPublisher(amqp_uri)
        self.service = service
        self.batch_size = batch_size
        self.retention = retention

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(
                    outbox.c.seq,
                    outbox.c.exchange,
                    outbox.c.routing_key,
                    outbox.c.body,
                    outbox.c.event_id,
                    outbox.c.event_type,
                )
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            seqs = [r.seq for r in rows]
            try:
                self.publisher.publish_batch(
                    [(r.exchange, r.routing_key, r.body, r.event_id, r.event_type) for r in rows]
                )
            except PublishFailed as exc:
                metrics.OUTBOX_PUBLISH_FAILURES.labels(service=self.service).inc()
                conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(seqs))
                    .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:2000])
                )
                raise
            conn.execute(
                update(outbox)
                .where(outbox.c.seq.in_(seqs))
                .values(published_at=datetime.now(UTC), attempts=outbox.c.attempts + 1)
            )
        for r in rows:
            metrics.OUTBOX_PUBLISHED.labels(service=self.service, event_type=r.event_type).inc()
        return len(rows)

    def drain(self, max_batches: int = 1_000_000) -> int:
        total = 0
        for _ in range(max_batches):
            published = self.publish_pending()
            total += published
            if published < self.batch_size:
                break
        return total

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                ).scalar_one()
            )

    def oldest_pending_age(self) -> float:
        with self.engine.connect() as conn:
            oldest = conn.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:  # SQLite returns naive datetimes
            oldest = oldest.replace(tzinfo=UTC)
        return max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    def prune(self) -> int:
        cutoff = datetime.now(UTC) - self.retention
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
            )
        return result.rowcount or 0

    def close(self) -> None:
        self.publisher.close()
