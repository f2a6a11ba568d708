"""Contract tests: the event schemas, examples, AsyncAPI document and their immutability lock.

No broker and no nameko: run with ``pytest -p no:nameko tests/contract``. The AsyncAPI check
runs ``node contracts/tools/validate-asyncapi.mjs`` (``npm ci --prefix contracts/tools`` first
when ``node_modules`` is missing), so Node.js and npm must be installed.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
TOOLS = CONTRACTS / "tools"
SCHEMA_FILES = sorted(CONTRACTS.glob("events/*/v*.schema.json"))
EXAMPLE_FILES = sorted(CONTRACTS.glob("examples/*.v*.json"))

# Every release must keep at least these contracts (removing one breaks subscribers).
EXPECTED_CONTRACTS = {
    ("initiative.submitted", 1),
    ("initiative.resubmitted", 1),
    ("initiative.withdrawn", 1),
    ("initiative.returned", 1),
    ("review.started", 1),
    ("initiative.scored", 1),
    ("initiative.rejected", 1),
    ("initiative.recognized", 1),
    ("initiative.nominated", 1),
    ("review.deadline_missed", 1),
    ("unit.registered", 1),
    ("target.registered", 1),
    ("member.registered", 1),
    ("award.granted", 1),
    ("remuneration.scheduled", 1),
    ("remuneration.due", 1),
}
# Published by the review service on review.events, by the awards service on awards.events;
# everything else is on submission.events.
REVIEW_EVENTS = {
    "initiative.returned",
    "review.started",
    "initiative.scored",
    "initiative.rejected",
    "initiative.recognized",
    "initiative.nominated",
    "review.deadline_missed",
}
# What the submission service consumes (review.events), declared as `receive` operations.
SUBMISSION_CONSUMES = {
    "review.started",
    "initiative.scored",
    "initiative.returned",
    "initiative.rejected",
    "initiative.recognized",
    "initiative.nominated",
    "review.deadline_missed",
}
AWARDS_EVENTS = {
    "award.granted",
    "remuneration.scheduled",
    "remuneration.due",
}


def exchange_of(event_type: str) -> str:
    if event_type in REVIEW_EVENTS:
        return "review.events"
    if event_type in AWARDS_EVENTS:
        return "awards.events"
    return "submission.events"


ENVELOPE_REQUIRED = {
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
}
SHA256_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<path>\S+)$")


def schema_key(path: Path) -> tuple[str, int]:
    match = re.fullmatch(r"v([1-9][0-9]*)\.schema\.json", path.name)
    assert match, f"bad schema file name {path}"
    return path.parent.name, int(match[1])


def example_path(event_type: str, version: int) -> Path:
    return CONTRACTS / "examples" / f"{event_type}.v{version}.json"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CONTRACTS)) for p in paths]


@pytest.fixture(scope="module")
def subscriber() -> ModuleType:
    """contracts/examples/subscriber.py, imported by file path."""
    path = CONTRACTS / "examples" / "subscriber.py"
    spec = importlib.util.spec_from_file_location("vgcl_contracts_subscriber", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def schemas(subscriber: ModuleType) -> dict[tuple[str, int], dict[str, Any]]:
    return subscriber.load_schemas(CONTRACTS)


@pytest.fixture
def validate(subscriber: ModuleType, schemas: dict[tuple[str, int], dict[str, Any]]) -> Callable[[Any], list[str]]:
    return lambda event: subscriber.validate_event(event, schemas)


def example(event_type: str, version: int = 1) -> dict[str, Any]:
    return copy.deepcopy(load_json(example_path(event_type, version)))


# --------------------------------------------------------------------------- schema files


def test_expected_contracts_exist() -> None:
    found = {schema_key(p) for p in SCHEMA_FILES}
    missing = EXPECTED_CONTRACTS - found
    assert not missing, f"missing contracts: {sorted(missing)}"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=ids(SCHEMA_FILES))
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = load_json(path)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=ids(SCHEMA_FILES))
def test_schema_id_and_type_match_path(path: Path) -> None:
    event_type, version = schema_key(path)
    schema = load_json(path)
    schema_id = f"urn:vgcl:events:{event_type}:v{version}"
    assert schema["$id"] == schema_id
    assert schema["properties"]["type"].get("const") == event_type
    assert schema["properties"]["dataschema"]["const"] == schema_id
    assert schema.get("title") and schema.get("description")


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=ids(SCHEMA_FILES))
def test_schema_is_self_contained(path: Path) -> None:
    refs = [v for k, v in walk(load_json(path)) if k in ("$ref", "$dynamicRef")]
    external = [r for r in refs if not (isinstance(r, str) and r.startswith("#"))]
    assert not external, f"external references in {path.name}: {external}"


def closed_objects(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every object schema reachable through properties/items from ``schema``."""
    if "properties" in schema:
        yield where, schema
        for name, sub in schema["properties"].items():
            yield from closed_objects(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from closed_objects(schema["items"], f"{where}[]")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=ids(SCHEMA_FILES))
