"""Fault drills' equipment: the services as real processes, a steady client load, the accounting.

The processes are started as production starts them (`python -m chassis.run`, the outbox relay
inside the service, as scripts/run.sh does), each on its own database; the load posts over real
HTTP and retries refusals (503/429 with Retry-After) with the same Idempotency-Key, as a
well-behaved client would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port, token
from tests.factories import initiative
from tests.integration.conftest import count, rows, wait_for

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TIMEOUT = 10.0  # generous: an answer within it is "quick"; running out of it is a hang

TARGETS = {
    "submission": "submission.service:SubmissionService",
    "review": "review.service:ReviewService",
    "awards": "awards.service:AwardsService",
    "notify": "notify.service:NotifyService",
}


@dataclass
class ServiceProcess:
    """One service process; it keeps its port across restarts so its URL stays valid."""

    service: str
    db_url: str
    amqp_uri: str
    log: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        environment = {
            **os.environ,
            f"{self.service.upper()}_DATABASE_URL": self.db_url,
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            **self.env,
        }
        command = [sys.executable, "-m", "chassis.run", self.service, TARGETS[self.service]]
        with self.log.open("a") as log:
            self.popen = subprocess.Popen(command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 90.0) -> None:
        try:
            wait_for(self.ready, timeout=timeout, interval=0.3)
        except AssertionError as exc:
            raise AssertionError(f"{self.service} not ready: {exc}\n{self.log_tail()}") from exc

    def sigkill(self) -> None:
        """No clean shutdown: unacked deliveries and open transactions die with it."""
        assert self.popen is not None and self.popen.poll() is None, f"{self.service} was not running"
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        self.popen = None  # down on purpose: not an exit for Fleet.revive to report

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a stuck shutdown must not outlive the test
            self.popen.kill()
            self.popen.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return f"--- {self.log.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        """This process's /metrics: (sample name, labels) -> value."""
        text = requests.get(f"{self.url}/metrics", timeout=CLIENT_TIMEOUT).text
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


class Fleet:
    """The processes a drill started; `close` stops every one of them (and only them)."""

    def __init__(self, amqp_uri: str, log_dir: Path) -> None:
        self.amqp_uri, self.log_dir = amqp_uri, log_dir
        self.processes: dict[str, ServiceProcess] = {}
        self.exits: list[str] = []  # processes that died on their own (not by the drill's SIGKILL)

    def add(self, service: str, db_url: str, **env: str) -> ServiceProcess:
        process = ServiceProcess(service, db_url, self.amqp_uri, self.log_dir / f"{service}.log", env)
        self.processes[service] = process
        process.start()
        return process

    def __getitem__(self, service: str) -> ServiceProcess:
        return self.processes[service]

    def wait_ready(self) -> None:
        for process in self.processes.values():
            process.wait_ready()

    def revive(self) -> None:
        """What Kubernetes does for a container that exited: note it, start it again."""
        for name, process in self.processes.items():
            if process.popen is not None and process.popen.poll() is not None:
                self.exits.append(f"{name} exited with {process.popen.returncode}\n{process.log_tail(12)}")
                process.start()

    def logs(self) -> str:
        return "\n".join(p.log_tail() for p in self.processes.values())

    def diagnosis(self, vhost: str) -> str:
        """What a stalled drill needs to be understood: each queue's state, each process's stacks."""
        parts = [queue_states(vhost)]
        spy = Path(sys.executable).with_name("py-spy")
        for name, process in self.processes.items():
            if process.popen is None or process.popen.poll() is not None:
                parts.append(f"--- {name}: not running")
                continue
            dump = subprocess.run(
                [str(spy), "dump", "--pid", str(process.popen.pid)], capture_output=True, text=True, timeout=60
            )
            parts.append(f"--- {name} (pid {process.popen.pid}) stacks:\n{dump.stdout[-6000:]}{dump.stderr[-500:]}")
        return "\n".join(parts)

    def close(self) -> None:
        for process in self.processes.values():
            process.stop()


def queue_exists(vhost: str, queue: str) -> bool:
    answer = requests.get(f"http://127.0.0.1:15672/api/queues/{vhost}/{queue}", auth=("guest", "guest"), timeout=5)
    return answer.status_code == 200


