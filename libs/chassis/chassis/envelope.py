"""CloudEvents 1.0 structured-mode JSON envelope, and its AMQP (de)serialisation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
REQUIRED = ("id", "source", "type", "specversion", "time", "subject", "datacontenttype", "data")


def iso(value: Any) -> str | None:
    """RFC 3339 as the contracts write it: UTC as `Z`; None stays None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def dataschema(event_type: str, version: int) -> str:
    return f"urn:vgcl:events:{event_type}:v{version}"


def routing_key(event_type: str, top_unit: str) -> str:
    return f"{event_type}.{top_unit}"


def new_event(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str,
    unit: str,
    version: int = 1,
    event_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "specversion": SPECVERSION,
        "time": iso(time or datetime.now(UTC)),
        "subject": subject,
        "datacontenttype": "application/json",
        "dataschema": dataschema(event_type, version),
        "unit": unit,
        "data": data,
    }


def schema_version(event: dict[str, Any]) -> int:
    """The contract version named by an event's `dataschema` (`...:v2` -> 2)."""
    tail = str(event.get("dataschema", "")).rsplit(":v", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 1


@dataclass(frozen=True)
class Undecodable:
    """A message body that is not JSON; handlers dead-letter it instead of crashing."""

    error: str
    raw: bytes


def dumps(event: Any) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)


def loads(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, TypeError) as exc:
        raw = body if isinstance(body, bytes) else str(body).encode()
        return Undecodable(error=str(exc), raw=raw[:1024])


def envelope_errors(event: Any) -> list[str]:
    """Structural problems of an envelope; the data itself is checked by its contract."""
    if isinstance(event, Undecodable):
        return [f"body is not JSON: {event.error}"]
    if not isinstance(event, dict):
        return ["body is not a JSON object"]
    missing = [k for k in REQUIRED if k not in event]
    errors = [f"missing attribute {k!r}" for k in missing]
    if event.get("specversion", SPECVERSION) != SPECVERSION:
        errors.append("specversion must be 1.0")
    return errors
