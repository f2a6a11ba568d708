"""Deliveries leave through their channels: claimed under a lease, rate-limited, retried, parked.

Each channel has its own loop, so a provider that is down slows nothing else. A claim moves
the row's next attempt a lease ahead and commits before sending: a replica that dies while
sending leaves the row to be claimed again when the lease ends (at-least-once to the provider;
the delivery id travels as its idempotency key).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notify.channels import Channel, Outgoing, Refused, Retry
from notify.models import Delivery

log = logging.getLogger(__name__)
DELIVERIES = Counter("notify_deliveries_total", "Deliveries attempted, by channel and outcome.", ["channel", "outcome"])
PENDING = Gauge("notify_pending_deliveries", "Deliveries waiting to go out, by channel.", ["channel"])


def parse_rates(value: str) -> dict[str, float]:
    rates = {}
    for part in value.split(","):
        name, _, rate = part.partition("=")
        if name.strip():
            rates[name.strip()] = float(rate)
    return rates


class TokenBucket:
    """At most `rate` sends a second on average, bursts up to one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self.burst = max(1.0, rate)  # a rate below one a second still sends, one at a time
        self.tokens, self.stamp = self.burst, clock()

    def available(self) -> int:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return int(self.tokens)

    def take(self, n: int) -> None:
        self.tokens -= n


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """base, 2 base, 4 base … up to cap, with ±20 % jitter so retries of many rows spread out."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.8 + 0.4 * (rng or random).random())


def claim(session: Session, channel: str, limit: int, now: datetime, lease: timedelta) -> list[Outgoing]:
    rows = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.channel == channel, Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.next_attempt_at = now + lease
    return [Outgoing(r.id, r.event_id, r.recipient, r.address, r.subject, r.body) for r in rows]


def settle(
    session: Session,
    delivery_id: str,
    error: Exception | None,
    now: datetime,
    max_attempts: int,
    base: float,
    cap: float,
) -> str:
    """Records one attempt's outcome: sent, failed (retry later) or parked."""
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None or row.status != "pending":
        return "gone"
    row.attempts += 1
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
        return "sent"
    row.last_error = str(error)[:500]
    if isinstance(error, Refused) or row.attempts >= max_attempts:
        row.status = "parked"
        return "parked"
    after = error.after if isinstance(error, Retry) and error.after else backoff(row.attempts, base, cap)
    row.next_attempt_at = now + timedelta(seconds=after)
    return "failed"


def send_one(channel: Channel, message: Outgoing) -> Exception | None:
    try:
        channel.send(message)
    except (Retry, Refused) as exc:
        return exc
    except Exception as exc:
        log.exception("channel %s failed unexpectedly", channel.name)
        return Retry(type(exc).__name__)
    return None


def pending_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Delivery.channel, func.count()).where(Delivery.status == "pending").group_by(Delivery.channel)
    )
    return dict(rows.tuples().all())
