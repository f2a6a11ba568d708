"""How much CPU awards spends per initiative: one awards process draining a backlog of submissions.

Fills the `awards.initiative.submitted` queue with N contract-valid `initiative.submitted.HN`
events while no consumer runs, then starts one awards process on a fresh PostgreSQL database and
times the drain until every event is in its inbox (and the outbox it staged is published). The
figure that matters is the awards process's own CPU per event (/proc utime + stime), which other
work on the machine does not change the way it changes wall time. The baseline, in the same run:
a plain pika consumer draining a copy of the same messages (consume + ack, no work), its CPU too.
Prints a table and writes var/bench/awards_drain.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, hn_submitted_event, migrate, process_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-awards-drain"
AMQP = amqp_uri(VHOST)
QUEUE = "awards.initiative.submitted"
BASELINE_QUEUE = "bench-awards-baseline"


def fill(count: int) -> float:
    """Declares the consumer's queue as the service will, and a baseline copy, then publishes the backlog."""
    exchange = Exchange("submission.events", type="topic", durable=True)
    with Connection(AMQP) as conn:
        channel = conn.default_channel
        exchange(channel).declare()
        dead_letter_queue(QUEUE)(channel).declare()
        consumer_queue(QUEUE, exchange, "initiative.submitted", ["*"], 10)(channel).declare()
    connection = pika.BlockingConnection(pika.URLParameters(AMQP))
    channel = connection.channel()
    channel.queue_declare(BASELINE_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(BASELINE_QUEUE, "submission.events", "initiative.submitted.HN")
    connection.close()

    rng = random.Random(2026)
    publisher = ConfirmingPublisher(AMQP)
    sizes = []
    for first in range(0, count, 500):
        batch = []
        for i in range(first, min(count, first + 500)):
            event = hn_submitted_event(i, rng)
            body = dumps(event)
            sizes.append(len(body.encode()))
            batch.append(("submission.events", "initiative.submitted.HN", body, event["id"], event["type"]))
        publisher.publish_batch(batch)
    publisher.close()
    return sum(sizes) / len(sizes)


def progress(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(events in the inbox, facts, outbox rows not yet published)."""
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM facts),"
                    " (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
                )
            ).one()
        )


def drain_with_awards(db: str, count: int, batch_size: int, profile: bool) -> dict[str, float]:
    env = {
        **os.environ,
        "AWARDS_DATABASE_URL": db,
        "AMQP_URI": AMQP,
        "UNITS": "*",
        "PLATFORM_MODE": "development",
        "WEB_SERVER_ADDRESS": "127.0.0.1:8094",
        "LOG_LEVEL": "WARNING",
        "CONSUMER_BATCH_SIZE": str(batch_size),
        "AWARDS_DAILY_SECONDS": "3600",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    bench = ROOT / "var/bench"
    log_path = bench / "awards-drain.log"
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "awards", "awards.service:AwardsService"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    spy = None
    engine = create_engine(normalize_url(db))
    started = time.perf_counter()
    first_at = done_at = published_at = None
    cpu_first = cpu_done = cpu_published = 0.0
    seen_first = 0
    try:
        deadline = started + max(180, count / 5)
        while time.perf_counter() < deadline:
            seen, _facts, unpublished = progress(engine)
            now = time.perf_counter()
            if seen and first_at is None:
                first_at, cpu_first, seen_first = now, process_cpu_seconds(service.pid), seen
                if profile:
                    py_spy = str(Path(sys.executable).parent / "py-spy")
                    svg = str(bench / "awards-drain.svg")
                    spy = subprocess.Popen(
                        [py_spy, "record", "--nonblocking", "-o", svg, "--pid", str(service.pid)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
            if seen >= count and done_at is None:
                done_at, cpu_done = now, process_cpu_seconds(service.pid)
            if done_at is not None and unpublished == 0:
                published_at, cpu_published = now, process_cpu_seconds(service.pid)
                break
            time.sleep(0.1)
    finally:
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its flame graph on SIGINT
            spy.wait(timeout=60)
        service.terminate()
        service.wait(timeout=30)
        seen, facts, _ = progress(engine)
        with engine.connect() as conn:
            ledger = int(conn.execute(text("SELECT count(*) FROM ledger")).scalar_one())
            # A batch claims its events in one statement, with one timestamp: transactions = distinct ones.
            batches = int(conn.execute(text("SELECT count(DISTINCT processed_at) FROM inbox")).scalar_one())
            totals = int(
                conn.execute(
                    text("SELECT coalesce(sum(submitted), 0) FROM totals WHERE unit = 'HN' AND phase = '*'")
                ).scalar()
            )
        engine.dispose()
    if first_at is None or done_at is None or published_at is None:
        raise SystemExit(f"awards handled {seen} of {count} events in time; see {log_path}")
    drained = count - seen_first
    return {
        "facts": facts,
        "ledger": ledger,
        "hn_submitted": totals,
        "events_per_transaction": seen / max(batches, 1),
        "seconds": done_at - first_at,
        "rate_per_s": drained / (done_at - first_at),
        "cpu_ms_per_event": 1000 * (cpu_done - cpu_first) / drained,
        "cpu_ms_per_event_with_relay": 1000 * (cpu_published - cpu_first) / drained,
        "cpu_startup_s": cpu_first,
    }


def baseline_consume(count: int) -> dict[str, float]:
    """Plain pika: consume and ack the same messages (prefetch 200), no work done."""
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    connection = pika.BlockingConnection(pika.URLParameters(AMQP))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=200)
    got = 0
    start = time.perf_counter()
    for method, _props, body in channel.consume(BASELINE_QUEUE, inactivity_timeout=5):
        if method is None:
            break
        json.loads(body)
        channel.basic_ack(method.delivery_tag)
        got += 1
        if got >= count:
            break
    seconds = time.perf_counter() - start
    channel.cancel()
    connection.close()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"rate_per_s": got / seconds, "cpu_ms_per_event": 1000 * cpu / max(got, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=200, help="CONSUMER_BATCH_SIZE of the awards process")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graph to var/bench/awards-drain.svg")
    args = parser.parse_args()

    db = recreate_database(ADMIN_URL, "sangkien_bench_awards_drain")
    fresh_vhost(VHOST)
    (ROOT / "var/bench").mkdir(parents=True, exist_ok=True)
    migrate("awards", {**os.environ, "AWARDS_DATABASE_URL": db})
    size = fill(args.events)
    result = drain_with_awards(db, args.events, args.batch_size, args.profile)
    baseline = baseline_consume(args.events)
    figures = {
        "events": args.events,
        "message_bytes": round(size),
        "batch_size": args.batch_size,
        "awards_cpu_ms_per_event": round(result["cpu_ms_per_event"], 3),
        "awards_cpu_ms_per_event_with_relay": round(result["cpu_ms_per_event_with_relay"], 3),
        "awards_rate_per_s": round(result["rate_per_s"], 1),
        "awards_seconds": round(result["seconds"], 1),
        "awards_startup_cpu_s": round(result["cpu_startup_s"], 2),
        "awards_events_per_transaction": round(result["events_per_transaction"], 1),
        "baseline_pika_cpu_ms_per_event": round(baseline["cpu_ms_per_event"], 3),
        "baseline_pika_consume_per_s": round(baseline["rate_per_s"], 1),
        "facts": result["facts"],
        "ledger_rows": result["ledger"],
    }
    print()
    print(f"{'one awards process draining a backlog of submissions':56} {'':>10}")
    print(f"{'  events in the backlog':56} {args.events:>10}")
    print(f"{'  consumer batch size':56} {args.batch_size:>10}")
    print(f"{'  awards: CPU ms per event (consumers)':56} {figures['awards_cpu_ms_per_event']:>10}")
    relayed = figures["awards_cpu_ms_per_event_with_relay"]
    print(f"{'  awards: CPU ms per event (with the outbox relayed)':56} {relayed:>10}")
    print(f"{'  awards: events/s (wall, shared machine)':56} {figures['awards_rate_per_s']:>10}")
    print(
        f"{'  awards: events per transaction (batches as they came)':56} {figures['awards_events_per_transaction']:>10}"
    )
    print(f"{'  baseline: pika consume + ack, CPU ms per event':56} {figures['baseline_pika_cpu_ms_per_event']:>10}")
    print(f"{'  baseline: pika consume + ack, events/s':56} {figures['baseline_pika_consume_per_s']:>10}")
    assert result["facts"] == args.events, "every event must make exactly one fact"
    assert result["hn_submitted"] == args.events, "Hà Nội's total must count every initiative once"
    (ROOT / "var/bench/awards_drain.json").write_text(json.dumps(figures, indent=2))
    print("written to var/bench/awards_drain.json")


if __name__ == "__main__":
    main()
