"""`make bench`: a peak week of the campaign on this machine, end to end.

The whole platform runs as in production, each service a process of its own on PostgreSQL and
one broker: submission (with its outbox relay), review, awards and notify, with Hà Nội on its own
deployments (review-hn, awards-hn, notify-hn) beside the catch-alls. A load generator in another
process (scripts/peak_load.py) offers skewed submissions, including CSV uploads; reviewers
decide over the review API meanwhile. Every process competes for the same two cores;
`--consumer-nice 10` gives the API the CPU first, as API pods with guaranteed CPU would. Phases:

  baseline    raw pika: publish with confirms + consume, 1 KB messages, on the same broker
  latency     a fixed offered rate (300/s): submit latency, and submit -> in-app notification
  throughput  as fast as the clients get answers, for a minute: the end-to-end rate
  isolation   Thanh Hóa's end-to-end p99 at a low rate, without and then with a 50,000-event
              backlog of Hà Nội's in front of Hà Nội's deployments

Every accepted submission is then looked up in review, awards and notify (peak_accounting.py).
Prints a table, writes var/bench/peak-week.json and var/bench/peak-week.png.
`--smoke` runs a few hundred submissions and only the accounting (make test runs it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pika
import requests

from chassis.auth import issue_dev_token
from chassis.db import recreate_database
from chassis.envelope import dumps
from chassis.relay import ConfirmingPublisher

sys.path.insert(0, str(Path(__file__).parent))
import peak_accounting
from benchlib import ADMIN_URL, MANAGEMENT, amqp_uri, fresh_vhost, hn_submitted_event, percentile

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var/bench"
DATABASES = ["submission", "review", "review_hn", "awards", "notify"]


@dataclass(frozen=True)
class Process:
    name: str
    service: str
    target: str
    database: str
    env: dict[str, str]
    replicas: int = 1  # processes sharing the port (SO_REUSEPORT): the kernel spreads connections


# Workers per consumer: the work is CPU-bound on two cores, and each holds a database connection.
CATCH_ALL = {"UNITS": "*", "UNITS_EXCLUDE": "HN", "MAX_WORKERS": "4"}
DEDICATED = {"UNIT": "HN", "MAX_WORKERS": "4"}
TOPOLOGY = [
    Process("submission", "submission", "submission.service:SubmissionService", "submission", {"MAX_WORKERS": "12"}, 2),
    Process("review", "review", "review.service:ReviewService", "review", CATCH_ALL),
    Process("review-hn", "review", "review.service:ReviewService", "review_hn", DEDICATED),
    Process("awards", "awards", "awards.service:AwardsService", "awards", CATCH_ALL),
    Process("awards-hn", "awards", "awards.service:AwardsService", "awards", DEDICATED),
    Process("notify", "notify", "notify.service:NotifyService", "notify", CATCH_ALL),
    Process("notify-hn", "notify", "notify.service:NotifyService", "notify", DEDICATED),
]


# The smoke run in make test: one process per service, beside the test suite's own connections.
SMOKE_TOPOLOGY = [
    Process("submission", "submission", "submission.service:SubmissionService", "submission", {"MAX_WORKERS": "8"}),
    *(
        Process(p.name, p.service, p.target, p.database, {"UNITS": "*", "MAX_WORKERS": "3"})
        for p in TOPOLOGY
        if p.name in ("review", "awards", "notify")
    ),
]


class Platform:
    """The services as processes on fresh databases and a fresh virtual host."""

    def __init__(self, tag: str, first_port: int, consumer_nice: int = 0, smoke: bool = False) -> None:
        self.topology = SMOKE_TOPOLOGY if smoke else TOPOLOGY
        self.consumer_nice = consumer_nice
        self.vhost = f"bench-peak-{tag}"
        self.amqp = amqp_uri(self.vhost)
        self.urls = {d: recreate_database(ADMIN_URL, f"sangkien_peak_{tag}_{d}") for d in DATABASES}
        self.ports = {p.name: first_port + i for i, p in enumerate(TOPOLOGY)}  # the same in both
        self.processes: list[subprocess.Popen] = []
        self.services: list[str] = []  # the service each of `processes` runs

    def ledger_urls(self) -> dict[str, str]:
        review = ",".join(dict.fromkeys(self.urls[p.database] for p in self.topology if p.service == "review"))
        return {
            "submission": self.urls["submission"],
            "review": review,
            **{k: self.urls[k] for k in ("awards", "notify")},
        }

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, process: Process) -> dict[str, str]:
        return {
            **os.environ,
            f"{process.service.upper()}_DATABASE_URL": self.urls[process.database],
            "AMQP_URI": self.amqp,
            "PLATFORM_MODE": "development",  # the load uses HS256 development tokens
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.ports[process.name]}",
            "AWARDS_API_URL": self.base("awards"),
            "NOTIFY_SERVICE_TOKEN": issue_dev_token("notify", "operator", "VGCL"),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "LOG_LEVEL": "WARNING",
            **process.env,
        }

    def start(self) -> None:
        fresh_vhost(self.vhost)
        migrated = set()
        for process in self.topology:
            if process.database not in migrated:
                ini = f"services/{process.service}/alembic.ini"
                alembic = [sys.executable, "-m", "alembic", "-c", ini, "upgrade", "head"]
                subprocess.run(alembic, env=self.env(process), cwd=ROOT, check=True, capture_output=True)
                migrated.add(process.database)
        OUT.mkdir(parents=True, exist_ok=True)
        for process in self.topology:
            log = (OUT / f"peak-{process.name}.log").open("w")
            command = [sys.executable, "-m", "chassis.run", process.service, process.target]
            # Lower priority for the consumers, as an API pod's guaranteed CPU would give it: the
            # broker holds the peak and they catch up after.
            nice = 0 if process.service == "submission" else self.consumer_nice
            for _ in range(process.replicas):
                self.services.append(process.service)
                self.processes.append(
                    subprocess.Popen(
                        command,
                        env=self.env(process),
                        cwd=ROOT,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        preexec_fn=(lambda n=nice: os.nice(n)) if nice else None,
                    )
                )
        for process in self.topology:
            self.wait_ready(process.name)
        seed = [sys.executable, "-m", "submission.cli", "seed"]
        subprocess.run(seed, env=self.env(self.topology[0]), cwd=ROOT, check=True, capture_output=True)
        # The registry has reached awards when every top-level unit is known there.
        wait(lambda: peak_accounting.count(self.urls["awards"], "units") >= 60, 120, "the registry to reach awards")

    def wait_ready(self, name: str) -> None:
        def ready() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{self.base(name)}/readyz", timeout=1).status_code == 200
            return False

        wait(ready, 60, f"{name} to be ready (see var/bench/peak-{name}.log)")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()  # nameko may not exit on TERM with a backlog in flight

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each service's processes have used so far, from /proc."""
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for service, process in zip(self.services, self.processes, strict=True):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[service] = used.get(service, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return used

    def queue_depth(self, prefix: str) -> int:
        answer = requests.get(f"{MANAGEMENT}/queues/{self.vhost}", auth=("guest", "guest"), timeout=10)
        return sum(q.get("messages", 0) for q in answer.json() if q["name"].startswith(prefix))


def wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise RuntimeError(f"timed out waiting for {what}")


def baseline_pika(amqp: str, seconds: float = 8.0) -> float:
    """1 KB persistent messages through a quorum queue: publish with confirms and consume at once."""
    queue = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    publish = pika.BlockingConnection(pika.URLParameters(amqp))
    channel = publish.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.confirm_delivery()
    received = [0]
    stop = threading.Event()

    def consume() -> None:
        conn = pika.BlockingConnection(pika.URLParameters(amqp))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=200)

        def on_message(c, method, _props, _body) -> None:  # type: ignore[no-untyped-def]
            received[0] += 1
            c.basic_ack(method.delivery_tag)

        ch.basic_consume(queue, on_message)
        while not stop.is_set():
            conn.process_data_events(time_limit=0.1)
        conn.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    payload, start = b"x" * 1024, time.perf_counter()
    while time.perf_counter() - start < seconds:
        channel.basic_publish("", queue, payload, pika.BasicProperties(delivery_mode=2))
    sent_by = time.perf_counter()
    elapsed = sent_by - start
    stop.set()
    consumer.join(timeout=10)
    channel.queue_delete(queue)
    publish.close()
    return received[0] / elapsed


