"""A submitted initiative climbs all four levels to national recognition, over HTTP and RabbitMQ."""

from __future__ import annotations

from typing import Any

import requests

from chassis.contracts import contract_errors
from tests.conftest import token
from tests.factories import UNIT, UPPER, initiative
from tests.integration.conftest import count, post, wait_for

REVIEWERS = {
    "grassroots": token("reviewer", UNIT, "rv-cs"),
    "upper": token("reviewer", UPPER, "rv-ctcs"),
    "top": token("reviewer", "HN", "rv-hn"),
    "national": token("reviewer", "VGCL", "rv-tw"),
}
ADMINS = {"HN": token("unit_admin", "HN", "ad-hn"), "VGCL": token("national_admin", "VGCL", "ad-tw")}


def put_council(review_api: str, unit: str, members: list[str]) -> None:
    for i, member in enumerate(members):
        role = {"role": "chair" if i == 0 else "member"}
        answer = requests.put(
            f"{review_api}/api/v1/councils/{unit}/members/{member}", json=role, headers=ADMINS[unit], timeout=10
        )
        assert answer.status_code == 201, answer.text


def act(review_api: str, initiative_id: str, action: str, body: dict[str, Any], who: dict[str, str]) -> dict:
    answer = post(f"{review_api}/api/v1/reviews/{initiative_id}/{action}", body, who)
    assert answer.status_code == 200, answer.text
    return answer.json()


def submitted(api: str, review_api: str, **changes: Any) -> str:
    ini = post(f"{api}/api/v1/initiatives", initiative(**changes), token("member", UNIT, "dv-an")).json()
    reviewer = REVIEWERS["grassroots"]
    wait_for(lambda: requests.get(f"{review_api}/api/v1/reviews/{ini['id']}", headers=reviewer, timeout=5).ok)
    return ini["id"]


def test_an_initiative_is_recognised_at_all_four_levels(api, review_api, tap, review_db_url) -> None:  # type: ignore[no-untyped-def]
    events = tap(["#"], exchange="review.events")
    # LDST2026: one reviewer at grassroots, a council averaging at upper, majority at top and national.
    put_council(review_api, "HN", ["hd-hn-1", "hd-hn-2", "hd-hn-3"])
    put_council(review_api, "VGCL", ["hd-tw-1", "hd-tw-2"])
    admin_upper = token("unit_admin", UPPER, "ad-kl")
    for member in ("hd-kl-1", "hd-kl-2"):
        answer = requests.put(
            f"{review_api}/api/v1/councils/{UPPER}/members/{member}", json={}, headers=admin_upper, timeout=10
        )
        assert answer.status_code == 201, answer.text

    initiative_id = submitted(api, review_api)
    queue = requests.get(f"{review_api}/api/v1/reviews", headers=REVIEWERS["grassroots"], timeout=5).json()
    assert [i["initiative_id"] for i in queue["items"]] == [initiative_id]
    assert queue["items"][0]["status"] == "received" and queue["items"][0]["deadline_state"] == "ok"

    scorers = {
        "grassroots": ["rv-cs"],
        "upper": ["hd-kl-1", "hd-kl-2"],
        "top": ["hd-hn-1", "hd-hn-2"],
        "national": ["hd-tw-1", "hd-tw-2"],
    }
    units = {"grassroots": UNIT, "upper": UPPER, "top": "HN", "national": "VGCL"}
    certificates = []
    for level in ("grassroots", "upper", "top", "national"):
        who = REVIEWERS[level]
        act(review_api, initiative_id, "accept", {"note": "Hồ sơ đầy đủ"}, who)
        for scorer in scorers[level]:
            act(
                review_api,
                initiative_id,
                "scores",
                {"novelty": 9, "applicability": 8, "benefit": 8.5},
                token("reviewer", units[level], scorer),
            )
        review = act(review_api, initiative_id, "decision", {"decision": "recognize"}, who)
        step = next(s for s in review["steps"] if s["level"] == level)
        assert step["status"] == "recognized" and step["certificate_number"]
        certificates.append(review["certificates"][-1])
        if level != "national":
            review = act(review_api, initiative_id, "nomination", {"honour": "exemplary", "reason": "Tiêu biểu"}, who)
            assert review["level"] != level

    assert [s["status"] for s in review["steps"]] == ["nominated", "nominated", "nominated", "recognized"]
    assert [c["level"] for c in certificates] == ["grassroots", "upper", "top", "national"]
    assert certificates[-1]["number"].startswith("VGCL-HN-")
    actions = [a["action"] for a in review["audit"]]
    assert actions.count("accept") == 4 and actions.count("nominate") == 3 and actions[0] == "received"

    # Anyone can check a certificate by its code, without a token.
    check = requests.get(f"{review_api}/api/v1/certificates/{certificates[-1]['verification_code']}", timeout=5)
    assert check.status_code == 200 and check.json()["valid"] and check.json()["level"] == "national"
    assert requests.get(f"{review_api}/api/v1/certificates/HN-AAAAAAAAAA", timeout=5).status_code == 404

    # Every step was announced, contract-valid, routed by the top-level unit.
    expected = 4 * 3 + 3  # started, scored and recognized per level, nominated three times
    received = events.drain(expected)
    assert {key.rsplit(".", 1)[1] for key, _ in received} == {"HN"}
    assert all(contract_errors(body) == [] for _, body in received)
    kinds = [body["type"] for _, body in received]
    assert kinds.count("review.started") == 4 and kinds.count("initiative.recognized") == 4
    assert kinds.count("initiative.nominated") == 3
    # Each level's score once it was final: the one reviewer's at once, a council's with the decision.
    scored = [body["data"] for _, body in received if body["type"] == "initiative.scored"]
    assert [(s["level"], s["level_unit"], s["scores"]["scorers"]) for s in scored] == [
        ("grassroots", UNIT, 1),
        ("upper", UPPER, 2),
        ("top", "HN", 2),
        ("national", "VGCL", 2),
    ]
    assert all(s["scores"]["passed"] and s["scores"]["total"] == 8.5 for s in scored)  # 0.3*9 + 0.3*8 + 0.4*8.5
    assert [s["scores"]["decision_rule"] for s in scored] == ["single", "average", "majority", "majority"]
    recognized = [body for _, body in received if body["type"] == "initiative.recognized"][-1]["data"]
    assert recognized["level"] == "national" and recognized["scores"]["scorers"] == 2
    assert recognized["benefit_vnd_per_year"] == 120_000_000
    events.assert_quiet()
    assert count(review_db_url, "outbox", "WHERE published_at IS NULL") == 0


