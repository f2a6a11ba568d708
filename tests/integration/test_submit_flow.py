"""Submitting over HTTP publishes a contract-valid event, through the outbox, once."""

from __future__ import annotations

import requests

from chassis.contracts import contract_errors
from tests.conftest import token
from tests.factories import UNIT, UPPER, initiative
from tests.integration.conftest import count, post


def test_submit_publishes_contract_valid_event(api, tap, db_url) -> None:  # type: ignore[no-untyped-def]
    hn = tap(["initiative.*.HN"])
    tho = tap(["initiative.*.THO"])
    response = post(f"{api}/api/v1/initiatives", initiative(), token("member", UNIT, "dv-an"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "submitted" and body["phase"] == "P1" and body["top_unit"] == "HN"
    assert body["submitted_by_role"] == "member" and body["on_behalf"] is False
    assert response.headers["Location"] == f"/api/v1/initiatives/{body['id']}"

    key, event = hn.get()
    assert key == "initiative.submitted.HN"
    assert contract_errors(event) == []
    assert event["subject"] == body["id"] and event["data"]["unit_path"] == ["VGCL", "HN", "HN-KL", UNIT]
    assert all("name" not in a for a in event["data"]["authors"])  # no personal data
    tho.assert_quiet()
    assert count(db_url, "outbox", "WHERE published_at IS NULL") == 0


def test_support_team_submits_on_behalf(api, tap) -> None:  # type: ignore[no-untyped-def]
    hn = tap(["initiative.submitted.*"])
    response = post(f"{api}/api/v1/initiatives", initiative(confidential=True), token("support_team", UPPER, "tht-1"))
    assert response.status_code == 201, response.text
    assert response.json()["on_behalf"] is True
    _, event = hn.get()
    data = event["data"]
    assert data["submitted_by"] == {"member_id": "tht-1", "role": "support_team"} and data["on_behalf"]
    # A confidential initiative publishes only its title, field and benefit.
    assert data["problem"] is None and data["solution"] is None and data["title"]
    assert data["benefit_vnd_per_year"] == 120_000_000


def test_idempotency_key_returns_the_first_result(api, tap, db_url) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.#"])
    headers = {**token("member", UNIT, "dv-an"), "Idempotency-Key": "retry-1"}
    first = post(f"{api}/api/v1/initiatives", initiative(), headers)
    again = post(f"{api}/api/v1/initiatives", initiative(), headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(f"{api}/api/v1/initiatives", initiative(title="Khác"), headers)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    events.get()
    events.assert_quiet()
    assert count(db_url, "initiatives") == 1


def test_withdraw_announces_once(api, tap) -> None:  # type: ignore[no-untyped-def]
    events = tap(["initiative.withdrawn.HN"])
    member = token("member", UNIT, "dv-an")
    created = post(f"{api}/api/v1/initiatives", initiative(), member).json()
    url = f"{api}/api/v1/initiatives/{created['id']}/withdraw"
    first = post(url, {"reason": "Trùng với sáng kiến đã nộp"}, member)
    assert first.status_code == 200 and first.json()["status"] == "withdrawn"
    assert post(url, {}, member).status_code == 200
    _, event = events.get()
    assert event["data"]["withdrawn_by"] == {"member_id": "dv-an", "role": "member"}
    assert contract_errors(event) == []
    events.assert_quiet()
    outsider = post(url, {}, token("member", UNIT, "dv-other"))
    assert outsider.status_code == 404


def test_reads_are_scoped_and_paginated(api) -> None:  # type: ignore[no-untyped-def]
    team = token("support_team", UPPER)
    others = [{"name": "Lê Văn Cường", "member_id": "dv-cuong", "share_percent": 100}]
    ids = [
        post(f"{api}/api/v1/initiatives", initiative(title=f"Sáng kiến {i}", authors=others), team).json()["id"]
        for i in range(5)
    ]
    mine = post(f"{api}/api/v1/initiatives", initiative(), token("member", UNIT, "dv-an")).json()["id"]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, "unit": "HN", **({"cursor": cursor} if cursor else {})}
        page = requests.get(
            f"{api}/api/v1/initiatives", params=params, headers=token("reviewer", "HN"), timeout=10
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([*ids, mine]) and len(seen) == 6

    as_member = requests.get(f"{api}/api/v1/initiatives", headers=token("member", UNIT, "dv-an"), timeout=10).json()
    assert [item["id"] for item in as_member["items"]] == [mine]
    other_province = requests.get(
        f"{api}/api/v1/initiatives", params={"unit": "HN"}, headers=token("reviewer", "THO"), timeout=10
    )
    assert other_province.status_code == 403
    one = requests.get(f"{api}/api/v1/initiatives/{mine}", headers=token("reviewer", "THO"), timeout=10)
    assert one.status_code == 404
    assert (
        requests.get(f"{api}/api/v1/initiatives/{mine}", headers=token("reviewer", "HN"), timeout=10).status_code == 200
    )


def test_concurrent_retries_with_one_key_create_one_initiative(api, tap, db_url) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    events = tap(["initiative.submitted.HN"])
    headers = {**token("member", UNIT, "dv-an"), "Idempotency-Key": "double-click"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(f"{api}/api/v1/initiatives", initiative(), headers), range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(db_url, "initiatives") == 1
    events.get()
    events.assert_quiet()
