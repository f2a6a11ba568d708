"""Dead letters made visible and replayable.

    python -m chassis.dead_letters list                      # every *.dlq with its depth
    python -m chassis.dead_letters replay QUEUE [--limit N]  # back to QUEUE, after the fix

A replayed message is published to its queue with confirms before it is removed from the
dead-letter queue, so a crash mid-replay duplicates at worst; consumers are idempotent.
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import quote, urlparse

import amqp
import requests

from chassis.config import setting
from chassis.relay import amqp_connection

DLQ_SUFFIX = ".dlq"
# Headers the broker set for the failed attempts; a replay starts a fresh count.
BROKER_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-delivery-count",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


def depth(amqp_uri: str, queue: str) -> int:
    conn = amqp_connection(amqp_uri, heartbeat=0)
    try:
        _, messages, _ = conn.channel().queue_declare(queue, passive=True)
        return int(messages)
    finally:
        conn.close()


def replay(amqp_uri: str, queue: str, limit: int | None = None) -> int:
    """Moves up to `limit` messages from `<queue>.dlq` back to `queue`; returns how many."""
    conn = amqp_connection(amqp_uri, heartbeat=0)
    moved = 0
    try:
        channel = conn.channel()
        channel.queue_declare(queue, passive=True)  # refuse to replay into a queue that is gone
        channel.confirm_select()
        while limit is None or moved < limit:
            message = channel.basic_get(queue + DLQ_SUFFIX, no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items() if k not in BROKER_HEADERS}
            headers["x-replayed"] = int(headers.get("x-replayed", 0)) + 1
            properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
            copy = amqp.Message(message.body, application_headers=headers, **{**properties, "delivery_mode": 2})
            channel.basic_publish_confirm(copy, exchange="", routing_key=queue)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    finally:
        conn.close()
    return moved


def dead_letter_queues(api_url: str, vhost: str) -> list[str]:
    """Every dead-letter queue of the virtual host (names from the management API)."""
    parts = urlparse(api_url)
    auth = (parts.username or "guest", parts.password or "guest")
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}"
    response = requests.get(f"{base}/queues/{quote(vhost, safe='')}", auth=auth, timeout=10)
    response.raise_for_status()
    return sorted(q["name"] for q in response.json() if q["name"].endswith(DLQ_SUFFIX))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chassis.dead_letters", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="dead-letter queues and how many messages each holds")
    replay_cmd = sub.add_parser("replay", help="move dead letters back to their queue")
    replay_cmd.add_argument("queue", help="the consumer queue, e.g. submission.initiative.returned")
    replay_cmd.add_argument("--limit", type=int, help="at most this many messages")
    args = parser.parse_args(argv)
    amqp_uri = setting("AMQP_URI")
    if args.command == "list":
        vhost = urlparse(amqp_uri).path[1:] or "/"
        for name in dead_letter_queues(setting("RABBITMQ_API_URL"), vhost):
            # Depth from AMQP: the management API's statistics lag by seconds.
            print(f"{depth(amqp_uri, name):>8}  {name}")
        return 0
    moved = replay(amqp_uri, args.queue, args.limit)
    print(json.dumps({"queue": args.queue, "replayed": moved}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