def test_returned_for_corrections_the_author_resubmits_and_intake_starts_again(api, review_api, tap) -> None:  # type: ignore[no-untyped-def]
    returned = tap(["initiative.returned.HN"], exchange="review.events")
    initiative_id = submitted(api, review_api)
    reviewer = REVIEWERS["grassroots"]
    act(review_api, initiative_id, "corrections", {"reason": "Bổ sung số liệu hiệu quả kinh tế"}, reviewer)
    _, event = returned.get()
    assert event["data"]["reason"] == "Bổ sung số liệu hiệu quả kinh tế"

    # The submission service hears it and lets the author resubmit.
    author = token("member", UNIT, "dv-an")
    url = f"{api}/api/v1/initiatives/{initiative_id}"
    wait_for(lambda: requests.get(url, headers=author, timeout=5).json()["status"] == "returned")
    content = {k: v for k, v in initiative(title="Đồ gá hàn — bản bổ sung").items() if k not in ("unit", "programme")}
    assert post(f"{url}/resubmit", content, author).status_code == 200

    file_url = f"{review_api}/api/v1/reviews/{initiative_id}"
    wait_for(lambda: requests.get(file_url, headers=reviewer, timeout=5).json()["revision"] == 2)
    review = requests.get(file_url, headers=reviewer, timeout=5).json()
    assert review["title"] == "Đồ gá hàn — bản bổ sung"
    assert review["steps"][0]["status"] == "received" and review["steps"][0]["revision"] == 2
    act(review_api, initiative_id, "accept", {}, reviewer)
    act(review_api, initiative_id, "scores", {"novelty": 4, "applicability": 5, "benefit": 5}, reviewer)
    # Below the pass mark (LDST2026: 6.0): recognition is refused, a rejection needs a reason.
    refused = post(f"{file_url}/decision", {"decision": "recognize"}, reviewer)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "score_below_pass_mark"
    rejected = act(
        review_api, initiative_id, "decision", {"decision": "reject", "reason": "Chưa có tính mới"}, reviewer
    )
    assert rejected["steps"][0]["status"] == "rejected"