def offer(platform: Platform, tag: str, *options: str) -> list[dict]:
    """Runs the load generator process; returns its answers."""
    out = OUT / f"peak-load-{tag}.jsonl"
    command = [sys.executable, str(ROOT / "scripts/peak_load.py"), "--api", platform.base("submission")]
    subprocess.run([*command, "--out", str(out), "--tag", tag, *options], cwd=ROOT, check=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


class Reviewers(threading.Thread):
    """Grassroots reviewers of a few units work through their queues while the load runs."""

    UNITS = [("review", "THO-KKT-C001"), ("review-hn", "HN-KL-C001"), ("review", "HCM-KCX-C001")]
    SCORES = {"novelty": 8.5, "applicability": 8, "benefit": 9}

    def __init__(self, platform: Platform) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.stopped = threading.Event()
        self.recognized: list[str] = []
        self.refused = 0

    def run(self) -> None:
        session = requests.Session()
        while not self.stopped.is_set():
            running = {p.name for p in self.platform.topology}
            for deployment, unit in self.UNITS:
                deployment = deployment if deployment in running else "review"  # the smoke run's catch-all
                api = f"{self.platform.base(deployment)}/api/v1/reviews"
                who = {"Authorization": f"Bearer {issue_dev_token(f'rv-{unit.lower()}', 'reviewer', unit)}"}
                page = session.get(f"{api}?status=received&level=grassroots&limit=10", headers=who, timeout=30)
                for item in page.json().get("items", [])[:5] if page.ok else []:
                    self.decide(session, f"{api}/{item['initiative_id']}", who)
            self.stopped.wait(1.0)

    def decide(self, session: requests.Session, url: str, who: dict[str, str]) -> None:
        steps = [("accept", {"note": "Hồ sơ đầy đủ"}), ("scores", self.SCORES), ("decision", {"decision": "recognize"})]
        for step, body in steps:
            if not session.post(f"{url}/{step}", json=body, headers=who, timeout=30).ok:
                self.refused += 1
                return
        self.recognized.append(url.rsplit("/", 1)[1])


def accepted_ids(records: list[dict], ledger: peak_accounting.Ledger, since: float) -> set[str]:
    """Single submissions by their answers; CSV rows (whose ids the upload does not answer) as
    every other initiative the submission database accepted since the phase began."""
    ids = {r["id"] for r in records if r["kind"] == "single" and r["id"]}
    if any(r["kind"] == "bulk" for r in records):
        ids |= {i for i, t in ledger.created.items() if t >= since}
    return ids


def submit_latencies(records: list[dict]) -> list[float]:
    return [r["finished"] - r["scheduled"] for r in records if r["kind"] == "single" and r["status"] == 201]


def e2e_latencies(records: list[dict], ledger: peak_accounting.Ledger) -> list[float]:
    """Submit (scheduled) -> the first in-app notification of it."""
    return [
        ledger.notified[r["id"]] - r["scheduled"]
        for r in records
        if r["kind"] == "single" and r["id"] in ledger.notified
    ]


def drain(platform: Platform, ids: set[str], timeout: float) -> peak_accounting.Ledger:
    """Waits until every accepted initiative is done everywhere (or the time is up)."""
    deadline = time.time() + timeout
    while True:
        ledger = peak_accounting.read(platform.ledger_urls())
        missing = ledger.lost(ids)
        if not missing or time.time() > deadline:
            return ledger
        time.sleep(2.0)


def publish_backlog(platform: Platform, count: int) -> None:
    """Hà Nội's backlog, straight onto the exchange the submission service publishes to."""
    rng, publisher = random.Random(7), ConfirmingPublisher(platform.amqp)
    try:
        for first in range(0, count, 1000):
            batch = []
            for i in range(first, min(count, first + 1000)):
                event = hn_submitted_event(i, rng)
                batch.append(("submission.events", "initiative.submitted.HN", dumps(event), event["id"], event["type"]))
            publisher.publish_batch(batch)
    finally:
        publisher.close()


def hn_handled(platform: Platform) -> int:
    """Events review-hn has handled so far (its inbox): it serves Hà Nội alone."""
    return peak_accounting.count(platform.urls["review_hn"], "inbox")


def per_second(times: list[float], start: float) -> dict[int, int]:
    bins: dict[int, int] = {}
    for t in times:
        bins[int(t - start)] = bins.get(int(t - start), 0) + 1
    return bins


def plot(path: Path, start: float, phases: list[tuple[str, float, float]], records: list[dict], ledger) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    singles = [r for r in records if r["kind"] == "single" and r["status"] == 201]
    accepted = per_second([r["finished"] for r in singles], start)
    done = per_second([t for t in (ledger.done_at(r["id"]) for r in singles) if t], start)
    latency: dict[int, list[float]] = {}
    e2e: dict[int, list[float]] = {}
    for r in singles:
        latency.setdefault(int(r["scheduled"] - start), []).append((r["finished"] - r["scheduled"]) * 1000)
        if r["id"] in ledger.notified:
            e2e.setdefault(int(r["scheduled"] - start), []).append((ledger.notified[r["id"]] - r["scheduled"]) * 1000)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    span = range(int(max(end for _, _, end in phases) - start) + 1)
    for series, label in ((accepted, "accepted by the API /s"), (done, "done in review+awards+notify /s")):
        top.plot(list(span), [series.get(x, 0) for x in span], label=label, linewidth=0.8)
    top.set_ylabel("submissions / s")
    top.legend(loc="upper right")
    for series, label in ((latency, "submit p99 (ms)"), (e2e, "submit → in-app p99 (ms)")):
        # No line across seconds without submissions (between phases): gaps stay gaps.
        values = [percentile(series[x], 99) if x in series else float("nan") for x in span]
        bottom.plot(list(span), values, label=label, linewidth=0.8)
    bottom.set_yscale("log")
    bottom.set_ylabel("latency, ms (log)")
    bottom.set_xlabel("seconds since the first phase began")
    bottom.legend(loc="upper left")
    for name, begin, end in phases:
        for axis in (top, bottom):
            axis.axvspan(begin - start, end - start, alpha=0.08)
        top.annotate(name, (begin - start, 0), xytext=(3, 3), textcoords="offset points", fontsize=8)
    fig.suptitle("Peak week on one 2-core machine: single submissions (CSV rows not plotted)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ms(values: list[float], p: float) -> float:
    return round(percentile(values, p) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few hundred submissions, accounting only")
    parser.add_argument("--rate", type=float, default=300, help="offered rate of the latency phase")
    parser.add_argument("--latency-seconds", type=float, default=30)
    parser.add_argument("--throughput-seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=24, help="closed-loop clients of the throughput phase")
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--isolation-rate", type=float, default=5)
    parser.add_argument("--isolation-seconds", type=float, default=40)
    parser.add_argument("--first-port", type=int, default=8190)
    parser.add_argument("--consumer-nice", type=int, default=0, help="consumers' nice level; the API keeps 0")
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.latency_seconds, args.throughput_seconds = 40, 5, 5
    tag = "smoke" if args.smoke else "week"

    platform = Platform(tag, args.first_port, args.consumer_nice, args.smoke)
    results: dict[str, object] = {}
    try:
        platform.start()
        baseline = baseline_pika(platform.amqp, 2.0 if args.smoke else 8.0)
        start = time.time()
        phases: list[tuple[str, float, float]] = []
        records: list[dict] = []

        # Latency at a fixed offered rate, on an idle platform.
        began = time.time()
        latency_records = offer(
            platform, f"{tag}-lat", "--mode", "open", "--rate", str(args.rate), "--seconds", str(args.latency_seconds)
        )
        records += latency_records
        latency_ids = accepted_ids(latency_records, peak_accounting.read(platform.ledger_urls()), began)
        ledger = drain(platform, latency_ids, 900)
        phases.append(("latency", began, time.time()))

        # Throughput: clients as fast as answers come, CSV uploads among them, reviewers deciding.
        began = time.time()
        cpu_before = platform.cpu_seconds()
        reviewers = Reviewers(platform)
        reviewers.start()
        bulk = ["--bulk-every", "40", "--bulk-rows", "50" if args.smoke else "100"]
        throughput_records = offer(
            platform,
            f"{tag}-tp",
            "--mode",
            "closed",
            "--clients",
            str(args.clients),
            "--seconds",
            str(args.throughput_seconds),
            *bulk,
        )
        records += throughput_records
        submitted_by = max(r["finished"] for r in throughput_records)
        throughput_ids = accepted_ids(throughput_records, peak_accounting.read(platform.ledger_urls()), began)
        ledger = drain(platform, latency_ids | throughput_ids, 1800)
        cpu_after = platform.cpu_seconds()
        reviewers.stopped.set()
        reviewers.join(timeout=60)
        phases.append(("throughput", began, time.time()))
        done = [ledger.done_at(i) for i in throughput_ids]
        finished = max((t for t in done if t), default=submitted_by)

        everything = latency_ids | throughput_ids
        recognized = len(reviewers.recognized)
        with contextlib.suppress(RuntimeError):  # short of them is reported as lost below
            wait(
                lambda: peak_accounting.national(platform.urls["awards"], "recognized") >= recognized,
                120,
                "recognitions to reach awards",
            )
        national_recognized = peak_accounting.national(platform.urls["awards"], "recognized")
        lost = ledger.lost(everything)
        phantom = len(ledger.created) - len(everything)
        duplicated = (
            ledger.duplicated
            + max(0, ledger.national_total - len(everything))
            + max(0, national_recognized - recognized)
        )
        singles = [r for r in latency_records if r["kind"] == "single"]
        submit, e2e = submit_latencies(singles), e2e_latencies(singles, ledger)
        results = {
            "accepted": len(everything),
            "lost": len(lost) + max(0, recognized - national_recognized),
            "duplicated": duplicated,
            "phantom_writes": phantom,
            "refused_by_api": sum(1 for r in records if r["status"] not in (200, 201)),
            "csv_rows_accepted": sum(r["rows"] for r in records if r["kind"] == "bulk"),
            "recognized_by_reviewers": recognized,
            "recognized_in_awards": national_recognized,
            "offered_rate_per_s": args.rate,
            "submit_p50_ms": ms(submit, 50),
            "submit_p95_ms": ms(submit, 95),
            "submit_p99_ms": ms(submit, 99),
            "e2e_p50_ms": ms(e2e, 50),
            "e2e_p99_ms": ms(e2e, 99),
            "api_rate_per_s": round(len(throughput_ids) / (submitted_by - began), 1),
            "e2e_rate_per_s": round(len(throughput_ids) / (finished - began), 1),
            "baseline_pika_rate_per_s": round(baseline, 1),
            "consumer_nice": args.consumer_nice,
        }
        results["ratio"] = round(float(results["e2e_rate_per_s"]) / baseline, 4)  # type: ignore[arg-type]
        # Python's share of the cost: each service's CPU over the throughput phase per initiative.
        per = {k: (cpu_after.get(k, 0.0) - v) * 1000 / max(1, len(throughput_ids)) for k, v in cpu_before.items()}
        results["cpu_ms_per_initiative"] = {k: round(v, 2) for k, v in sorted(per.items())}
        results["cpu_ms_per_initiative_all_services"] = round(sum(per.values()), 2)

        if not args.smoke:
            results.update(isolation(platform, args, tag, phases, records))
        plot(OUT / f"peak-{tag}.png", start, phases, records, peak_accounting.read(platform.ledger_urls()))
    finally:
        platform.stop()
    results["targets"] = {
        "e2e_rate_per_s": ">= 1000 for a minute",
        "submit_p99_ms": "<= 50 at 300/s offered",
        "e2e_p99_ms": "<= 1000 at 300/s offered",
        "isolation_ratio": "<= 2",
    }
    out = OUT / ("peak-week.json" if not args.smoke else "peak-smoke.json")
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    width = max(len(k) for k in results)
    for key, value in results.items():
        if key != "targets":
            print(f"{key:<{width}}  {value}")
    print(f"written to {out.relative_to(ROOT)} and var/bench/peak-{tag}.png")
    if results["lost"] or results["duplicated"] or results["phantom_writes"]:
        sys.exit("zero-loss accounting failed: see the figures above")


def isolation(  # type: ignore[type-arg]
    platform: Platform, args: argparse.Namespace, tag: str, phases: list, plotted: list[dict]
) -> dict[str, object]:
    """Thanh Hóa's end-to-end p99 alone, then while Hà Nội's deployments work through a backlog."""
    figures: dict[str, list[float]] = {}
    hn_before = 0
    time.sleep(10)  # what the earlier phases left (vacuum, timers) settles first
    for label in ("alone", "beside_backlog"):
        if label == "beside_backlog":
            already = hn_handled(platform)
            publish_backlog(platform, args.backlog)
            # Hà Nội's deployments are busy with it before Thanh Hóa's measurement starts.
            wait(lambda n=already: hn_handled(platform) > n + 500, 300, "review-hn to work on the backlog")
            hn_before = hn_handled(platform)
        began = time.time()
        records = offer(
            platform,
            f"{tag}-iso-{label}",
            "--mode",
            "open",
            "--only-top",
            "THO",
            "--rate",
            str(args.isolation_rate),
            "--seconds",
            str(args.isolation_seconds),
        )
        plotted += records
        ids = {r["id"] for r in records if r["id"]}
        ledger = drain(platform, ids, 600)
        phases.append((f"THO {label}", began, time.time()))
        figures[label] = e2e_latencies(records, ledger)
    hn_during = hn_handled(platform) - hn_before
    alone, beside = percentile(figures["alone"], 99), percentile(figures["beside_backlog"], 99)
    return {
        "isolation_p99_alone_ms": round(alone * 1000, 1),
        "isolation_p99_beside_backlog_ms": round(beside * 1000, 1),
        "isolation_ratio": round(beside / alone, 2) if alone else None,
        "isolation_backlog_events": args.backlog,
        "isolation_hn_backlog_events_handled_meanwhile": hn_during,
        "isolation_hn_backlog_left": platform.queue_depth("review-hn.initiative.submitted"),
    }


if __name__ == "__main__":
    main()
