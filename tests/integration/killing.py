"""Kill drills: a real service process, a backlog, SIGKILL in the middle, a restart, then the count."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from chassis.envelope import dumps
from chassis.relay import ConfirmingPublisher
from tests.conftest import free_port
from tests.integration.conftest import count, wait_for

ROOT = Path(__file__).resolve().parents[2]


def start(service: str, target: str, db_url: str, amqp_uri: str, log: Path, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        f"{service.upper()}_DATABASE_URL": db_url,
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        **env,
    }
    command = [sys.executable, "-m", "chassis.run", service, target]
    return subprocess.Popen(command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("a"))


def queue_exists(vhost: str, queue: str) -> bool:
    answer = requests.get(f"http://127.0.0.1:15672/api/queues/{vhost}/{queue}", auth=("guest", "guest"), timeout=5)
    return answer.status_code == 200


def publish_all(amqp_uri: str, events: Iterable[dict[str, Any]], exchange: str) -> None:
    publisher = ConfirmingPublisher(amqp_uri)
    try:
        publisher.publish_batch([(exchange, f"{e['type']}.{e['unit']}", dumps(e), e["id"], e["type"]) for e in events])
    finally:
        publisher.close()


def kill_midway(process: subprocess.Popen, db_url: str, done_at_least: int, total: int) -> None:
    """Waits until some (not all) events are handled, then SIGKILL: no clean shutdown, no acks."""
    try:
        wait_for(lambda: count(db_url, "inbox") >= done_at_least, timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert count(db_url, "inbox") < total, "the kill came too late to prove anything"


def finish(process: subprocess.Popen, db_url: str, total: int) -> None:
    try:
        wait_for(lambda: count(db_url, "inbox") == total, timeout=120)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stuck shutdown must not outlive the test
            process.kill()
            process.wait(timeout=10)
