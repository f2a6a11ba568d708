"""Every accepted submission reaches review, awards and notify exactly once in effect.

All four services run together on the real broker, each on its own database, as in production;
submissions come in over HTTP from several clients at once, some retried with their
Idempotency-Key. No timing is asserted: only the accounting.
"""

from __future__ import annotations

import concurrent.futures

import requests

from tests.conftest import token
from tests.factories import initiative
from tests.integration.conftest import count, wait_for

UNITS = ["HN-KL-C001", "HN-KCN-C001", "THO-KKT-C001", "HCM-KCX-C001", "CTVN-HC-C001"]
SUBMISSIONS = 200


def submit(api: str, i: int) -> str:
    unit = UNITS[i % len(UNITS)]
    upper = unit.rsplit("-", 1)[0]
    headers = {**token("support_team", upper, f"tht-{upper.lower()}"), "Idempotency-Key": f"e2e-{i}"}
    body = initiative(
        unit=unit,
        title=f"Sáng kiến số {i}",
        authors=[{"name": "Tác giả", "member_id": f"dv-{i % 37}", "share_percent": 100}],
    )
    first = requests.post(f"{api}/api/v1/initiatives", json=body, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    if i % 10 == 0:  # a client that did not see the answer tries again: the same initiative, not a second
        again = requests.post(f"{api}/api/v1/initiatives", json=body, headers=headers, timeout=30)
        assert again.json()["id"] == first.json()["id"]
    return first.json()["id"]


def test_every_accepted_submission_has_one_effect_in_every_consumer(  # type: ignore[no-untyped-def]
    api, review_api, awards_api, container_factory, make_config, notify_db_url, review_db_url, awards_db_url
) -> None:
    from notify.service import NotifyService

    container_factory(NotifyService, make_config(notify_db_url, "notify", UNITS="*")).start()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(lambda i: submit(api, i), range(SUBMISSIONS)))
    assert len(set(accepted)) == SUBMISSIONS

    wait_for(lambda: count(review_db_url, "cases") == SUBMISSIONS, timeout=120)
    wait_for(lambda: count(awards_db_url, "facts") == SUBMISSIONS, timeout=120)
    wait_for(
        lambda: count(notify_db_url, "inbox", "WHERE event_type = 'initiative.submitted'") == SUBMISSIONS, timeout=120
    )
    ids = "', '".join(accepted)
    assert count(review_db_url, "level_reviews", f"WHERE initiative_id IN ('{ids}')") == SUBMISSIONS
    assert count(awards_db_url, "totals", f"WHERE unit = 'VGCL' AND phase = '*' AND submitted = {SUBMISSIONS}") == 1
    # Each: the author, the support team member who submitted it, and the unit's reviewers.
    assert count(notify_db_url, "messages", "WHERE category = 'received'") == 2 * SUBMISSIONS
    assert count(notify_db_url, "messages", "WHERE category = 'new_item'") == SUBMISSIONS
    # Awards' per-idea bonus under HN-KCN (Hà Nội's rule) reached notify too, once per idea.
    bonuses = sum(1 for i in range(SUBMISSIONS) if UNITS[i % len(UNITS)].startswith("HN-KCN"))
    wait_for(lambda: count(notify_db_url, "inbox", "WHERE event_type = 'award.granted'") == bonuses, timeout=60)
    assert count(awards_db_url, "ledger", "WHERE kind = 'bonus'") == bonuses
    assert count(notify_db_url, "inbox") == SUBMISSIONS + bonuses  # nothing else arrived, nothing twice
