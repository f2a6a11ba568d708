"""The ledger as the portal's reports read it: a unit's subtree (`under`) and the remuneration
schedule by due date (`order=due`), on the worked example of test_awards_reports."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import token
from tests.integration.test_awards_reports import ADMIN, fed


def _ledger(base: str, who: dict[str, str] = ADMIN, **params: Any) -> requests.Response:
    return requests.get(f"{base}/api/v1/ledger", params={"limit": 500, **params}, headers=who, timeout=10)


def test_a_units_subtree_and_the_remuneration_schedule(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    fed(awards_api, awards_db_url, rabbit_config["AMQP_URI"])
    everything = _ledger(awards_api).json()["items"]
    assert {e["top_unit"] for e in everything} >= {"HN", "THO"}

    hanoi = _ledger(awards_api, under="HN").json()
    assert hanoi["total"] == sum(1 for e in everything if e["top_unit"] == "HN") > 0
    assert {e["top_unit"] for e in hanoi["items"]} == {"HN"}
    kcn = _ledger(awards_api, under="HN-KCN").json()["items"]
    assert kcn and all(e["recipient_unit"].startswith("HN-KCN") for e in kcn)

    schedule = _ledger(awards_api, kind="remuneration", order="due").json()["items"]
    dues = [e["due_on"] for e in schedule]
    assert len(dues) > 1 and dues == sorted(dues)
    assert schedule[0]["due_on"] == "2026-06-10" and schedule[0]["paid_at"] is not None  # C's, paid by fed()
    newest = _ledger(awards_api, kind="remuneration").json()["items"]
    assert sorted(e["id"] for e in newest) == sorted(e["id"] for e in schedule)

    # A unit's reader asking for another unit's subtree sees nothing of it: `under` narrows the scope.
    thanh_hoa = token("support_team", "THO")
    assert _ledger(awards_api, thanh_hoa, under="HN").json()["total"] == 0
    assert _ledger(awards_api, thanh_hoa, under="THO").json()["total"] > 0


def test_bad_ledger_views_are_field_level_422s(awards_api) -> None:  # type: ignore[no-untyped-def]
    for params, name in (({"order": "soonest"}, "order"), ({"under": "hn/.."}, "under")):
        answer = _ledger(awards_api, **params)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert name in error["fields"] and name in error["fields_vi"]
