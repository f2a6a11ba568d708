"""Demo review for `make run`: councils, and initiatives driven up the union tree over HTTP.

Hà Nội's initiatives are reviewed by the dedicated `review-hn` deployment; one is taken through
all four levels to national recognition. Thanh Hóa's go to the catch-all deployment. Running it
again changes nothing: it acts only on items still waiting at the grassroots intake.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import requests

from chassis.auth import issue_dev_token

LEVEL_UNITS = {"grassroots": "HN-KL-C001", "upper": "HN-KL", "top": "HN", "national": "VGCL"}
# The demo logins sit on the councils (their token subjects), so a newcomer can take an
# initiative up the whole chain in the browser: HN-KL's council of three needs two scores;
# Hà Nội's and the national council are one person each (council, national).
COUNCILS = {
    "HN-KL": ["idp|council", "idp|council2", "idp|council3"],
    "HN": ["idp|council"],
    "VGCL": ["idp|national"],
}
SCORES = {"novelty": 8.5, "applicability": 8, "benefit": 9}


def auth(sub: str, role: str, unit: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(sub, role, unit)}"}


def call(method: str, url: str, who: dict[str, str], body: Any = None) -> dict[str, Any]:
    answer = requests.request(method, url, json=body, headers=who, timeout=10)
    answer.raise_for_status()
    return answer.json() if answer.content else {}


def waiting(api: str, reviewer: dict[str, str], expected: int) -> list[dict[str, Any]]:
    """The grassroots queue once the submission events have reached the review deployment."""
    items: list[dict[str, Any]] = []
    for _ in range(60):
        items = call("GET", f"{api}/api/v1/reviews?status=all", reviewer)["items"]
        if len(items) >= expected:
            break
        time.sleep(0.5)
    return [i for i in items if i["status"] == "received" and i["level"] == "grassroots"]


def councils(api: str) -> None:
    for unit, members in COUNCILS.items():
        admin = auth(f"ad-{unit.lower()}", "national_admin" if unit == "VGCL" else "unit_admin", unit)
        for i, member in enumerate(members):
            call(
                "PUT",
                f"{api}/api/v1/councils/{unit}/members/{member}",
                admin,
                {"role": "chair" if i == 0 else "member"},
            )


def to_national(api: str, initiative_id: str) -> str:
    url = f"{api}/api/v1/reviews/{initiative_id}"
    review: dict[str, Any] = {}
    for level, unit in LEVEL_UNITS.items():
        reviewer = auth(f"rv-{unit.lower()}", "reviewer", unit)
        call("POST", f"{url}/accept", reviewer, {"note": "Hồ sơ đầy đủ"})
        for scorer in COUNCILS.get(unit, [f"rv-{unit.lower()}"]):
            call("POST", f"{url}/scores", auth(scorer, "reviewer", unit), SCORES)
        review = call("POST", f"{url}/decision", reviewer, {"decision": "recognize"})
        if level != "national":
            call("POST", f"{url}/nomination", reviewer, {"honour": "exemplary", "reason": "Sáng kiến tiêu biểu"})
    return review["certificates"][-1]["verification_code"]


def main(hn_api: str, rest_api: str) -> None:
    councils(hn_api)
    hn_reviewer = auth("rv-hn-kl-c001", "reviewer", "HN-KL-C001")
    fresh = waiting(hn_api, hn_reviewer, 3)
    code = to_national(hn_api, fresh[0]["initiative_id"]) if fresh else None
    for item in fresh[1:2]:  # one more, sent back to its author for corrections
        reason = "Bổ sung số liệu tính giá trị làm lợi"
        call("POST", f"{hn_api}/api/v1/reviews/{item['initiative_id']}/corrections", hn_reviewer, {"reason": reason})

    tho_reviewer = auth("rv-tho-kkt-c001", "reviewer", "THO-KKT-C001")
    for item in waiting(rest_api, tho_reviewer, 3)[:1]:
        url = f"{rest_api}/api/v1/reviews/{item['initiative_id']}"
        call("POST", f"{url}/accept", tho_reviewer)
        call("POST", f"{url}/scores", tho_reviewer, SCORES)
        call("POST", f"{url}/decision", tho_reviewer, {"decision": "recognize"})
    if code:
        print(f"demo review: one Hà Nội initiative recognised at all four levels; certificate code {code}")
    else:
        print("demo review: already done on an earlier run")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
