"""Admission control: a per-process cap on HTTP requests in flight.

Beyond the cap a request is answered at once with 429 and Retry-After instead of waiting
for a worker: under a spike clients back off and retry, nothing queues without bound and no
request hangs. Health and metrics endpoints are never refused (probes and scrapes must see
an overloaded process as alive).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge

# Probes and scrapes: refusing them would restart or hide a process that is merely busy.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS_REJECTED = Counter(
    "http_requests_rejected_total",
    "HTTP requests answered 429 at once because MAX_INFLIGHT_REQUESTS were already in flight.",
    ["service"],
)
REQUESTS_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being handled.", ["service"])


class Admission:
    """Counts requests in flight; `limit` 0 admits everything (the count is still kept)."""

    def __init__(self, limit: int, service: str = "", exempt: frozenset[str] = EXEMPT_PATHS) -> None:
        if limit < 0:
            raise ValueError("MAX_INFLIGHT_REQUESTS must be 0 (no cap) or positive")
        self.limit = limit
        self.exempt = exempt
        self.in_flight = 0
        self._lock = threading.Lock()  # a green lock under eventlet; uncontended it never yields
        self._rejected = REQUESTS_REJECTED.labels(service or "unknown")
        self._gauge = REQUESTS_IN_FLIGHT.labels(service or "unknown")

    def _enter(self) -> bool:
        with self._lock:
            if self.limit and self.in_flight >= self.limit:
                return False
            self.in_flight += 1
        self._gauge.inc()
        return True

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._gauge.dec()

    @contextmanager
    def slot(self, path: str) -> Iterator[bool]:
        """Yields True when the request may proceed (its slot is held until the block ends)."""
        if path in self.exempt:
            yield True
            return
        if not self._enter():
            self._rejected.inc()
            yield False
            return
        try:
            yield True
        finally:
            self._leave()
