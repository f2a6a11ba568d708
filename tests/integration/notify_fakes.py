"""Real servers standing in for the outside world of notify, each a subprocess.

The test process is eventlet-monkey-patched, so nothing asyncio runs in it: the SMTP server is
aiosmtpd's own command line (writing a Maildir the tests read with the standard library), and the
Zalo OA / SMS gateway / webhook receiver is tests/fakes/provider.py (stdlib http.server), which
records every request to a JSON-lines file and answers as a test programs it.

The servers live for the session; the function-scoped fixtures `smtp` and `provider` hand a test
an emptied mailbox and a provider with no behaviours and no recorded requests.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import mailbox
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = ROOT / "tests" / "fakes" / "provider.py"


def _wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"server on port {port} did not start within {timeout}s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def until(found: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Polls until `found()` is truthy and returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """aiosmtpd's Mailbox handler: every message received, as a file in a Maildir."""

    host: str
    port: int
    maildir: Path

    def _box(self) -> mailbox.Maildir:
        return mailbox.Maildir(
            self.maildir,
            factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default),
            create=False,
        )

    def messages(self) -> list[EmailMessage]:
        return list(self._box().values())

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope recipients (aiosmtpd's X-RcptTo) include `address`."""
        return [m for m in self.messages() if address in [a.strip() for a in str(m["X-RcptTo"] or "").split(",")]]

    def wait(self, address: str, n: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        return until(
            lambda: len(self.to(address)) >= n and self.to(address), timeout, f"{n} e-mail(s) to a test address"
        )

    def clear(self) -> None:
        self._box().clear()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    folder = tmp_path_factory.mktemp("smtp")
    port, maildir, log = free_port(), folder / "maildir", folder / "aiosmtpd.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        _wait_port(port, process, log)
        until(maildir.exists, 10, "the Maildir")
        yield SmtpSink("127.0.0.1", port, maildir)
    finally:
        _stop(process)


@pytest.fixture
def smtp(smtp_server: SmtpSink) -> SmtpSink:
    smtp_server.clear()
    return smtp_server


# --- Zalo OA, SMS gateway, webhook receivers ----------------------------------------------------


def answer(status: int = 200, json_body: Any = None, headers: dict[str, str] | None = None, delay: float = 0) -> dict:
    """One programmed answer of the fake provider."""
    spec: dict[str, Any] = {"status": status, "headers": headers or {}, "delay": delay}
    if json_body is not None:
        spec["json"] = json_body
    return spec


ZALO_OK = answer(200, {"error": 0, "message": "Success"})


@dataclass
class Recorded:
    t: float
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any
    status: int

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Provider:
    """Client of tests/fakes/provider.py: program its answers, read what it received."""

    port: int
    record: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _control(self, action: str, body: dict[str, Any] | None = None) -> None:
        reply = requests.post(f"{self.base}/_control/{action}", json=body or {}, timeout=5)
        assert reply.status_code == 204, reply.text

    def reset(self) -> None:
        self._control("reset")

    def behave(self, path: str, first: list[dict] | None = None, then: dict | None = None) -> None:
        self._control("behave", {"path": path, "first": first or [], "then": then or ZALO_OK})

    # The behaviours the tests need, by name.
    def succeed(self, path: str) -> None:
        self.behave(path)

    def fail_times(self, path: str, n: int, status: int = 500) -> None:
        self.behave(path, [answer(status, {"error": "unavailable"})] * n)

    def always_fail(self, path: str, status: int = 500, delay: float = 0) -> None:
        self.behave(path, then=answer(status, {"error": "unavailable"}, delay=delay))

    def rate_limit(self, path: str, retry_after: int, times: int = 1) -> None:
        self.behave(path, [answer(429, {"error": "too many requests"}, {"Retry-After": str(retry_after)})] * times)

    def zalo_error(self, path: str, code: int, times: int) -> None:
        self.behave(path, [answer(200, {"error": code, "message": "Exceeded request limit"})] * times)

    def received(self, path: str | None = None) -> list[Recorded]:
        out = []
        for line in self.record.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if path is None or r["path"] == path:
                out.append(
                    Recorded(
                        r["t"],
                        r["method"],
                        r["path"],
                        r["headers"],
                        base64.b64decode(r["body_b64"]),
                        r["json"],
                        r["status"],
                    )
                )
        return out

    def wait(self, path: str, n: int = 1, timeout: float = 15.0) -> list[Recorded]:
        return until(
            lambda: len(self.received(path)) >= n and self.received(path), timeout, f"{n} request(s) to {path}"
        )


@pytest.fixture(scope="session")
def provider_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    folder = tmp_path_factory.mktemp("provider")
    port, record, log = free_port(), folder / "requests.jsonl", folder / "provider.log"
    process = subprocess.Popen(
        [sys.executable, str(PROVIDER_SCRIPT), "--port", str(port), "--record", str(record)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        _wait_port(port, process, log)
        yield Provider(port, record)
    finally:
        _stop(process)


@pytest.fixture
def provider(provider_server: Provider) -> Provider:
    provider_server.reset()
    return provider_server
