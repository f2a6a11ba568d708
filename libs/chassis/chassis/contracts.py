"""Event contracts (JSON Schemas in contracts/) loaded as data and enforced on publish."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from chassis.config import setting
from chassis.envelope import schema_version


class ContractViolation(ValueError):
    """An event that does not match its published JSON Schema."""


@cache
def validator(event_type: str, version: int) -> Any:
    """A compiled validator (Rust): every published and consumed event goes through one."""
    path = Path(setting("CONTRACTS_DIR")) / "events" / event_type / f"v{version}.schema.json"
    if not path.exists():
        raise ContractViolation(f"no contract for {event_type} v{version} at {path}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def contract_errors(event: dict[str, Any]) -> list[str]:
    try:
        checker = validator(str(event.get("type")), schema_version(event))
    except ContractViolation as exc:
        return [str(exc)]
    return [
        f"{'/'.join(str(p) for p in err.instance_path) or '<root>'}: {err.message}"
        for err in checker.iter_errors(event)
    ]


def ensure_valid(event: dict[str, Any]) -> None:
    errors = contract_errors(event)
    if errors:
        raise ContractViolation(f"{event.get('type')} breaks its contract: {'; '.join(errors)}")


@cache
def vocabulary() -> dict[str, Any]:
    """The public names of the codes events carry (contracts/vocabulary.json)."""
    doc = json.loads((Path(setting("CONTRACTS_DIR")) / "vocabulary.json").read_text(encoding="utf-8"))
    return {"target_groups": {int(k): v for k, v in doc["target_groups"].items()}, "fields": doc["fields"]}