def test_schema_envelope_and_closed_data(path: Path) -> None:
    schema = load_json(path)
    props = schema["properties"]
    assert set(schema["required"]) >= ENVELOPE_REQUIRED
    assert "unit" in props and "unit" not in schema["required"]
    assert props["specversion"]["const"] == "1.0"
    assert props["datacontenttype"]["const"] == "application/json"
    data_objects = list(closed_objects(props["data"], "data"))
    assert data_objects and data_objects[0][0] == "data"
    for where, sub in data_objects:
        assert sub.get("additionalProperties") is False, f"{where} is not closed"
        assert set(sub["required"]) == set(sub["properties"]), f"{where}: all fields required"
    for where, sub in data_objects:
        for name, prop in sub["properties"].items():
            if prop.get("format") in ("date", "date-time"):
                assert "pattern" in prop, f"{where}.{name} needs a pattern besides its format"


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=ids(SCHEMA_FILES))
def test_example_validates(path: Path, validate: Callable[[Any], list[str]]) -> None:
    event_type, version = schema_key(path)
    message = load_json(example_path(event_type, version))
    assert message["type"] == event_type
    assert validate(message) == []


def test_every_example_has_a_schema() -> None:
    keys = {schema_key(p) for p in SCHEMA_FILES}
    for path in EXAMPLE_FILES:
        event_type, _, version = path.name.removesuffix(".json").rpartition(".v")
        assert (event_type, int(version)) in keys, f"{path.name} has no schema"


def test_subscriber_loads_every_schema(schemas: dict[tuple[str, int], dict[str, Any]]) -> None:
    assert set(schemas) == {schema_key(p) for p in SCHEMA_FILES}


