import pytest

from chassis.contracts import contract_errors
from chassis.envelope import Undecodable, envelope_errors, loads, new_event, schema_version
from chassis.handler import parse_units


def test_new_event_is_a_cloudevent() -> None:
    event = new_event("unit.registered", {"x": 1}, source="/vgcl/submission", subject="HN", unit="HN")
    assert event["specversion"] == "1.0"
    assert event["dataschema"] == "urn:vgcl:events:unit.registered:v1"
    assert event["time"].endswith("Z")
    assert schema_version(event) == 1
    assert envelope_errors(event) == []


def test_contract_catches_wrong_data() -> None:
    event = new_event("unit.registered", {"x": 1}, source="/vgcl/submission", subject="HN", unit="HN")
    assert contract_errors(event)
    unknown = new_event("no.such", {}, source="/x", subject="s", unit="HN")
    assert "no contract" in contract_errors(unknown)[0]


def test_garbage_bodies_are_marked_not_raised() -> None:
    body = loads(b"\xff{not json")
    assert isinstance(body, Undecodable)
    assert envelope_errors(body)[0].startswith("body is not JSON")
    assert envelope_errors([1, 2]) == ["body is not a JSON object"]


def test_units_config() -> None:
    assert parse_units("HN, THO") == ["HN", "THO"]
    assert parse_units("*") == ["*"]
    assert parse_units(["HN", "*"]) == ["*"]
    for bad in ("", "hn", "H.N", "HN-KL"):
        with pytest.raises(ValueError):
            parse_units(bad)
