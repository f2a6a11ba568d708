"""Review consumes submission events once in effect, in whatever order they arrive."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from chassis.envelope import dumps, new_event
from tests.conftest import token
from tests.factories import UNIT
from tests.integration.conftest import count, publish, wait_for

READER = token("reviewer", UNIT, "rv-cs")
PATH = ["VGCL", "HN", "HN-KL", UNIT]


def submission_data(initiative_id: str, revision: int = 1, title: str = "Sáng kiến thử nghiệm") -> dict[str, Any]:
    return {
        "initiative_id": initiative_id,
        "revision": revision,
        "programme": "LDST2026",
        "phase": "P1",
        "unit": UNIT,
        "unit_path": PATH,
        "top_unit": "HN",
        "block": "enterprise",
        "title": title,
        "field": "production_business",
        "target_group": 5,
        "confidential": False,
        "problem": "Vấn đề",
        "solution": "Giải pháp",
        "novelty": "Điểm mới",
        "scope": "Phạm vi",
        "first_applied_on": None,
        "benefit_vnd_per_year": 50_000_000,
        "benefit_description": "Tiết kiệm",
        "authors": [{"member_id": "dv-an", "share_percent": 100.0}],
        "submitted_by": {"member_id": "dv-an", "role": "member"},
        "on_behalf": False,
        "submitted_at": "2026-11-20T03:00:00Z",
    }


def send(amqp_uri: str, event: dict[str, Any]) -> None:
    publish(amqp_uri, "submission.events", f"{event['type']}.HN", dumps(event))


def submitted_event(initiative_id: str, revision: int = 1, title: str = "Sáng kiến thử nghiệm") -> dict[str, Any]:
    event_type = "initiative.submitted" if revision == 1 else "initiative.resubmitted"
    data = submission_data(initiative_id, revision, title)
    return new_event(event_type, data, source="/vgcl/submission", subject=initiative_id, unit="HN")


def withdrawn_event(initiative_id: str) -> dict[str, Any]:
    data = {
        "initiative_id": initiative_id,
        "unit": UNIT,
        "top_unit": "HN",
        "programme": "LDST2026",
        "withdrawn_by": {"member_id": "dv-an", "role": "member"},
        "reason": "Trùng với sáng kiến khác",
        "withdrawn_at": "2026-11-20T04:00:00Z",
    }
    return new_event("initiative.withdrawn", data, source="/vgcl/submission", subject=initiative_id, unit="HN")


def review_file(review_api: str, initiative_id: str) -> requests.Response:
    return requests.get(f"{review_api}/api/v1/reviews/{initiative_id}", headers=READER, timeout=5)


def test_the_same_event_delivered_three_times_opens_one_review(review_api, review_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    initiative_id = str(uuid.uuid4())
    event = submitted_event(initiative_id)
    for _ in range(3):
        send(rabbit_config["AMQP_URI"], event)
    wait_for(lambda: count(review_db_url, "inbox") == 1 and review_file(review_api, initiative_id).ok)
    # A later event proves the duplicates were consumed (queues are FIFO), not still in flight.
    marker = str(uuid.uuid4())
    send(rabbit_config["AMQP_URI"], submitted_event(marker))
    wait_for(lambda: review_file(review_api, marker).ok)
    assert count(review_db_url, "level_reviews", f"WHERE initiative_id = '{initiative_id}'") == 1
    assert count(review_db_url, "audit_trail", f"WHERE initiative_id = '{initiative_id}'") == 1


def test_a_withdrawal_that_overtakes_its_submission_is_not_lost(review_api, review_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    initiative_id = str(uuid.uuid4())
    send(rabbit_config["AMQP_URI"], withdrawn_event(initiative_id))
    wait_for(lambda: count(review_db_url, "cases", f"WHERE initiative_id = '{initiative_id}'") == 1)
    assert review_file(review_api, initiative_id).status_code == 404  # nothing to review yet
    send(rabbit_config["AMQP_URI"], submitted_event(initiative_id))
    wait_for(lambda: review_file(review_api, initiative_id).ok)
    review = review_file(review_api, initiative_id).json()
    assert review["withdrawn"] is True and review["steps"] == []
    queue = requests.get(f"{review_api}/api/v1/reviews", headers=READER, timeout=5).json()
    assert initiative_id not in [i["initiative_id"] for i in queue["items"]]


def test_an_older_revision_arriving_late_does_not_overwrite_the_newer(review_api, review_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    initiative_id = str(uuid.uuid4())
    send(rabbit_config["AMQP_URI"], submitted_event(initiative_id, 2, "Bản sửa lần 2"))
    wait_for(lambda: review_file(review_api, initiative_id).ok)
    send(rabbit_config["AMQP_URI"], submitted_event(initiative_id, 1, "Bản đầu"))
    wait_for(lambda: count(review_db_url, "inbox") == 2)
    review = review_file(review_api, initiative_id).json()
    assert review["revision"] == 2 and review["title"] == "Bản sửa lần 2"
    assert [(s["level"], s["status"], s["revision"]) for s in review["steps"]] == [("grassroots", "received", 2)]


def test_a_withdrawal_closes_an_open_review(review_api, review_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    initiative_id = str(uuid.uuid4())
    send(rabbit_config["AMQP_URI"], submitted_event(initiative_id))
    wait_for(lambda: review_file(review_api, initiative_id).ok)
    send(rabbit_config["AMQP_URI"], withdrawn_event(initiative_id))
    wait_for(lambda: review_file(review_api, initiative_id).json()["withdrawn"])
    review = review_file(review_api, initiative_id).json()
    assert review["steps"][0]["status"] == "withdrawn" and review["steps"][0]["due_at"] is None
    answer = requests.post(f"{review_api}/api/v1/reviews/{initiative_id}/accept", json={}, headers=READER, timeout=5)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "action_out_of_order"