def test_load_schemas_rejects_a_wrong_id(subscriber: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "events" / "initiative.submitted" / "v1.schema.json"
    target.parent.mkdir(parents=True)
    schema = load_json(CONTRACTS / "events" / "initiative.submitted" / "v1.schema.json")
    schema["$id"] = "urn:vgcl:events:initiative.submitted:v2"
    target.write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(ValueError, match=r"\$id"):
        subscriber.load_schemas(tmp_path)


# Mutations of a valid example that must make it invalid: (event type, label, mutate).
def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(message: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = message
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(message: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = message
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def _all(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(message: dict[str, Any]) -> None:
        for m in mutations:
            m(message)

    return mutate


SUB = "initiative.submitted"
AWARD = "award.granted"
REM = "remuneration.scheduled"
DUE = "remuneration.due"
BROKEN = [
    (SUB, "author name added", _set("data.authors.0.name", "Nguyễn Văn An")),
    (SUB, "author phone added", _set("data.authors.0.phone", "0912345678")),
    (SUB, "author names list", _set("data.author_names", ["Nguyễn Văn An"])),
    (SUB, "no authors", _set("data.authors", [])),
    (SUB, "share 0", _set("data.authors.0.share_percent", 0)),
    (SUB, "share over 100", _set("data.authors.0.share_percent", 100.5)),
    (SUB, "revision as string", _set("data.revision", "1")),
    (SUB, "revision 0", _set("data.revision", 0)),
    (SUB, "target group 6", _set("data.target_group", 6)),
    (SUB, "confidential is a string", _set("data.confidential", "false")),
    (SUB, "confidential with content", _set("data.confidential", True)),
    (SUB, "on behalf by a member", _set("data.submitted_by.role", "member")),
    (SUB, "unknown role", _set("data.submitted_by.role", "national_admin")),
    (SUB, "negative benefit", _set("data.benefit_vnd_per_year", -1)),
    (SUB, "benefit not integer", _set("data.benefit_vnd_per_year", 1.5)),
    (SUB, "bad block", _set("data.block", "all")),
    (SUB, "title too long", _set("data.title", "x" * 501)),
    (SUB, "empty title", _set("data.title", "")),
    (SUB, "lower-case unit", _set("data.unit", "hn-q1-c001")),
    (SUB, "top unit with dash", _set("data.top_unit", "HN-Q1")),
    (SUB, "path not from VGCL", _set("data.unit_path", ["HN", "HN-Q1", "HN-Q1-C001"])),
    (SUB, "path too short", _set("data.unit_path", ["VGCL"])),
    (SUB, "bad programme code", _set("data.programme", "mot trieu")),
    (SUB, "bad uuid", _set("data.initiative_id", "not-a-uuid")),
    (SUB, "bad date", _set("data.first_applied_on", "2022-13-01")),
    (SUB, "date-time without offset", _set("data.submitted_at", "2022-03-15T09:30:00")),
    (SUB, "date-time with a space", _set("data.submitted_at", "2022-03-15 09:30:00+07:00")),
    (SUB, "text too long", _set("data.problem", "x" * 20001)),
    (SUB, "missing time", _delete("time")),
    (SUB, "empty id", _set("id", "")),
    (SUB, "wrong type", _set("type", "initiative.resubmitted")),
    (SUB, "wrong specversion", _set("specversion", "0.3")),
    (SUB, "wrong datacontenttype", _set("datacontenttype", "text/plain")),
    (SUB, "unknown version", _set("dataschema", "urn:vgcl:events:initiative.submitted:v99")),
    (SUB, "missing dataschema", _delete("dataschema")),
    (SUB, "dataschema of another type", _set("dataschema", "urn:vgcl:events:unit.registered:v1")),
    (SUB, "subject not a uuid", _set("subject", "HN-Q1-C001")),
    (SUB, "unit extension with dash", _set("unit", "HN-Q1")),
    (SUB, "upper-case extension name", _set("traceParent", "00-abc")),
    (SUB, "object extension value", _set("trace", {"id": 1})),
    ("initiative.resubmitted", "revision 1", _set("data.revision", 1)),
    ("initiative.withdrawn", "unknown role", _set("data.withdrawn_by.role", "reviewer")),
    ("initiative.withdrawn", "reason too long", _set("data.reason", "x" * 2001)),
    ("initiative.returned", "empty reason", _set("data.reason", "")),
    ("initiative.scored", "no scorers", _set("data.scores.scorers", 0)),
    ("initiative.scored", "total missing", _set("data.scores.total", None)),
    ("initiative.scored", "total over 10", _set("data.scores.total", 10.5)),
    ("initiative.scored", "unknown decision rule", _set("data.scores.decision_rule", "vote")),
    ("initiative.scored", "reviewer ids added", _set("data.scores.reviewers", ["rv-hn-q1-0007"])),
    ("initiative.scored", "scored_at without offset", _set("data.scored_at", "2022-04-20T15:45:00")),
    ("initiative.scored", "unknown level", _set("data.level", "district")),
    ("initiative.returned", "unknown level", _set("data.level", "district")),
    ("unit.registered", "unknown level", _set("data.level", "province")),
    (
        "unit.registered",
        "national with a parent",
        _all(
            _set("data.level", "national"),
            _set("data.code", "VGCL"),
            _set("data.top", None),
            _set("data.path", ["VGCL"]),
        ),
    ),
    ("unit.registered", "grassroots without parent", _set("data.parent", None)),
    ("unit.registered", "grassroots without top", _set("data.top", None)),
    ("unit.registered", "path not ending below top", _set("data.path", ["VGCL", "HN"])),
    (
        "unit.registered",
        "top level with dashed code",
        _all(
            _set("data.level", "top"),
            _set("data.code", "HN-X"),
            _set("data.parent", "VGCL"),
            _set("data.path", ["VGCL", "HN-X"]),
        ),
    ),
    ("target.registered", "target 0", _set("data.target", 0)),
    ("target.registered", "null block", _set("data.block", None)),
    ("target.registered", "bad subject", _set("subject", "HN/TRIEUSANGKIEN/P1")),
    ("member.registered", "name added", _set("data.name", "Trần Thị Bình")),
    ("member.registered", "email added", _set("data.email", "binh@example.vn")),
    ("member.registered", "phone added", _set("data.phone", "0987654321")),
    (AWARD, "recipient name added", _set("data.recipient.name", "Nguyễn Văn An")),
    (AWARD, "unknown kind", _set("data.kind", "medal")),
    (AWARD, "unknown recipient type", _set("data.recipient.type", "team")),
    (AWARD, "recipient unit lower-case", _set("data.recipient.unit", "hn-q1-c001")),
    (AWARD, "individual without member id", _set("data.recipient.member_id", None)),
    (
        AWARD,
        "collective with a member id",
        _all(_set("data.recipient.type", "collective"), _set("data.initiative_id", None)),
    ),
    (
        AWARD,
        "collective with an initiative",
        _all(_set("data.recipient.type", "collective"), _set("data.recipient.member_id", None)),
    ),
    (AWARD, "bonus without money", _all(_set("data.kind", "bonus"), _set("data.amount_vnd", None))),
    (
        AWARD,
        "benefit reward without money",
        _all(_set("data.kind", "benefit_reward"), _set("data.amount_vnd", None)),
    ),
    (AWARD, "certificate without number", _set("data.certificate_number", None)),
    (AWARD, "certificate without verification code", _set("data.verification_code", None)),
    (AWARD, "negative amount", _set("data.amount_vnd", -1)),
    (AWARD, "amount not integer", _set("data.amount_vnd", 1500000.5)),
    (AWARD, "month as period", _set("data.period", "2026-03")),
    (AWARD, "quarter 5", _set("data.period", "2026-Q5")),
    (AWARD, "half-year 3", _set("data.period", "2026-H3")),
    (AWARD, "period in non-ASCII digits", _set("data.period", "\u0662\u0660\u0662\u0666")),
    (AWARD, "lower-case certificate number", _set("data.certificate_number", "hn-2022-bk-0042")),
    (AWARD, "verification code too short", _set("data.verification_code", "HN-4R8T2W")),
    (AWARD, "upper-case rule id", _set("data.rule_id", "Certificate-Top")),
    (AWARD, "rule id with leading dash", _set("data.rule_id", "-certificate")),
    (AWARD, "rule id too long", _set("data.rule_id", "r" * 65)),
    (AWARD, "empty rule version", _set("data.rule_version", "")),
    (AWARD, "rule version too long", _set("data.rule_version", "1" * 33)),
    (AWARD, "empty reason", _set("data.reason", "")),
    (AWARD, "reason too long", _set("data.reason", "x" * 2001)),
    (AWARD, "top unit with dash", _set("data.top_unit", "HN-Q1")),
    (AWARD, "bad award id", _set("data.award_id", "award-42")),
    (AWARD, "subject not a uuid", _set("subject", "HN-2022-BK-0042")),
    (AWARD, "granted_at without offset", _set("data.granted_at", "2022-05-10T14:00:00")),
    (REM, "payee name added", _set("data.payees.0.name", "Nguyễn Văn An")),
    (REM, "no payees", _set("data.payees", [])),
    (REM, "unknown payee role", _set("data.payees.0.role", "reviewer")),
    (REM, "share 0", _set("data.payees.0.share_percent", 0)),
    (REM, "share over 100", _set("data.payees.0.share_percent", 100.5)),
    (REM, "negative payee amount", _set("data.payees.0.amount_vnd", -1)),
    (REM, "payee amount not integer", _set("data.payees.0.amount_vnd", 8480000.5)),
    (REM, "unknown basis", _set("data.basis", "lump_sum")),
    (REM, "installment 0", _set("data.installment", 0)),
    (REM, "no installments", _set("data.installments", 0)),
    (REM, "negative total", _set("data.total_vnd", -1)),
    (REM, "bad period start", _set("data.period_start", "2022-13-01")),
    (REM, "period end as date-time", _set("data.period_end", "2023-02-28T00:00:00+07:00")),
    (REM, "bad due date", _set("data.due_on", "31/03/2023")),
    (REM, "bad rule id", _set("data.rule_id", "remuneration_benefit_share")),
    (REM, "unit lower-case", _set("data.unit", "hn-q1-c001")),
    (REM, "bad remuneration id", _set("data.remuneration_id", "not-a-uuid")),
    (DUE, "payee phone added", _set("data.payees.0.phone", "0912345678")),
    (DUE, "no payees", _set("data.payees", [])),
    (DUE, "installment 0", _set("data.installment", 0)),
    (DUE, "bad due date", _set("data.due_on", "2023-03-32")),
    (DUE, "total not integer", _set("data.total_vnd", 21200000.5)),
    (DUE, "announced_at a date", _set("data.announced_at", "2023-03-31")),
    (DUE, "basis added", _set("data.basis", "benefit_share")),
]


@pytest.mark.parametrize(
    ("event_type", "mutate"),
    [(t, m) for t, _, m in BROKEN],
    ids=[f"{t}: {label}" for t, label, _ in BROKEN],
)
def test_broken_example_is_rejected(
    event_type: str,
    mutate: Callable[[dict[str, Any]], None],
    validate: Callable[[Any], list[str]],
) -> None:
    message = example(event_type)
    mutate(message)
    assert validate(message), "the broken message was accepted"


EVENT_TYPES = sorted(t for t, _ in EXPECTED_CONTRACTS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_data_field_is_required_and_typed(event_type: str, validate: Callable[[Any], list[str]]) -> None:
    fields = list(example(event_type)["data"])
    assert fields
    for field in fields:
        dropped = example(event_type)
        del dropped["data"][field]
        assert validate(dropped), f"data.{field} can be dropped"
        wrong = example(event_type)
        wrong["data"][field] = {"unexpected": "object"}
        assert validate(wrong), f"data.{field} accepts an object"
    for attribute in ENVELOPE_REQUIRED:
        dropped = example(event_type)
        del dropped[attribute]
        assert validate(dropped), f"{attribute} can be dropped"


VALID_VARIANTS = [
    (
        SUB,
        "confidential without content",
        _all(
            _set("data.confidential", True),
            _set("data.problem", None),
            _set("data.solution", None),
            _set("data.novelty", None),
            _set("data.scope", None),
        ),
    ),
    (
        SUB,
        "nullable fields null",
        _all(
            _set("data.block", None),
            _set("data.first_applied_on", None),
            _set("data.benefit_vnd_per_year", None),
            _set("data.benefit_description", None),
            _set("data.authors.0.member_id", None),
        ),
    ),
    (
        SUB,
        "entered by the author",
        _all(_set("data.on_behalf", False), _set("data.submitted_by.role", "member")),
    ),
    (SUB, "UTC time with fraction", _set("time", "2022-03-15T02:30:00.123Z")),
    (SUB, "extension attribute", _set("traceparent", "00-4bf92f3577b34da6-00f067aa0ba902b7-01")),
    (SUB, "without the unit extension", _delete("unit")),
    ("initiative.withdrawn", "no reason", _set("data.reason", None)),
    (
        "unit.registered",
        "national unit",
        _all(
            _set("subject", "VGCL"),
            _set("unit", "VGCL"),
            _set("data.code", "VGCL"),
            _set("data.name", "Tổng Liên đoàn Lao động Việt Nam"),
            _set("data.level", "national"),
            _set("data.parent", None),
            _set("data.top", None),
            _set("data.block", None),
            _set("data.path", ["VGCL"]),
        ),
    ),
    (
        "unit.registered",
        "top-level unit",
        _all(
            _set("subject", "HN"),
            _set("data.code", "HN"),
            _set("data.name", "Liên đoàn Lao động Thành phố Hà Nội"),
            _set("data.level", "top"),
            _set("data.parent", "VGCL"),
            _set("data.top", "HN"),
            _set("data.cluster", "Cụm thi đua các thành phố trực thuộc Trung ương"),
            _set("data.block", None),
            _set("data.path", ["VGCL", "HN"]),
        ),
    ),
    (
        "target.registered",
        "all blocks",
        _all(_set("data.block", "all"), _set("subject", "HN/TRIEUSANGKIEN/P1/all")),
    ),
    (
        AWARD,
        "national-level collective award",
        _all(
            _set("unit", "VGCL"),
            _set("data.top_unit", "VGCL"),
            _set("data.recipient", {"type": "collective", "unit": "VGCL", "member_id": None}),
            _set("data.initiative_id", None),
            _set("data.period", "2026"),
            _set("data.certificate_number", "VGCL-2026-BK-0007"),
            _set("data.verification_code", "VGCL-9Z8Y7X6W5V"),
        ),
    ),
    (
        AWARD,
        "collective award of a grassroots unit for a quarter",
        _all(
            _set("data.recipient", {"type": "collective", "unit": "HN-Q1-C001", "member_id": None}),
            _set("data.initiative_id", None),
            _set("data.period", "2026-Q1"),
        ),
    ),
    (AWARD, "half-year period", _set("data.period", "2026-H2")),
    (AWARD, "certificate without money", _set("data.amount_vnd", None)),
    (
        AWARD,
        "bonus without certificate",
        _all(
            _set("data.kind", "bonus"),
            _set("data.certificate_number", None),
            _set("data.verification_code", None),
        ),
    ),
    (
        AWARD,
        "benefit reward of zero",
        _all(
            _set("data.kind", "benefit_reward"),
            _set("data.amount_vnd", 0),
            _set("data.certificate_number", None),
            _set("data.verification_code", None),
        ),
    ),
    (REM, "transfer price share", _set("data.basis", "transfer_price_share")),
    (REM, "minimum wage multiple", _set("data.basis", "minimum_wage_multiple")),
    (
        REM,
        "single payee, single installment",
        _all(
            _set("data.installments", 1),
            _set("data.total_vnd", 0),
            _set(
                "data.payees",
                [{"member_id": None, "role": "author", "share_percent": 100, "amount_vnd": 0}],
            ),
        ),
    ),
    (DUE, "last installment", _all(_set("data.installment", 3), _set("data.due_on", "2025-03-31"))),
]


@pytest.mark.parametrize(
    ("event_type", "mutate"),
    [(t, m) for t, _, m in VALID_VARIANTS],
    ids=[f"{t}: {label}" for t, label, _ in VALID_VARIANTS],
)
def test_valid_variant_is_accepted(
    event_type: str,
    mutate: Callable[[dict[str, Any]], None],
    validate: Callable[[Any], list[str]],
) -> None:
    message = example(event_type)
    mutate(message)
    assert validate(message) == []


@pytest.mark.parametrize("value", [None, [], "text", 42])
def test_non_object_is_rejected(value: Any, validate: Callable[[Any], list[str]]) -> None:
    assert validate(value)


# --------------------------------------------------------------------------- subscriber


class FakeChannel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda **kwargs: self.calls.append((name, kwargs))


def deliver(subscriber: ModuleType, schemas: Any, body: bytes) -> list[tuple[str, dict]]:
    channel = FakeChannel()
    method = SimpleNamespace(delivery_tag=7, routing_key="initiative.submitted.HN")
    properties = SimpleNamespace(message_id=None)
    subscriber.on_message(channel, method, properties, body, schemas)
    return channel.calls


def test_subscriber_acks_a_valid_message(subscriber: ModuleType, schemas: Any) -> None:
    body = json.dumps(example(SUB)).encode()
    assert deliver(subscriber, schemas, body) == [("basic_ack", {"delivery_tag": 7})]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]"])
def test_subscriber_rejects_garbage(subscriber: ModuleType, schemas: Any, body: bytes) -> None:
    calls = deliver(subscriber, schemas, body)
    assert calls == [("basic_reject", {"delivery_tag": 7, "requeue": False})]


def test_subscriber_rejects_an_invalid_message_without_requeue(
    subscriber: ModuleType, schemas: Any, caplog: pytest.LogCaptureFixture
) -> None:
    message = example(SUB)
    message["data"]["authors"][0]["name"] = "Nguyễn Văn An"
    calls = deliver(subscriber, schemas, json.dumps(message).encode())
    assert calls == [("basic_reject", {"delivery_tag": 7, "requeue": False})]
    assert "name" in caplog.text and "rejecting" in caplog.text


def test_subscriber_requeues_when_handling_fails(
    subscriber: ModuleType, schemas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(event: dict[str, Any]) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(subscriber, "handle_event", boom)
    calls = deliver(subscriber, schemas, json.dumps(example(SUB)).encode())
    assert calls == [("basic_nack", {"delivery_tag": 7, "requeue": True})]


def test_subscriber_defaults_and_topology(subscriber: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VGCL_AMQP_URL", "VGCL_EXCHANGE", "VGCL_QUEUE", "VGCL_BINDING"):
        monkeypatch.delenv(name, raising=False)
    args = subscriber.parse_args(["--queue", "partner.initiatives.HN"])
    assert args.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert args.exchange == "submission.events"
    assert args.binding == ["initiative.*.HN"]
    channel = FakeChannel()
    subscriber.declare_topology(channel, args)
    queues = {kw["queue"]: kw for name, kw in channel.calls if name == "queue_declare"}
    queue = queues["partner.initiatives.HN"]
    assert queue["durable"] is True
    assert queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["arguments"]["x-delivery-limit"] >= 1
    assert queue["arguments"]["x-dead-letter-exchange"] == "platform.dlx"
    assert queue["arguments"]["x-dead-letter-routing-key"] == "partner.initiatives.HN"
    assert queues["partner.initiatives.HN.dlq"]["arguments"]["x-queue-type"] == "quorum"
    exchanges = {kw["exchange"]: kw for name, kw in channel.calls if name == "exchange_declare"}
    # Same kinds as the platform declares them (a mismatch is a channel error in RabbitMQ).
    assert exchanges["submission.events"] == {
        "exchange": "submission.events",
        "exchange_type": "topic",
        "durable": True,
    }
    assert exchanges["platform.dlx"]["exchange_type"] == "direct"
    binds = [kw for name, kw in channel.calls if name == "queue_bind"]
    assert {
        "queue": "partner.initiatives.HN",
        "exchange": "submission.events",
        "routing_key": "initiative.*.HN",
    } in binds
    assert {
        "queue": "partner.initiatives.HN.dlq",
        "exchange": "platform.dlx",
        "routing_key": "partner.initiatives.HN",
    } in binds
    # The main queue is declared before it is bound.
    names = [(name, kw.get("queue")) for name, kw in channel.calls]
    assert names.index(("queue_declare", "partner.initiatives.HN")) < names.index(
        ("queue_bind", "partner.initiatives.HN")
    )


def test_subscriber_reads_environment(subscriber: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VGCL_BINDING", "initiative.submitted.*")
    monkeypatch.setenv("VGCL_EXCHANGE", "review.events")
    args = subscriber.parse_args([])
    assert args.binding == ["initiative.submitted.*"]
    assert args.exchange == "review.events"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_example_routing(event_type: str) -> None:
    """Examples carry the source of their publisher and the top-level unit of their data."""
    message = example(event_type)
    if event_type in AWARDS_EVENTS:
        assert message["source"] == "/vgcl/awards"
        assert message["unit"] == message["data"]["top_unit"]
        subject_field = "award_id" if event_type == AWARD else "remuneration_id"
        assert message["subject"] == message["data"][subject_field]
    elif event_type in REVIEW_EVENTS:
        assert message["source"] == "/vgcl/review"
    else:
        assert message["source"] == "/vgcl/submission"


@pytest.mark.parametrize("event_type", sorted(AWARDS_EVENTS - {AWARD}))
def test_remuneration_example_adds_up(event_type: str) -> None:
    data = example(event_type)["data"]
    assert sum(p["share_percent"] for p in data["payees"]) == 100
    assert sum(p["amount_vnd"] for p in data["payees"]) == data["total_vnd"]
    assert 1 <= data["installment"] <= data["installments"]


# --------------------------------------------------------------------------- immutability lock


def published_problems(contracts_dir: Path) -> list[str]:
    """Compare contracts_dir/published.sha256 with the schema files under contracts_dir."""
    problems = []
    listed: dict[str, str] = {}
    lock = contracts_dir / "published.sha256"
    for number, line in enumerate(lock.read_text(encoding="utf-8").splitlines(), 1):
        match = SHA256_LINE.match(line)
        if match is None:
            problems.append(f"published.sha256:{number}: not a sha256sum line: {line!r}")
            continue
        if match["path"] in listed:
            problems.append(f"{match['path']} listed twice")
        listed[match["path"]] = match["digest"]
    for relative, digest in listed.items():
        path = contracts_dir / relative
        if not path.is_file():
            problems.append(f"{relative} is published but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{relative} was edited after publication: add a new version")
    for path in sorted(contracts_dir.glob("events/*/v*.schema.json")):
        relative = path.relative_to(contracts_dir).as_posix()
        if relative not in listed:
            problems.append(f"{relative} is not listed in published.sha256")
    return problems


def test_published_schemas_are_unchanged() -> None:
    assert published_problems(CONTRACTS) == []


def test_lock_detects_edits_and_unlisted_files(tmp_path: Path) -> None:
    shutil.copytree(CONTRACTS / "events", tmp_path / "events")
    shutil.copy(CONTRACTS / "published.sha256", tmp_path / "published.sha256")
    assert published_problems(tmp_path) == []
    edited = tmp_path / "events" / "member.registered" / "v1.schema.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("registered", "Registered"))
    new_version = tmp_path / "events" / "member.registered" / "v2.schema.json"
    new_version.write_text("{}", encoding="utf-8")
    problems = published_problems(tmp_path)
    assert any("member.registered/v1.schema.json was edited" in p for p in problems)
    assert any("member.registered/v2.schema.json is not listed" in p for p in problems)


# --------------------------------------------------------------------------- AsyncAPI


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    return yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))


def test_asyncapi_file_references_exist(asyncapi: dict[str, Any]) -> None:
    refs = [v for k, v in walk(asyncapi) if k == "$ref"]
    external = {r.split("#")[0] for r in refs if not r.startswith("#")}
    assert external
    missing = [r for r in sorted(external) if not (CONTRACTS / r).is_file()]
    assert not missing, f"asyncapi.yaml references missing files: {missing}"
    referenced = {(CONTRACTS / r).resolve() for r in external}
    for path in SCHEMA_FILES + EXAMPLE_FILES:
        assert path.resolve() in referenced, f"{path.name} is not in asyncapi.yaml"


def test_asyncapi_channels_and_operations(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    server = asyncapi["servers"]["rabbitmq"]
    assert (server["host"], server["protocol"], server["protocolVersion"]) == (
        "127.0.0.1:5672",
        "amqp",
        "0.9.1",
    )
    bindings = asyncapi["components"]["channelBindings"]
    by_address = {}
    for name, channel in asyncapi["channels"].items():
        binding = channel["bindings"]
        if "$ref" in binding:
            binding = bindings[binding["$ref"].rsplit("/", 1)[1]]
        by_address[channel["address"]] = (name, binding["amqp"])
    for event_type, _ in EXPECTED_CONTRACTS:
        name, amqp = by_address[f"{event_type}.{{unit}}"]
        assert amqp["is"] == "routingKey"
        assert amqp["exchange"] == {
            "name": exchange_of(event_type),
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        }
    sent = {op["channel"]["$ref"].rsplit("/", 1)[1] for op in asyncapi["operations"].values() if op["action"] == "send"}
    received = {
        op["channel"]["$ref"].rsplit("/", 1)[1] for op in asyncapi["operations"].values() if op["action"] == "receive"
    }
    assert sent == set(asyncapi["channels"])
    # The submission service follows the whole review lifecycle of its initiatives.
    assert received == {by_address[f"{event}.{{unit}}"][0] for event in SUBMISSION_CONSUMES}
    description = asyncapi["info"]["description"]
    assert "platform.dlx" in description and "quorum" in description


def test_tools_pin_the_parser_exactly() -> None:
    package = load_json(TOOLS / "package.json")
    lock = load_json(TOOLS / "package-lock.json")
    version = package["dependencies"]["@asyncapi/parser"]
    assert re.fullmatch(r"3\.\d+\.\d+", version), f"not an exact 3.x pin: {version}"
    assert lock["packages"]["node_modules/@asyncapi/parser"]["version"] == version
    assert "node_modules/" in (TOOLS / ".gitignore").read_text(encoding="utf-8").split()


@pytest.fixture(scope="module")
def node_validator() -> Callable[[Path], subprocess.CompletedProcess[str]]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed to validate contracts/asyncapi.yaml")
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run(
            [npm, "ci", "--prefix", str(TOOLS), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )

    def run(document: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [node, str(TOOLS / "validate-asyncapi.mjs"), str(document)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def test_asyncapi_passes_the_official_parser(
    node_validator: Callable[[Path], subprocess.CompletedProcess[str]],
) -> None:
    result = node_validator(CONTRACTS / "asyncapi.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0" in result.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("action: receive", "action: consume"),  # not an AsyncAPI operation action
        ("type: topic", "type: topical"),  # AMQP binding schema
        ("./events/member.registered/v1.schema.json", "./events/member.registered/v9.schema.json"),
    ],
    ids=["bad action", "bad exchange type", "missing schema file"],
)
def test_node_validator_fails_on_a_broken_document(
    node_validator: Callable[[Path], subprocess.CompletedProcess[str]],
    tmp_path: Path,
    old: str,
    new: str,
) -> None:
    shutil.copytree(CONTRACTS / "events", tmp_path / "events")
    shutil.copytree(CONTRACTS / "examples", tmp_path / "examples")
    text = (CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "asyncapi.yaml").write_text(text.replace(old, new), encoding="utf-8")
    result = node_validator(tmp_path / "asyncapi.yaml")
    assert result.returncode == 1, result.stdout + result.stderr


def test_node_validator_checks_schemas_and_examples(
    node_validator: Callable[[Path], subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    shutil.copytree(CONTRACTS / "events", tmp_path / "events")
    shutil.copytree(CONTRACTS / "examples", tmp_path / "examples")
    shutil.copy(CONTRACTS / "asyncapi.yaml", tmp_path / "asyncapi.yaml")
    broken_example = tmp_path / "examples" / "member.registered.v1.json"
    message = load_json(broken_example)
    message["data"]["name"] = "Trần Thị Bình"
    broken_example.write_text(json.dumps(message, ensure_ascii=False), encoding="utf-8")
    broken_schema = tmp_path / "events" / "target.registered" / "v1.schema.json"
    schema = load_json(broken_schema)
    schema["properties"]["data"]["properties"]["target"]["minimum"] = "one"
    broken_schema.write_text(json.dumps(schema), encoding="utf-8")
    result = node_validator(tmp_path / "asyncapi.yaml")
    assert result.returncode == 1
    assert "memberRegistered" in result.stdout and "additional properties" in result.stdout
    assert "targetRegistered" in result.stdout and "invalid draft 2020-12 schema" in result.stdout


def test_the_vocabulary_names_every_code_the_contracts_allow() -> None:
    """contracts/vocabulary.json names every target group the schema allows; field codes fit the schema."""
    from chassis.contracts import vocabulary

    schema = json.loads((CONTRACTS / "events/initiative.submitted/v1.schema.json").read_text(encoding="utf-8"))
    data = schema["properties"]["data"]["properties"]
    names = vocabulary()
    groups = data["target_group"]
    assert set(names["target_groups"]) == set(range(groups["minimum"], groups["maximum"] + 1))
    assert all(data["field"]["minLength"] <= len(code) <= data["field"]["maxLength"] for code in names["fields"])