def queue_states(vhost: str) -> str:
    """Ready, unacked and consumers of every queue of the virtual host (the management API's view)."""
    try:
        answer = requests.get(f"http://127.0.0.1:15672/api/queues/{vhost}", auth=("guest", "guest"), timeout=10)
        queues = answer.json()
    except (requests.RequestException, ValueError) as exc:
        return f"queues: unknown ({type(exc).__name__})"
    lines = [
        f"{q['name']}: ready {q.get('messages_ready', '?')}, unacked {q.get('messages_unacknowledged', '?')}, "
        f"consumers {q.get('consumers', '?')}"
        for q in queues
        if q.get("messages") or not q.get("consumers")
    ]
    return "queues:\n" + "\n".join(lines)


def dead_letter_depths(vhost: str) -> dict[str, int]:
    """Every dead-letter queue of the virtual host and its depth (by AMQP: exact, not the API's lagging stats)."""
    from chassis.dead_letters import depth

    answer = requests.get(f"http://127.0.0.1:15672/api/queues/{vhost}", auth=("guest", "guest"), timeout=10)
    answer.raise_for_status()
    uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    return {q["name"]: depth(uri, q["name"]) for q in answer.json() if q["name"].endswith(".dlq")}


# Grassroots units of four top-level units; HN-KCN earns Hà Nội's per-idea bonus in awards.
UNITS = ["HN-KL-C001", "HN-KCN-C001", "THO-KKT-C001", "HCM-KCX-C001", "CTVN-HC-C001"]
BONUS_UNIT_PREFIX = "HN-KCN"


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer came
    status: int
    retry_after: str | None


@dataclass(frozen=True)
class Accepted:
    id: str
    unit: str
    at: float


