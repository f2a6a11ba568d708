"""Demo set-up of notify for `make run`: the demo members' e-mail, a unit mailbox, a webhook.

Idempotent: preferences are set, and the webhook subscribed only if no subscription has its URL.
"""

from __future__ import annotations

import sys

import requests

from chassis.auth import issue_dev_token

UNITS = ["HN-KL-C001", "HN-KCN-C001", "HN-TH-C002", "THO-KKT-C001", "THO-LS-C001", "HCM-KCX-C001", "CTVN-HC-C001"]


def auth(sub: str, role: str, unit: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(sub, role, unit)}"}


def main(base: str, webhook_url: str, secret: str) -> None:
    for unit in UNITS:
        member = f"dv-{unit.lower()}-01"
        prefs = {"email": f"{member}@example.vn", "channels": ["email"], "language": "vi"}
        requests.put(
            f"{base}/api/v1/preferences", json=prefs, headers=auth(member, "member", unit), timeout=10
        ).raise_for_status()
    admin = auth("ad-hn", "unit_admin", "HN")
    requests.put(
        f"{base}/api/v1/preferences",
        params={"mailbox": "unit_admin@HN"},
        json={"email": "thi-dua@ldldhanoi.example.vn", "channels": ["email"]},
        headers=admin,
        timeout=10,
    ).raise_for_status()
    national = auth("ad-tw", "national_admin", "VGCL")
    existing = requests.get(f"{base}/api/v1/webhooks", headers=national, timeout=10).json()
    if not any(s["url"] == webhook_url for s in existing):
        body = {
            "url": webhook_url,
            "secret": secret,
            "units": ["*"],
            "event_types": ["initiative.submitted", "initiative.recognized", "award.granted"],
        }
        requests.post(f"{base}/api/v1/webhooks", json=body, headers=national, timeout=10).raise_for_status()
    print(f"demo notify: e-mail for {len(UNITS)} members and unit_admin@HN; webhook to {webhook_url}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
