"""What the benchmarks share: a virtual host and database of their own, percentiles."""

from __future__ import annotations

import os
import time

import pika
import requests

ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
MANAGEMENT = "http://127.0.0.1:15672/api"


def amqp_uri(vhost: str) -> str:
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def fresh_vhost(vhost: str) -> None:
    """A virtual host of its own, so queues left by other runs don't weigh on the figures."""
    auth = ("guest", "guest")
    requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=auth, timeout=30)
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=auth, timeout=30).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=auth,
        timeout=30,
    ).raise_for_status()
    for _ in range(50):  # the node starts the new virtual host asynchronously
        try:
            pika.BlockingConnection(pika.URLParameters(amqp_uri(vhost))).close()
            return
        except pika.exceptions.AMQPConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"virtual host {vhost} did not come up")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0
