"""Example subscriber for the public events of the VGCL national initiative platform.

Other union systems can start from this file. It

* declares the topic exchange (durable; idempotent if it already exists),
* declares its own durable quorum queue with a delivery limit, dead-lettering through the
  direct exchange ``platform.dlx`` into ``<queue>.dlq``, and binds it with a routing-key
  pattern such as ``initiative.*.HN`` (routing keys are ``<event type>.<TOP-LEVEL UNIT>``),
* consumes with manual acknowledgements,
* validates every message against the contract chosen by its CloudEvents ``type`` and the
  version in its ``dataschema`` (``urn:vgcl:events:<type>:v<N>``), with the JSON Schemas of
  the contracts folder next to this file,
* acks valid messages, rejects invalid ones without requeue (they are dead-lettered) and
  requeues a message whose handling failed (the queue's delivery limit then dead-letters it).

Delivery is at-least-once: a real subscriber de-duplicates on the CloudEvents ``id``.

Usage::

    python contracts/examples/subscriber.py --queue my-system.initiatives.HN \\
        --binding 'initiative.*.HN' --amqp-url amqp://user:pass@broker:5672/

Requires ``pika`` 1.x and ``jsonschema`` 4.x.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pika
from jsonschema import Draft202012Validator
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

log = logging.getLogger("vgcl.subscriber")

Schemas = dict[tuple[str, int], dict[str, Any]]

DEFAULT_CONTRACTS_DIR = Path(__file__).resolve().parent.parent
DATASCHEMA_RE = re.compile(r"^urn:vgcl:events:(?P<type>[a-z][a-z0-9_.]*):v(?P<version>[1-9][0-9]*)$")
SCHEMA_FILE_RE = re.compile(r"^v(?P<version>[1-9][0-9]*)\.schema\.json$")


def load_schemas(contracts_dir: Path | str = DEFAULT_CONTRACTS_DIR) -> Schemas:
    """Load ``events/<type>/v<N>.schema.json`` files as ``{(type, N): schema}``."""
    schemas: Schemas = {}
    for path in sorted(Path(contracts_dir, "events").glob("*/v*.schema.json")):
        match = SCHEMA_FILE_RE.match(path.name)
        if match is None:
            continue
        event_type, version = path.parent.name, int(match["version"])
        schema = json.loads(path.read_text(encoding="utf-8"))
        expected_id = f"urn:vgcl:events:{event_type}:v{version}"
        if schema.get("$id") != expected_id:
            raise ValueError(f"{path}: $id is {schema.get('$id')!r}, expected {expected_id!r}")
        Draft202012Validator.check_schema(schema)
        schemas[(event_type, version)] = schema
    if not schemas:
        raise ValueError(f"no event schemas found under {Path(contracts_dir, 'events')}")
    return schemas


def validate_event(event: Any, schemas: Schemas) -> list[str]:
    """Return the reasons why ``event`` breaks its contract (an empty list if it is valid)."""
    if not isinstance(event, dict):
        return ["the message is not a JSON object"]
    event_type, dataschema = event.get("type"), event.get("dataschema")
    match = DATASCHEMA_RE.match(dataschema) if isinstance(dataschema, str) else None
    if match is None:
        return [f"dataschema {dataschema!r} is not of the form urn:vgcl:events:<type>:v<N>"]
    if match["type"] != event_type:
        return [f"dataschema {dataschema!r} does not belong to type {event_type!r}"]
    schema = schemas.get((event_type, int(match["version"])))
    if schema is None:
        return [f"no contract for {event_type!r} version {match['version']} (unknown or too new)"]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(event), key=lambda e: (e.json_path, e.message))
    return [f"{error.json_path}: {error.message}" for error in errors]


def handle_event(event: dict[str, Any]) -> None:
    """Your business logic. Raise to have the message requeued (and retried)."""
    log.info(
        "%s %s (unit %s, id %s)",
        event["type"],
        event["subject"],
        event.get("unit", "?"),
        event["id"],
    )


def on_message(
    channel: BlockingChannel,
    method: Basic.Deliver,
    properties: BasicProperties,
    body: bytes,
    schemas: Schemas,
) -> None:
    """Validate one delivery, then ack it, reject it (invalid) or requeue it (failure)."""
    try:
        event: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        errors = [f"the body is not UTF-8 JSON: {exc}"]
    else:
        errors = validate_event(event, schemas)
    if errors:
        log.error(
            "rejecting message %s (routing key %s): %s",
            properties.message_id or "-",
            method.routing_key,
            "; ".join(errors),
        )
        channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
        return
    try:
        handle_event(event)
    except Exception:
        log.exception("handling %s failed; requeueing it", event["id"])
        channel.basic_nack(delivery_tag=method.delivery_tag, requeue=True)
        return
    channel.basic_ack(delivery_tag=method.delivery_tag)


def declare_topology(channel: BlockingChannel, args: argparse.Namespace) -> None:
    """Declare the exchange, the subscriber's quorum queue and its bindings (idempotent).

    Dead letters follow the platform's convention: the direct exchange ``platform.dlx``
    routes them by queue name to ``<queue>.dlq``, where they stay visible for replay.
    """
    channel.exchange_declare(exchange=args.exchange, exchange_type="topic", durable=True)
    queue_arguments: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-delivery-limit": args.delivery_limit,
    }
    if args.dead_letter_exchange:
        dlx, dlq = args.dead_letter_exchange, f"{args.queue}.dlq"
        channel.exchange_declare(exchange=dlx, exchange_type="direct", durable=True)
        channel.queue_declare(queue=dlq, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(queue=dlq, exchange=dlx, routing_key=args.queue)
        queue_arguments["x-dead-letter-exchange"] = dlx
        queue_arguments["x-dead-letter-routing-key"] = args.queue
    channel.queue_declare(queue=args.queue, durable=True, arguments=queue_arguments)
    for pattern in args.binding:
        channel.queue_bind(queue=args.queue, exchange=args.exchange, routing_key=pattern)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--amqp-url",
        default=env("VGCL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        help="broker URL (env VGCL_AMQP_URL)",
    )
    parser.add_argument(
        "--exchange",
        default=env("VGCL_EXCHANGE", "submission.events"),
        help="topic exchange: submission.events, review.events or awards.events (env VGCL_EXCHANGE)",
    )
    parser.add_argument(
        "--queue",
        default=env("VGCL_QUEUE", "vgcl-subscriber-example"),
        help="name of this subscriber's own queue (env VGCL_QUEUE)",
    )
    parser.add_argument(
        "--binding",
        action="append",
        help="routing-key pattern, repeatable (env VGCL_BINDING; default initiative.*.HN)",
    )
    parser.add_argument(
        "--dead-letter-exchange",
        default=env("VGCL_DEAD_LETTER_EXCHANGE", "platform.dlx"),
        help="dead-letter exchange of the queue, '' for none (env VGCL_DEAD_LETTER_EXCHANGE)",
    )
    parser.add_argument("--delivery-limit", type=int, default=10, help="quorum delivery limit")
    parser.add_argument("--prefetch", type=int, default=50, help="unacked messages in flight")
    parser.add_argument(
        "--contracts-dir",
        type=Path,
        default=DEFAULT_CONTRACTS_DIR,
        help="folder holding events/<type>/v<N>.schema.json",
    )
    args = parser.parse_args(argv)
    if not args.binding:
        args.binding = [env("VGCL_BINDING", "initiative.*.HN")]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    schemas = load_schemas(args.contracts_dir)
    log.info("loaded contracts: %s", ", ".join(f"{t} v{v}" for t, v in sorted(schemas)))

    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    channel = connection.channel()
    declare_topology(channel, args)
    channel.basic_qos(prefetch_count=args.prefetch)
    channel.basic_consume(
        queue=args.queue,
        on_message_callback=lambda ch, method, props, body: on_message(ch, method, props, body, schemas),
        auto_ack=False,
    )
    log.info("consuming %s bound to %s with %s", args.queue, args.exchange, args.binding)
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        channel.stop_consuming()
    finally:
        if connection.is_open:
            connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
