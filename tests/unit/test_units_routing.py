"""Which top-level units a consumer binds: dedicated, catch-all, catch-all beside dedicated ones."""

from __future__ import annotations

import json

import pytest

from chassis.handler import NATIONAL_UNIT, parse_units, top_unit_codes
from review.deployment import serves
from submission.seed import SEED_DIR


def test_the_routing_registry_matches_the_unit_registry() -> None:
    registry = json.loads((SEED_DIR / "units.json").read_text(encoding="utf-8"))
    assert top_unit_codes() == [u["code"] for u in registry["units"] if u["level"] == "top"]


def test_a_dedicated_deployment_binds_its_units() -> None:
    assert parse_units("HN") == ["HN"]
    assert parse_units("HN, HCM") == ["HN", "HCM"]


def test_a_lone_catch_all_binds_the_wildcard() -> None:
    assert parse_units("*") == ["*"]


def test_a_catch_all_beside_dedicated_deployments_binds_every_other_unit_by_name() -> None:
    units = parse_units("*", "HN,HCM")
    assert "HN" not in units and "HCM" not in units
    # ... and the nation's own events (unit.registered.VGCL), which no top-level unit takes.
    assert set(units) == set(top_unit_codes()) - {"HN", "HCM"} | {NATIONAL_UNIT}


@pytest.mark.parametrize(("value", "exclude"), [("", ""), ("hn", ""), ("HN.X", ""), ("*", "NOPE")])
def test_bad_unit_settings_stop_the_service(value: str, exclude: str) -> None:
    with pytest.raises(ValueError):
        parse_units(value, exclude)


def test_a_deployment_serves_its_units_subtrees_and_the_national_council() -> None:
    assert serves(["HN"], "HN-KL-C001") and serves(["HN"], "HN") and serves(["HN"], "VGCL")
    assert not serves(["HN"], "HCM-C001")
    assert serves(["*"], "HCM-C001")
