"""`make bench`: notification throughput — events in, inbox messages and e-mails out.

Queues N `initiative.submitted` events for notify while it is stopped (each one's author has
chosen e-mail), then starts one notify process beside a real local SMTP server (aiosmtpd) and
times: events consumed per second (each: the author's and the unit reviewers' inbox messages,
the author's e-mail queued) and e-mails delivered per second through SMTP. The baseline, in the
same run: plain smtplib sending the same number of messages to the same server, one connection
each, as the dispatcher does. CPU: the notify process's own CPU time (/proc/PID/stat) per event,
while it drains the backlog (from its first consumed event to its last, the dispatcher's e-mails
meanwhile included) and over the whole run. `--inbox-only`: the authors chose no outside channel, so
the figures are the consumer's alone (inbox messages, no e-mail).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import smtplib
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from kombu import Connection, Exchange
from sqlalchemy import create_engine, text

from chassis.db import normalize_url, recreate_database
from chassis.envelope import dumps, new_event
from chassis.handler import consumer_queue, dead_letter_queue
from chassis.relay import ConfirmingPublisher

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import ADMIN_URL, amqp_uri, fresh_vhost, migrate, process_cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
VHOST = "bench-notify"
AMQP = amqp_uri(VHOST)
SMTP_PORT = 8925
MEMBERS = 500


def event(i: int) -> dict:
    initiative_id = str(uuid.uuid4())
    member = f"dv-bench-{i % MEMBERS}"
    data = {
        "initiative_id": initiative_id,
        "revision": 1,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": "HN-KL-C001",
        "unit_path": ["VGCL", "HN", "HN-KL", "HN-KL-C001"],
        "top_unit": "HN",
        "block": "administration",
        "title": f"Sáng kiến đo tải số {i}",
        "field": "production_business",
        "target_group": 5,
        "confidential": False,
        "problem": "Vấn đề",
        "solution": "Giải pháp",
        "novelty": "Mới",
        "scope": "Phạm vi",
        "first_applied_on": None,
        "benefit_vnd_per_year": 1_000_000,
        "benefit_description": None,
        "authors": [{"member_id": member, "share_percent": 100.0}],
        "submitted_by": {"member_id": member, "role": "member"},
        "on_behalf": False,
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    return new_event("initiative.submitted", data, source="/vgcl/submission", subject=initiative_id, unit="HN")


def prepare(db: str, count: int, channels: str) -> None:
    engine = create_engine(normalize_url(db))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (recipient, email, language, channels, digest, updated_by, updated_at) "
                "VALUES (:r, :e, 'vi', :c, true, 'bench', :t)"
            ),
            [
                {"r": f"member:dv-bench-{i}", "e": f"dv-bench-{i}@example.vn", "c": channels, "t": now}
                for i in range(MEMBERS)
            ],
        )
    engine.dispose()
    exchange = Exchange("submission.events", type="topic", durable=True)
    with Connection(AMQP) as conn:
        channel = conn.default_channel
        exchange(channel).declare()
        dead_letter_queue("notify.initiative.submitted")(channel).declare()
        consumer_queue("notify.initiative.submitted", exchange, "initiative.submitted", ["*"], 10)(channel).declare()
    publisher = ConfirmingPublisher(AMQP)
    for first in range(0, count, 500):
        batch = [event(i) for i in range(first, min(count, first + 500))]
        publisher.publish_batch(
            [("submission.events", "initiative.submitted.HN", dumps(e), e["id"], e["type"]) for e in batch]
        )
    publisher.close()


def counts(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return (
            int(conn.execute(text("SELECT count(*) FROM inbox")).scalar_one()),
            int(conn.execute(text("SELECT count(*) FROM messages")).scalar_one()),
            int(conn.execute(text("SELECT count(*) FROM deliveries WHERE status = 'sent'")).scalar_one()),
        )


def baseline_smtp(count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "bench@example.vn", f"x{i}@example.vn", "Đã nhận sáng kiến"
        mail.set_content("Sáng kiến đã được tiếp nhận.")
        with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
            smtp.send_message(mail)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=50, help="CONSUMER_BATCH_SIZE (the drills use 200)")
    parser.add_argument("--inbox-only", action="store_true", help="no e-mails: the consumer's figures alone")
    args = parser.parse_args()
    db = recreate_database(ADMIN_URL, "sangkien_bench_notify")
    fresh_vhost(VHOST)
    bench = ROOT / "var/bench"
    bench.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "NOTIFY_DATABASE_URL": db,
        "AMQP_URI": AMQP,
        "PLATFORM_MODE": "development",
        "WEB_SERVER_ADDRESS": "127.0.0.1:8096",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(SMTP_PORT),
        "NOTIFY_RATES": "email=2000,zalo=10,sms=5,webhook=50",
        "NOTIFY_POLL_SECONDS": "0.1",
        "CONSUMER_BATCH_SIZE": str(args.batch_size),
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    migrate("notify", env)
    maildir = bench / "mail"
    subprocess.run(["rm", "-rf", str(maildir)], check=True)
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{SMTP_PORT}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    prepare(db, args.events, "[]" if args.inbox_only else '["email"]')
    engine = create_engine(normalize_url(db))
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "notify", "notify.service:NotifyService"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(bench / "notify.log").open("w"),
    )
    started = time.perf_counter()
    consumed_at = sent_at = None
    first: tuple[int, float] | None = None  # (consumed, CPU seconds) when the first events were in
    cpu_consumed = cpu_sent = 0.0
    try:
        while time.perf_counter() - started < max(180, args.events / 10):
            cpu = process_cpu_seconds(service.pid)
            consumed, _messages, sent = counts(engine)
            now = time.perf_counter()
            if consumed and first is None:
                first = (consumed, cpu)
            if consumed >= args.events and consumed_at is None:
                consumed_at, cpu_consumed = now, cpu
            if args.inbox_only and consumed_at is not None:
                sent_at, cpu_sent = now, cpu
                break
            if sent >= args.events:
                sent_at, cpu_sent = now, cpu
                break
            time.sleep(0.2)
    finally:
        service.terminate()
        service.wait(timeout=30)
    consumed, messages, sent = counts(engine)
    engine.dispose()
    delivered = len(mailbox.Maildir(str(maildir)))
    baseline = baseline_smtp(min(1000, args.events)) if not args.inbox_only else 0.0
    sink.terminate()
    if consumed_at is None or sent_at is None or first is None:
        raise SystemExit(f"notify consumed {consumed} and sent {sent} of {args.events}; see {bench / 'notify.log'}")
    figures = {
        "events": args.events,
        "events_per_s": round(args.events / (consumed_at - started), 1),
        "inbox_messages": messages,
        "emails_sent": sent,
        "emails_in_sink": delivered,
        "emails_per_s": round(args.events / (sent_at - started), 1),
        "batch_size": args.batch_size,
        "cpu_ms_per_event_draining": round(1000 * (cpu_consumed - first[1]) / max(1, args.events - first[0]), 2),
        "cpu_ms_per_event_whole_run": round(1000 * cpu_sent / args.events, 2),
        "baseline_smtplib_per_s": round(baseline, 1),
    }
    if args.inbox_only:
        for name in ("emails_sent", "emails_in_sink", "emails_per_s", "baseline_smtplib_per_s"):
            del figures[name]
    else:
        figures["ratio_emails_to_baseline"] = round(figures["emails_per_s"] / baseline, 3)
    print()
    for name, value in figures.items():
        print(f"  {name:34} {value:>12}")
    assert messages == 2 * args.events, "one message for the author and one for the unit's reviewers, per event"
    assert delivered == (0 if args.inbox_only else args.events), "exactly one e-mail per event"
    written = bench / ("notify_inbox.json" if args.inbox_only else "notify.json")
    written.write_text(json.dumps(figures, indent=2))
    print(f"written to {written.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
