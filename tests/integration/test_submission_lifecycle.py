"""The submission service follows review: status, level and history, over the real broker.

A member's "My initiatives" reads only the submission API, so review's steps must reach it:
accepted, scored, recognised, nominated and received at the next level, each once, in review's
order whatever the order they arrive in; a recognised initiative can no longer be withdrawn.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chassis.envelope import dumps
from tests import event_factories as ev
from tests.conftest import token
from tests.factories import UNIT, UPPER, initiative
from tests.integration.conftest import count, post, publish, rows, wait_for
from tests.integration.test_review_flow import REVIEWERS, act

AUTHOR = token("member", UNIT, "dv-an")


def one(api: str, initiative_id: str, who: dict[str, str] = AUTHOR) -> dict[str, Any]:
    answer = requests.get(f"{api}/api/v1/initiatives/{initiative_id}", headers=who, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(api: str, who: dict[str, str] = AUTHOR, **params: str) -> requests.Response:
    return requests.get(f"{api}/api/v1/initiatives", params=params, headers=who, timeout=10)


def kinds(item: dict[str, Any]) -> list[str]:
    return [h["kind"] for h in item["history"]]


def until(api: str, initiative_id: str, **expected: Any) -> dict[str, Any]:
    """The initiative once its fields hold the expected values (events take a moment to arrive)."""
    seen: dict[str, Any] = {}

    def arrived() -> bool:
        seen.update(one(api, initiative_id))
        return all(seen.get(k) == v for k, v in expected.items())

    try:
        wait_for(arrived, timeout=20)
    except AssertionError as exc:
        raise AssertionError(f"wanted {expected}, got status {seen.get('status')} history {kinds(seen)}") from exc
    return seen


def test_the_author_sees_review_step_by_step_and_cannot_withdraw_once_recognised(api, review_api, tap) -> None:  # type: ignore[no-untyped-def]
    submitted = post(f"{api}/api/v1/initiatives", initiative(), AUTHOR)
    assert submitted.status_code == 201, submitted.text
    body = submitted.json()
    initiative_id = body["id"]
    assert (body["status"], body["review_level"], body["reviewing_unit"]) == ("submitted", "grassroots", UNIT)
    assert [(h["kind"], h["level"], h["unit"], h["revision"]) for h in body["history"]] == [
        ("submitted", "grassroots", UNIT, 1)
    ]
    reviewer = REVIEWERS["grassroots"]
    file_url = f"{review_api}/api/v1/reviews/{initiative_id}"
    wait_for(lambda: requests.get(file_url, headers=reviewer, timeout=5).ok)  # review opened the case

    act(review_api, initiative_id, "accept", {"note": "Hồ sơ đầy đủ"}, reviewer)
    item = until(api, initiative_id, status="in_review")
    assert (item["review_level"], item["reviewing_unit"]) == ("grassroots", UNIT)

    act(review_api, initiative_id, "scores", {"novelty": 9, "applicability": 8, "benefit": 8.5}, reviewer)
    item = until(api, initiative_id, status="in_review")
    wait_for(lambda: "scored" in kinds(one(api, initiative_id)))
    act(review_api, initiative_id, "decision", {"decision": "recognize"}, reviewer)
    item = until(api, initiative_id, status="recognized", recognized_level="grassroots")
    assert kinds(item) == ["submitted", "accepted", "scored", "recognized"]
    scored = item["history"][2]
    assert (scored["level"], scored["unit"], scored["score"], scored["passed"]) == ("grassroots", UNIT, 8.5, True)
    assert all(h["event_id"] for h in item["history"]) and len({h["event_id"] for h in item["history"]}) == 4
    times = [datetime.fromisoformat(h["at"]) for h in item["history"]]
    assert times == sorted(times)

    # A recognised initiative is not withdrawn: 409, in both languages, and nothing changes.
    refused = post(f"{api}/api/v1/initiatives/{initiative_id}/withdraw", {"reason": "Đổi ý"}, AUTHOR)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "already_recognized"
    assert "công nhận" in error["message_vi"] and "recognised" in error["message_en"]
    assert one(api, initiative_id)["status"] == "recognized"
    content = {k: v for k, v in initiative().items() if k not in ("unit", "programme")}
    resubmit = post(f"{api}/api/v1/initiatives/{initiative_id}/resubmit", content, AUTHOR)
    assert resubmit.status_code == 409, resubmit.text  # only after a return

    # Nominated upward: the upper-grassroots union received it, then accepted it.
    act(review_api, initiative_id, "nomination", {"honour": "exemplary", "reason": "Tiêu biểu"}, reviewer)
    item = until(api, initiative_id, status="nominated", review_level="upper", reviewing_unit=UPPER)
    assert kinds(item)[-2:] == ["nominated", "received"]
    nominated, received = item["history"][-2:]
    assert (nominated["level"], nominated["unit"], nominated["honour"]) == ("grassroots", UNIT, "exemplary")
    assert (received["level"], received["unit"]) == ("upper", UPPER)
    act(review_api, initiative_id, "accept", {}, REVIEWERS["upper"])
    item = until(api, initiative_id, status="in_review", review_level="upper")
    assert item["recognized_level"] == "grassroots"
    again = post(f"{api}/api/v1/initiatives/{initiative_id}/withdraw", {}, AUTHOR)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_recognized"

    # Lists: status and level, not the history; filtered by status, programme, phase, subtree.
    team = token("support_team", UPPER, "tht-kl")
    page = listed(api, team, status="in_review", unit=UPPER).json()
    assert [(i["id"], i["review_level"], i["reviewing_unit"]) for i in page["items"]] == [
        (initiative_id, "upper", UPPER)
    ]
    assert "history" not in page["items"][0]
    assert listed(api, team, status="submitted", unit=UPPER).json()["items"] == []
    assert [i["id"] for i in listed(api, team, status="in_review", programme="LDST2026", phase="P1").json()["items"]]
    assert listed(api, team, status="in_review", programme="OTHER").json()["items"] == []
    assert listed(api, team, status="in_review", unit="HN-KCN").status_code == 403  # not the caller's subtree
    assert listed(api, token("reviewer", "HN"), status="in_review", unit="HN-KCN").json()["items"] == []
    wrong = listed(api, team, status="scored")
    assert wrong.status_code == 422 and "status" in wrong.json()["error"]["fields"]


def test_returned_resubmitted_and_withdrawn_while_in_review(api, review_api) -> None:  # type: ignore[no-untyped-def]
    initiative_id = post(f"{api}/api/v1/initiatives", initiative(), AUTHOR).json()["id"]
    reviewer = REVIEWERS["grassroots"]
    file_url = f"{review_api}/api/v1/reviews/{initiative_id}"
    wait_for(lambda: requests.get(file_url, headers=reviewer, timeout=5).ok)
    act(review_api, initiative_id, "corrections", {"reason": "Bổ sung số liệu"}, reviewer)
    item = until(api, initiative_id, status="returned")
    assert item["return_reason"] == "Bổ sung số liệu"
    assert item["history"][-1]["reason"] == "Bổ sung số liệu" and item["history"][-1]["unit"] == UNIT

    content = {k: v for k, v in initiative(title="Bản bổ sung").items() if k not in ("unit", "programme")}
    resubmitted = post(f"{api}/api/v1/initiatives/{initiative_id}/resubmit", content, AUTHOR)
    assert resubmitted.status_code == 200, resubmitted.text
    body = resubmitted.json()
    assert (body["status"], body["revision"], body["review_level"]) == ("submitted", 2, "grassroots")
    assert [(h["kind"], h["revision"]) for h in body["history"]][-1] == ("resubmitted", 2)

    wait_for(lambda: requests.get(file_url, headers=reviewer, timeout=5).json()["revision"] == 2)
    act(review_api, initiative_id, "accept", {}, reviewer)
    until(api, initiative_id, status="in_review")
    withdrawn = post(f"{api}/api/v1/initiatives/{initiative_id}/withdraw", {"reason": "Trùng"}, AUTHOR)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert kinds(withdrawn.json()) == ["submitted", "returned", "resubmitted", "accepted", "withdrawn"]
    assert withdrawn.json()["history"][-1]["reason"] == "Trùng"
    wait_for(lambda: requests.get(file_url, headers=reviewer, timeout=5).json()["withdrawn"] is True)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_duplicate_and_out_of_order_review_events_have_one_effect(api, tap, db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    """No review service here: its events are published as the broker may deliver them."""
    amqp_uri = rabbit_config["AMQP_URI"]
    announced = tap(["initiative.submitted.HN"])
    initiative_id = post(f"{api}/api/v1/initiatives", initiative(), AUTHOR).json()["id"]
    _, submitted = announced.get()
    t = datetime.now(UTC)
    started = ev.review_started(submitted, accepted_at=_iso(t + timedelta(minutes=1)))
    scored = ev.scored(submitted, total=7.5, at=_iso(t + timedelta(minutes=2)))
    recognized = ev.recognized(submitted, at=_iso(t + timedelta(minutes=3)))
    late_return = ev.returned(submitted, at=_iso(t + timedelta(minutes=4)))  # after recognition: must not win
    # Out of order: the decision first, the acceptance last; the recognition delivered three times.
    for event in (recognized, scored, recognized, late_return, started, recognized):
        key = f"{event['type']}.HN"
        publish(amqp_uri, "review.events", key, dumps(event))

    ids = {e["id"] for e in (started, scored, recognized, late_return)}
    wait_for(lambda: count(db_url, "inbox") == len(ids), timeout=30)
    item = one(api, initiative_id)
    assert (item["status"], item["review_level"], item["recognized_level"]) == (
        "recognized",
        "grassroots",
        "grassroots",
    )
    assert item["return_reason"] is None
    # Every step once, in review's order by its time, the repeated recognition once.
    assert kinds(item) == ["submitted", "accepted", "scored", "recognized", "returned"]
    assert item["history"][2]["score"] == 7.5
    history = rows(db_url, "SELECT event_id FROM initiative_history WHERE initiative_id = :i", i=initiative_id)
    assert len(history) == 5 and sum(r["event_id"] == recognized["id"] for r in history) == 1
    assert post(f"{api}/api/v1/initiatives/{initiative_id}/withdraw", {}, AUTHOR).status_code == 409

    # A step of an initiative submitted elsewhere is not ours: consumed once, ignored, never retried.
    stranger = ev.review_started(ev.submitted(UNIT, initiative_id=str(uuid.uuid4())))
    publish(amqp_uri, "review.events", "review.started.HN", dumps(stranger))
    wait_for(lambda: count(db_url, "inbox", f"WHERE event_id = '{stranger['id']}'") == 1, timeout=30)
    assert count(db_url, "initiative_history", f"WHERE initiative_id = '{stranger['subject']}'") == 0