class SteadyLoad:
    """Submissions at a steady rate from a few clients; 503/429 are retried after Retry-After.

    Every 201 is recorded once per Idempotency-Key; a request that gets no answer within
    CLIENT_TIMEOUT is a hang (recorded, then retried with the same key, so nothing is in doubt).
    """

    def __init__(self, api: str, rate: float, clients: int = 4, prefix: str = "drill") -> None:
        self.api, self.rate, self.clients, self.prefix = api, rate, clients, prefix
        self.accepted: list[Accepted] = []
        self.answers: list[Answer] = []
        self.hangs: list[str] = []
        self.connection_errors: list[str] = []
        self.unexpected: list[str] = []
        self._numbers = itertools.count()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._headers = {
            unit: token("support_team", unit.rsplit("-", 1)[0], f"tht-{unit.rsplit('-', 1)[0].lower()}")
            for unit in UNITS
        }

    def submit(self) -> Accepted:
        """One submission, retried with its key until it is accepted."""
        i = next(self._numbers)
        unit = UNITS[i % len(UNITS)]
        headers = {**self._headers[unit], "Idempotency-Key": f"{self.prefix}-{i}"}
        body = initiative(
            unit=unit,
            title=f"Sáng kiến diễn tập số {i}",
            authors=[{"name": "Tác giả", "member_id": f"dv-{i % 37}", "share_percent": 100}],
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                response = requests.post(
                    f"{self.api}/api/v1/initiatives", json=body, headers=headers, timeout=CLIENT_TIMEOUT
                )
            except requests.Timeout:
                self.hangs.append(f"{headers['Idempotency-Key']}: no answer within {CLIENT_TIMEOUT}s")
                continue
            except requests.ConnectionError as exc:  # the API process is never stopped in the drills
                self.connection_errors.append(f"{headers['Idempotency-Key']}: {exc}"[:300])
                time.sleep(1)
                continue
            retry_after = response.headers.get("Retry-After")
            self.answers.append(Answer(time.monotonic(), response.status_code, retry_after))
            if response.status_code == 201:
                accepted = Accepted(response.json()["id"], unit, time.monotonic())
                self.accepted.append(accepted)
                return accepted
            if response.status_code in (429, 503):
                if retry_after is None or not retry_after.isdigit():
                    self.unexpected.append(f"{response.status_code} without a Retry-After: {response.text[:200]}")
                    time.sleep(1)
                else:
                    time.sleep(min(int(retry_after), 5))
                continue
            self.unexpected.append(f"{response.status_code}: {response.text[:300]}")
            time.sleep(1)
        raise AssertionError(f"{headers['Idempotency-Key']} was never accepted")

    def _client(self) -> None:
        interval = self.clients / self.rate
        next_at = time.monotonic()
        while not self._stopping.is_set():
            try:
                self.submit()
            except AssertionError as exc:
                self.unexpected.append(str(exc))
            next_at = max(next_at + interval, time.monotonic() - interval)  # no catch-up storm after a wait
            time.sleep(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, name=f"load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def burst(self, n: int, parallel: int = 8) -> threading.Thread:
        """`n` more submissions at once, beside the steady ones: a backlog for the consumers."""

        def run() -> None:
            remaining = itertools.count()

            def worker() -> None:
                while next(remaining) < n:
                    self.submit()

            workers = [threading.Thread(target=worker, daemon=True) for _ in range(parallel)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        thread = threading.Thread(target=run, name="burst", daemon=True)
        thread.start()
        return thread

    def stop(self, timeout: float = 120.0) -> None:
        """Stops after each client's submission in progress is accepted: nothing left in doubt."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still retrying after {timeout}s"

    def answers_between(self, start: float, end: float) -> Counter[int]:
        return Counter(a.status for a in self.answers if start <= a.at <= end)


@dataclass
class Consumers:
    """The consumers' databases, for the accounting."""

    submission: str
    review: str
    awards: str
    notify: str


def expected_counts(accepted: list[Accepted]) -> dict[str, int]:
    bonuses = sum(1 for a in accepted if a.unit.startswith(BONUS_UNIT_PREFIX))
    n = len(accepted)
    return {"accepted": n, "bonuses": bonuses}


def observed_counts(dbs: Consumers, accepted: list[Accepted]) -> dict[str, Any]:
    ids = "', '".join(a.id for a in accepted)
    return {
        "submission initiatives": count(dbs.submission, "initiatives"),
        "submission outbox unpublished": count(dbs.submission, "outbox", "WHERE published_at IS NULL"),
        "review inbox": count(dbs.review, "inbox"),
        "review cases": count(dbs.review, "cases"),
        "review cases of accepted ids": count(dbs.review, "cases", f"WHERE initiative_id IN ('{ids}')"),
        "review level_reviews": count(dbs.review, "level_reviews"),
        "review level_reviews of accepted ids": count(dbs.review, "level_reviews", f"WHERE initiative_id IN ('{ids}')"),
        "awards inbox": count(dbs.awards, "inbox"),
        "awards facts": count(dbs.awards, "facts"),
        "awards facts of accepted ids": count(dbs.awards, "facts", f"WHERE initiative_id IN ('{ids}')"),
        "awards VGCL total submitted": rows(
            dbs.awards, "SELECT coalesce(max(submitted), -1) AS n FROM totals WHERE unit = 'VGCL' AND phase = '*'"
        )[0]["n"],
        "awards bonus ledger": count(dbs.awards, "ledger", "WHERE kind = 'bonus'"),
        "notify inbox submitted": count(dbs.notify, "inbox", "WHERE event_type = 'initiative.submitted'"),
        "notify inbox award.granted": count(dbs.notify, "inbox", "WHERE event_type = 'award.granted'"),
        "notify inbox": count(dbs.notify, "inbox"),
        "notify messages received": count(dbs.notify, "messages", "WHERE category = 'received'"),
        "notify messages new_item": count(dbs.notify, "messages", "WHERE category = 'new_item'"),
    }


def wanted_counts(accepted: list[Accepted]) -> dict[str, Any]:
    """What exactly-once means for these submissions in every consumer."""
    n, bonuses = len(accepted), expected_counts(accepted)["bonuses"]
    return {
        "submission initiatives": n,
        "submission outbox unpublished": 0,
        "review inbox": n,
        "review cases": n,
        "review cases of accepted ids": n,
        "review level_reviews": n,  # one grassroots level opened per initiative
        "review level_reviews of accepted ids": n,
        "awards inbox": n,
        "awards facts": n,
        "awards facts of accepted ids": n,
        "awards VGCL total submitted": n,
        "awards bonus ledger": bonuses,
        "notify inbox submitted": n,
        "notify inbox award.granted": bonuses,
        "notify inbox": n + bonuses,  # nothing else arrived, nothing twice
        # Each: the author and the support team member who entered it; the unit's reviewers.
        "notify messages received": 2 * n,
        "notify messages new_item": n,
    }


def settle(dbs: Consumers, accepted: list[Accepted], fleet: Fleet, timeout: float = 150.0) -> dict[str, Any]:
    """Waits until every consumer shows exactly the wanted counts; returns what was seen last."""
    wanted = wanted_counts(accepted)
    seen: dict[str, Any] = {}

    def done() -> bool:
        fleet.revive()
        seen.clear()
        seen.update(observed_counts(dbs, accepted))
        return seen == wanted

    with contextlib.suppress(AssertionError):  # the caller compares and shows the difference
        wait_for(done, timeout=timeout, interval=1.0)
    return seen


def report(title: str, figures: dict[str, Any]) -> None:
    """Printed with -s (and kept in the captured output of a failure)."""
    print(f"\n{title}: {json.dumps(figures, ensure_ascii=False, indent=1)}")
