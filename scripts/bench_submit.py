"""`make bench`: submit rate and latency of the submission API on this machine.

Starts the submission service (PostgreSQL, a fresh database) as its own process, offers load
from client threads in this process for a fixed time, then waits until every accepted
submission's event has reached a queue bound to `initiative.submitted.*`. Prints a table and
writes var/bench/submit.json. The baseline is raw pika publish-with-confirms on the same broker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import requests

from chassis.auth import issue_dev_token
from chassis.db import recreate_database

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, initiative, migrate, percentile

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-submit"
UNITS = ["HN-KL-C001", "HN-KCN-C001", "THO-KKT-C001", "HCM-KCX-C001", "CTVN-HC-C001"]


def baseline_pika(amqp: str, seconds: float = 5.0) -> float:
    """Messages/s for 1 KB persistent messages, publisher confirms, one at a time."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp))
    channel = conn.channel()
    queue = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.confirm_delivery()
    payload, sent, start = b"x" * 1024, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        channel.basic_publish("", queue, payload, pika.BasicProperties(delivery_mode=2))
        sent += 1
    rate = sent / (time.perf_counter() - start)
    channel.queue_delete(queue)
    conn.close()
    return rate


class ArrivalRecorder(threading.Thread):
    """A subscriber on its own connection: when each initiative's event reached it."""

    def __init__(self, queue: str, amqp: str) -> None:
        super().__init__(daemon=True)
        self.queue = queue
        self.amqp = amqp
        self.first: dict[str, float] = {}
        self.duplicates = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.amqp))
        channel = conn.channel()
        channel.basic_qos(prefetch_count=500)

        def on_message(ch, method, _props, body) -> None:  # type: ignore[no-untyped-def]
            subject = json.loads(body)["subject"]
            if subject in self.first:
                self.duplicates += 1
            else:
                self.first[subject] = time.perf_counter()
            ch.basic_ack(method.delivery_tag)

        channel.basic_consume(self.queue, on_message)
        while not self.stopped.is_set():
            conn.process_data_events(time_limit=0.1)
        conn.close()

    def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not ids <= self.first.keys():
            time.sleep(0.1)
        time.sleep(1.0)  # anything arriving late now counts as a duplicate
        self.stopped.set()
        self.join(timeout=10)


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--database", default="sangkien_bench", help="database name (recreated)")
    parser.add_argument("--vhost", default=VHOST, help="RabbitMQ virtual host (recreated)")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--profile", help="py-spy profile of the service under load: SVG, or collapsed stacks if .txt")
    args = parser.parse_args()
    amqp = amqp_uri(args.vhost)

    db = recreate_database(ADMIN_URL, args.database)
    fresh_vhost(args.vhost)
    env = {
        **os.environ,
        "SUBMISSION_DATABASE_URL": db,
        "AMQP_URI": amqp,
        "PLATFORM_MODE": "development",  # the load uses HS256 development tokens
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{args.port}",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "LOG_LEVEL": "WARNING",
        "MAX_WORKERS": "40",
    }
    migrate("submission", env)
    subprocess.run([sys.executable, "-m", "submission.cli", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)

    # The queue that counts arrivals exists before anything is published.
    conn = pika.BlockingConnection(pika.URLParameters(amqp))
    channel = conn.channel()
    channel.exchange_declare("submission.events", "topic", durable=True)
    tap = f"bench-tap-{uuid.uuid4().hex[:6]}"
    channel.queue_declare(tap, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(tap, "submission.events", "initiative.submitted.*")

    log_path = ROOT / "var/bench/submission.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "submission", "submission.service:SubmissionService"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        latencies: list[float] = []
        sent: dict[str, float] = {}
        errors = [0]
        lock = threading.Lock()
        stop_at = time.perf_counter() + args.seconds
        arrivals = ArrivalRecorder(tap, amqp)
        arrivals.start()
        profiler = None
        if args.profile:
            spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "-o", args.profile]
            spy += ["--format", "raw"] if args.profile.endswith(".txt") else []  # collapsed stacks
            spy += ["--pid", str(service.pid), "--duration", str(int(args.seconds))]
            profiler = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = cpu_seconds(service.pid)

        def client(n: int) -> None:
            session = requests.Session()
            unit = UNITS[n % len(UNITS)]
            headers = {"Authorization": f"Bearer {issue_dev_token(f'tht-{n}', 'support_team', unit)}"}
            i = 0
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                response = session.post(
                    f"{base}/api/v1/initiatives", json=initiative("đo tải", i, unit), headers=headers, timeout=30
                )
                elapsed = time.perf_counter() - t0
                with lock:
                    if response.status_code == 201:
                        latencies.append(elapsed)
                        sent[response.json()["id"]] = t0
                    else:
                        errors[0] += 1
                i += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        load_seconds = time.perf_counter() - started
        accepted = len(latencies)
        arrivals.wait_for(set(sent), timeout=120)
        # The service's CPU for the load and for relaying its events (idle polls included).
        cpu_used = cpu_seconds(service.pid) - cpu_before
        if profiler is not None:
            profiler.wait(timeout=60)
        e2e_seconds = max(arrivals.first.values(), default=started + load_seconds) - started
        arrived = len(set(sent) & set(arrivals.first))
        e2e = [arrivals.first[i] - sent[i] for i in sent if i in arrivals.first]
        channel.queue_delete(tap)
        conn.close()
    finally:
        service.terminate()
        service.wait(timeout=30)

    result = {
        "clients": args.clients,
        "accepted": accepted,
        "errors": errors[0],
        "submit_rate_per_s": round(accepted / load_seconds, 1),
        "published_rate_per_s": round(arrived / e2e_seconds, 1),
        "events_arrived": arrived,
        "submit_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "submit_p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "submit_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "submit_mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0,
        "e2e_p50_ms": round(percentile(e2e, 50) * 1000, 1),
        "e2e_p99_ms": round(percentile(e2e, 99) * 1000, 1),
        "service_cpu_ms_per_accepted": round(cpu_used * 1000 / accepted, 2) if accepted else 0,
        "lost": accepted - arrived,
        "duplicated": arrivals.duplicates,
        "baseline_pika_confirm_per_msg_rate_per_s": round(baseline_pika(amqp), 1),
    }
    baseline = result["baseline_pika_confirm_per_msg_rate_per_s"]
    result["ratio_submit_to_baseline"] = round(result["submit_rate_per_s"] / baseline, 3)
    out = ROOT / "var/bench/submit.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