def test_similar_earlier_initiatives_are_flagged_with_or_without_diacritics(api, review_api) -> None:  # type: ignore[no-untyped-def]
    first = submitted(api, review_api, title="Cải tiến đồ gá hàn giúp giảm thời gian thao tác tại phân xưởng")
    other = submitted(
        api,
        review_api,
        title="Phần mềm quản lý kho vật tư",
        problem="Kiểm kê chậm.",
        solution="Quét mã vạch.",
        novelty="Mới.",
    )
    plain = submitted(
        api,
        review_api,
        title="Cai tien do ga han giup giam thoi gian thao tac tai phan xuong",
        problem="Thao tac han thu cong mat nhieu thoi gian.",
        solution="Thiet ke do ga dinh vi nhanh.",
        novelty="Lan dau ap dung tai cong ty.",
    )
    review = requests.get(f"{review_api}/api/v1/reviews/{plain}", headers=REVIEWERS["grassroots"], timeout=5).json()
    similar = {s["initiative_id"]: s["score"] for s in review["similar"]}
    assert first in similar and similar[first] >= 0.8
    assert other not in similar
    queue = requests.get(f"{review_api}/api/v1/reviews", headers=REVIEWERS["grassroots"], timeout=5).json()
    flags = {i["initiative_id"]: i["similar_max"] for i in queue["items"]}
    assert flags[plain] >= 0.8 and flags[other] is None


def test_the_review_file_offers_its_caller_the_actions_in_order_now_and_only_those(api, review_api) -> None:  # type: ignore[no-untyped-def]
    initiative_id = submitted(api, review_api)
    reviewer = REVIEWERS["grassroots"]

    def offered(who: dict[str, str]) -> tuple[set[str], dict | None]:
        body = requests.get(f"{review_api}/api/v1/reviews/{initiative_id}", headers=who, timeout=5).json()
        return set(body["actions"]), body["recognition_blocked"]

    assert offered(reviewer) == (
        {"accept", "request_corrections"},
        {
            "en": "0 of the 1 scores needed are in.",
            "vi": "Mới có 0/1 phiếu chấm cần thiết.",
        },
    )
    assert offered(REVIEWERS["top"])[0] == set()  # the top-level unit reads the file; it is not its turn
    act(review_api, initiative_id, "accept", {}, reviewer)
    actions, blocked = offered(reviewer)
    assert actions == {"score", "reject", "return"} and blocked is not None  # no recognition before a score
    act(review_api, initiative_id, "scores", {"novelty": 9, "applicability": 8, "benefit": 8}, reviewer)
    # One reviewer scores this level: a second score is not offered, recognition now is.
    assert offered(reviewer) == ({"recognize", "reject", "return"}, None)
    act(review_api, initiative_id, "decision", {"decision": "recognize"}, reviewer)
    assert offered(reviewer) == ({"nominate"}, None)
    act(review_api, initiative_id, "nomination", {}, reviewer)
    assert offered(reviewer)[0] == set()  # the upper level has it now
    assert offered(REVIEWERS["upper"])[0] == {"accept", "request_corrections"}


def test_a_council_has_one_chair_naming_another_seats_the_former_as_a_member(review_api) -> None:  # type: ignore[no-untyped-def]
    admin = token("unit_admin", "HN", "ad-hn-chair")
    put_council(review_api, "HN", ["ct-hn-1", "ct-hn-2"])
    answer = requests.put(
        f"{review_api}/api/v1/councils/HN/members/ct-hn-2", json={"role": "chair"}, headers=admin, timeout=10
    )
    assert answer.status_code == 200, answer.text
    seats = requests.get(f"{review_api}/api/v1/councils/HN", headers=admin, timeout=10).json()["items"]
    roles = {s["member_id"]: s["role"] for s in seats if s["member_id"].startswith("ct-hn-")}
    assert roles == {"ct-hn-1": "member", "ct-hn-2": "chair"}
    assert [s["member_id"] for s in seats if s["role"] == "chair"] == ["ct-hn-2"]
