"""Stopping and starting the real broker and database, for the fault tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _wait_port(port: int, open_: bool, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            is_open = s.connect_ex(("127.0.0.1", port)) == 0
        if is_open == open_:
            return
        time.sleep(0.2)
    raise AssertionError(f"port {port} did not {'open' if open_ else 'close'} within {timeout}s")


@contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """Stops the RabbitMQ application (the node stays up) and always starts it again."""
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    try:
        _wait_port(5672, open_=False)
        yield
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        _wait_port(5672, open_=True)
        _wait_port(15672, open_=True)


@contextmanager
def postgres_stopped() -> Iterator[None]:
    """Stops the PostgreSQL cluster(s) (fast shutdown) and always starts them again."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    for version in versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop", "-m", "fast"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    try:
        _wait_port(5432, open_=False)
        yield
    finally:
        for version in versions:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=True,
                capture_output=True,
                timeout=120,
            )
        _wait_port(5432, open_=True)
        time.sleep(1.0)  # accepting TCP is not yet accepting logins
