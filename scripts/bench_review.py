"""`make bench`: how fast one review deployment absorbs a backlog of submitted initiatives.

Fills the `review-hn.initiative.submitted` queue with N contract-valid `initiative.submitted.HN`
events while no consumer runs (a peak week's backlog), then starts one `review-hn` process on a
fresh PostgreSQL database and times how long it takes until every event is in its inbox. A
plain pika consumer draining a copy of the same messages on the same broker is the baseline.
Prints a table and writes var/bench/review.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pika
from kombu import Connection, Exchange
from sqlalchemy import create_engine, text

from chassis.db import normalize_url, recreate_database
from chassis.envelope import dumps
from chassis.handler import consumer_queue, dead_letter_queue
from chassis.relay import ConfirmingPublisher

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, hn_submitted_event, migrate

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-review"
AMQP = amqp_uri(VHOST)


def fill(count: int, baseline_queue: str) -> float:
    """Declares the consumer's queue exactly as the service will, then publishes the backlog."""
    exchange = Exchange("submission.events", type="topic", durable=True)
    queue = consumer_queue("review-hn.initiative.submitted", exchange, "initiative.submitted", ["HN"], 10)
    with Connection(AMQP) as conn:
        channel = conn.default_channel
        exchange(channel).declare()
        dead_letter_queue("review-hn.initiative.submitted")(channel).declare()
        queue(channel).declare()
    params = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = params.channel()
    ch.queue_declare(baseline_queue, durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_bind(baseline_queue, "submission.events", "initiative.submitted.HN")
    params.close()

    rng = random.Random(2026)
    publisher = ConfirmingPublisher(AMQP)
    start, sizes = time.perf_counter(), []
    for first in range(0, count, 500):
        batch = []
        for i in range(first, min(count, first + 500)):
            e = hn_submitted_event(i, rng)
            body = dumps(e)
            sizes.append(len(body.encode()))
            batch.append(("submission.events", "initiative.submitted.HN", body, e["id"], e["type"]))
        publisher.publish_batch(batch)
    publisher.close()
    print(f"backlog: {count} events of {sum(sizes) // len(sizes)} bytes in {time.perf_counter() - start:.1f} s")
    return sum(sizes) / len(sizes)


def inbox_count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one())


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (Linux /proc), so the figure is the work done,
    not the wall time other processes on the same cores stretch."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_with_review(db: str, count: int, workers: int) -> dict[str, float]:
    env = {
        **os.environ,
        "UNIT": "HN",
        "REVIEW_DATABASE_URL": db,
        "AMQP_URI": AMQP,
        "PLATFORM_MODE": "development",
        "WEB_SERVER_ADDRESS": "127.0.0.1:8098",
        "LOG_LEVEL": "WARNING",
        "MAX_WORKERS": str(workers),
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    log_path = ROOT / "var/bench/review-hn.log"
    started = time.perf_counter()
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "review", "review.service:ReviewService"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    engine = create_engine(normalize_url(db))
    first_at = done_at = None
    first_seen, first_cpu, done_cpu = 0, 0.0, 0.0
    try:
        deadline = started + max(120, count / 20)
        while time.perf_counter() < deadline:
            seen = inbox_count(engine)
            now = time.perf_counter()
            if seen and first_at is None:  # start-up (imports, connections) is not per-event work
                first_at, first_seen, first_cpu = now, seen, cpu_seconds(service.pid)
            if seen >= count:
                done_at, done_cpu = now, cpu_seconds(service.pid)
                break
            time.sleep(0.2)
    finally:
        service.terminate()
        service.wait(timeout=30)
        processed = inbox_count(engine)
        with engine.connect() as conn:
            cases = int(conn.execute(text("SELECT count(*) FROM cases")).scalar_one())
        engine.dispose()
    if done_at is None or first_at is None:
        raise SystemExit(f"review-hn processed {processed} of {count} events in time; see {log_path}")
    return {
        "events": processed,
        "cases": cases,
        "seconds": done_at - first_at,
        "rate_per_s": count / (done_at - first_at),
        "start_to_done_s": done_at - started,
        "cpu_ms_per_event": 1000 * (done_cpu - first_cpu) / max(1, count - first_seen),
    }


def baseline_consume(queue: str, count: int) -> float:
    """Plain pika: consume and ack the same messages (prefetch 200), no work done."""
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=200)
    got = 0
    start = time.perf_counter()
    for method, _props, _body in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
        got += 1
        if got >= count:
            break
    rate = got / (time.perf_counter() - start)
    channel.cancel()
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=20, help="MAX_WORKERS of the review process")
    args = parser.parse_args()

    db = recreate_database(ADMIN_URL, "sangkien_bench_review")
    fresh_vhost(VHOST)
    (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)
    migrate("review", {**os.environ, "REVIEW_DATABASE_URL": db})
    baseline_queue = "bench-review-baseline"
    size = fill(args.events, baseline_queue)
    result = drain_with_review(db, args.events, args.workers)
    baseline = baseline_consume(baseline_queue, args.events)
    figures = {
        "events": args.events,
        "message_bytes": round(size),
        "workers": args.workers,
        "review_rate_per_s": round(result["rate_per_s"], 1),
        "review_seconds": round(result["seconds"], 1),
        "cases": result["cases"],
        "review_cpu_ms_per_event": round(result["cpu_ms_per_event"], 2),
        "baseline_pika_consume_per_s": round(baseline, 1),
        "ratio": round(result["rate_per_s"] / baseline, 3),
    }
    print()
    print(f"{'one review-hn deployment absorbing a backlog':48} {'':>12}")
    print(f"{'  events in the backlog':48} {args.events:>12}")
    print(f"{'  review: events/s (inbox, case, audit, similarity)':48} {figures['review_rate_per_s']:>12}")
    print(f"{'  review: CPU ms per event (process user+sys)':48} {figures['review_cpu_ms_per_event']:>12}")
    print(f"{'  baseline: pika consume + ack, events/s':48} {figures['baseline_pika_consume_per_s']:>12}")
    print(f"{'  ratio review / baseline':48} {figures['ratio']:>12}")
    assert result["cases"] == args.events, "every event must open exactly one case"
    (ROOT / "var/bench/review.json").write_text(json.dumps(figures, indent=2))
    print("written to var/bench/review.json")


if __name__ == "__main__":
    main()
