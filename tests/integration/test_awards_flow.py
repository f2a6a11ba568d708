"""Awards from events on the real broker: standings, rankings, remuneration and awards, by hand.

The example (LDST2026, phase P1):
- targets: HN 4 (enterprise), THO 2 (enterprise);
- HN-KL-C002: A (authors dv-a 60 %, dv-b 40 %, benefit 120,000,000, first applied 2026-03-01),
  B (dv-a alone, benefit 10,000,000); HN-KCN-C001: C (dv-c, no benefit given); HN-TH-C001: D,
  withdrawn later; THO-KKT-C001: E and F (dv-t); HCM-KCX-C001: G (dv-h).
- A is recognised at grassroots (2026-06-15), then at the top level.
Counted: HN 3 initiatives (D withdrawn), 3 participants, 75 % of target; THO 2, 100 %; HCM 1, no target.
"""

from __future__ import annotations

import random
from typing import Any

import requests

from chassis.envelope import dumps
from tests import event_factories as ev
from tests.conftest import token
from tests.integration.conftest import count, publish, wait_for

ADMIN = token("national_admin", "VGCL", "ad-tw")
MEMBER_A = token("member", "HN-KL-C002", "dv-a")


def send(amqp_uri: str, events: list[dict[str, Any]]) -> None:
    for e in events:
        publish(
            amqp_uri,
            "submission.events" if e["source"] == "/vgcl/submission" else "review.events",
            ev.routing_key(e),
            dumps(e),
        )


def example() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    a = ev.submitted(
        "HN-KL-C002",
        title="Cải tiến đồ gá hàn",
        benefit_vnd_per_year=120_000_000,
        authors=[{"member_id": "dv-a", "share_percent": 60.0}, {"member_id": "dv-b", "share_percent": 40.0}],
    )
    b = ev.submitted(
        "HN-KL-C002", benefit_vnd_per_year=10_000_000, authors=[{"member_id": "dv-a", "share_percent": 100.0}]
    )
    c = ev.submitted("HN-KCN-C001", benefit_vnd_per_year=None, authors=[{"member_id": "dv-c", "share_percent": 100.0}])
    d = ev.submitted("HN-TH-C001", authors=[{"member_id": "dv-d", "share_percent": 100.0}])
    e = ev.submitted("THO-KKT-C001", authors=[{"member_id": "dv-t", "share_percent": 100.0}])
    f = ev.submitted("THO-KKT-C001", authors=[{"member_id": "dv-t", "share_percent": 100.0}])
    g = ev.submitted("HCM-KCX-C001", authors=[{"member_id": "dv-h", "share_percent": 100.0}])
    registry = [
        ev.unit_registered(code)
        for code in (
            "VGCL",
            "HN",
            "HUE",
            "HPG",
            "THO",
            "HCM",
            "CTVN",
            "HN-KL",
            "HN-KL-C002",
            "HN-KCN",
            "HN-KCN-C001",
            "HN-TH",
            "HN-TH-C001",
        )
    ]
    targets = [ev.target_registered("HN", 4), ev.target_registered("THO", 2)]
    flow = [a, b, c, d, e, f, g, ev.withdrawn(d), ev.recognized(a), ev.recognized(a, "top", "2026-09-01T02:00:00Z")]
    return registry + targets + flow, {"a": a, "b": b, "c": c, "d": d}


def get(url: str, who: dict[str, str] = ADMIN, **params: Any) -> dict[str, Any]:
    answer = requests.get(url, params=params, headers=who, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def settled(awards_db_url: str, n: int) -> None:
    wait_for(lambda: count(awards_db_url, "inbox") == n, timeout=30)


def test_the_hand_computed_example(awards_api, awards_db_url, rabbit_config, tap) -> None:  # type: ignore[no-untyped-def]
    published = tap(["#"], exchange="awards.events")
    events, named = example()
    send(rabbit_config["AMQP_URI"], events)
    settled(awards_db_url, len(events))

    national = get(f"{awards_api}/api/v1/rankings", programme="LDST2026")
    top = {i["unit"]: i for i in national["items"]}
    assert [(i["unit"], i["rank"], i["value"]) for i in national["items"][:3]] == [
        ("HN", 1, 3.0),
        ("THO", 2, 2.0),
        ("HCM", 3, 1.0),
    ]
    assert top["HN"]["progress"] == 75.0 and top["THO"]["progress"] == 100.0 and top["HCM"]["progress"] is None
    assert top["HN"]["participants"] == 3 and top["HN"]["recognized"] == 1
    assert top["CTVN"]["rank"] == 4 and top["HUE"]["rank"] == 4  # nothing yet: tied last

    by_progress = get(f"{awards_api}/api/v1/rankings", programme="LDST2026", metric="progress")["items"]
    assert [(i["unit"], i["rank"]) for i in by_progress[:2]] == [("THO", 1), ("HN", 2)]
    cluster = get(f"{awards_api}/api/v1/rankings", programme="LDST2026", scope="cluster", cluster="C1")["items"]
    assert [(i["unit"], i["rank"]) for i in cluster] == [("HN", 1), ("HCM", 2), ("HPG", 3), ("HUE", 3)]
    under_hn = get(f"{awards_api}/api/v1/rankings", programme="LDST2026", scope="top", top="HN", level="upper")
    assert [(i["unit"], i["value"]) for i in under_hn["items"]] == [("HN-KL", 2.0), ("HN-KCN", 1.0), ("HN-TH", 0.0)]

    standing = get(f"{awards_api}/api/v1/standings/HN", programme="LDST2026")
    assert (standing["submitted"], standing["recognized"], standing["target"]) == (3, 1, 4)
    assert standing["benefit_vnd"] == 130_000_000 and standing["recognized_benefit_vnd"] == 120_000_000
    assert standing["ranks"] == {"national": 1, "cluster": 1}
    national_total = get(f"{awards_api}/api/v1/standings/VGCL", programme="LDST2026")
    assert (national_total["submitted"], national_total["participants"]) == (6, 5)

    # The decree's remuneration for A: 7 % of 120,000,000 a year for 3 years; organisers 10 %.
    ledger = get(f"{awards_api}/api/v1/ledger", kind="remuneration")
    installments = sorted(ledger["items"], key=lambda x: x["details"]["installment"])
    assert [(i["amount_vnd"], i["due_on"]) for i in installments] == [
        (8_400_000, "2027-03-28"),
        (8_400_000, "2028-03-29"),
        (8_400_000, "2029-03-28"),
    ]
    payees = installments[0]["details"]["payees"]
    assert [(p["member_id"], p["role"], p["amount_vnd"]) for p in payees] == [
        ("dv-a", "author", 4_536_000),
        ("dv-b", "author", 3_024_000),
        (None, "organizer", 840_000),
    ]
    # C has no benefit to calculate: 5 times the minimum wage (4,960,000), once, when recognised: not yet.
    assert ledger["total"] == 3

    # The company scheme under HN-KCN: 20,000 VND for C, whatever its effect.
    bonus = get(f"{awards_api}/api/v1/ledger", kind="bonus")["items"]
    assert [(b["recipient_member"], b["amount_vnd"], b["initiative_id"]) for b in bonus] == [
        ("dv-c", 20_000, named["c"]["data"]["initiative_id"])
    ]

    # The year's rules: HN's 10 best collectives, a 2 % benefit reward (A), split 60/40.
    run = requests.post(
        f"{awards_api}/api/v1/award-runs", json={"programme": "LDST2026", "period": "2026"}, headers=ADMIN, timeout=10
    )
    assert run.status_code == 201, run.text
    granted = run.json()["granted"]
    collectives = sorted(
        (g["recipient_unit"], g["certificate_number"] is not None) for g in granted if g["rule_id"] == "top-collectives"
    )
    assert collectives == [("HCM-KCX-C001", True), ("HN-KCN-C001", True), ("HN-KL-C002", True), ("THO-KKT-C001", True)]
    rewards = sorted((g["recipient_member"], g["amount_vnd"]) for g in granted if g["rule_id"] == "benefit-reward")
    assert rewards == [("dv-a", 1_440_000), ("dv-b", 960_000)]
    again = requests.post(
        f"{awards_api}/api/v1/award-runs", json={"programme": "LDST2026", "period": "2026"}, headers=ADMIN, timeout=10
    )
    assert again.status_code == 200 and again.json()["granted"] == []

    # A member sees their own entries; anyone can check a certificate.
    mine = get(f"{awards_api}/api/v1/ledger", MEMBER_A)["items"]
    assert {m["recipient_member"] for m in mine} == {"dv-a"}
    code = next(g["verification_code"] for g in granted if g["rule_id"] == "top-collectives")
    check = requests.get(f"{awards_api}/api/v1/certificates/{code}", timeout=5)
    assert check.status_code == 200 and check.json()["valid"] and check.json()["recipient_type"] == "collective"

    kinds = [body["type"] for _, body in published.drain(3 + 1 + len(granted))]
    assert kinds.count("remuneration.scheduled") == 3 and kinds.count("award.granted") == 1 + len(granted)


def test_duplicates_and_any_order_give_the_same_numbers(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    events, _ = example()
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    send(rabbit_config["AMQP_URI"], shuffled + shuffled[:7])  # seven delivered twice
    settled(awards_db_url, len(events))
    national = {i["unit"]: i for i in get(f"{awards_api}/api/v1/rankings", programme="LDST2026")["items"]}
    assert (national["HN"]["submitted"], national["HN"]["recognized"], national["HN"]["participants"]) == (3, 1, 3)
    assert (national["THO"]["submitted"], national["HCM"]["submitted"]) == (2, 1)
    assert national["HN"]["progress"] == 75.0
    assert count(awards_db_url, "ledger", "WHERE kind = 'remuneration'") == 3


# Rows whose numbers are all zero say nothing: one order of events creates them (+1 then -1), another not.
READ_MODELS = {
    "cells": "SELECT unit, programme, phase, block, target_group, submitted, recognized, benefit_vnd, "
    "recognized_benefit_vnd FROM cells WHERE submitted <> 0 OR recognized <> 0 OR benefit_vnd <> 0",
    "totals": "SELECT unit, programme, phase, level, top, submitted, recognized, participants, benefit_vnd, target "
    "FROM totals WHERE submitted <> 0 OR recognized <> 0 OR participants <> 0 OR benefit_vnd <> 0 OR target <> 0",
    "participants": "SELECT unit, programme, phase, member_id, initiatives FROM participants WHERE initiatives <> 0",
    "hourly": "SELECT unit, programme, hour, submitted, recognized FROM hourly WHERE submitted <> 0 OR recognized <> 0",
    "facts": "SELECT initiative_id, revision, unit_path, submitted_at, withdrawn_at, recognized_at, recognized_level "
    "FROM facts",
    "ledger": "SELECT grant_key, kind, amount_vnd, due_on, recipient_unit, recipient_member FROM ledger",
}


def snapshot(db_url: str) -> dict[str, list[tuple]]:
    from sqlalchemy import create_engine, text

    from chassis.db import normalize_url

    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        tables = {t: sorted(map(tuple, conn.execute(text(query)))) for t, query in READ_MODELS.items()}
    engine.dispose()
    return tables


def test_replaying_every_event_rebuilds_the_same_read_models(  # type: ignore[no-untyped-def]
    awards_api, awards_db_url, rabbit_config, container_factory, make_config
) -> None:
    from awards.service import AwardsService
    from tests.conftest import AWARDS_TABLES, create_database, drop_database, migrate, truncate

    events, _ = example()
    send(rabbit_config["AMQP_URI"], events)
    settled(awards_db_url, len(events))
    live = snapshot(awards_db_url)
    assert all(live[t] for t in ("cells", "totals", "participants", "hourly", "facts", "ledger"))

    name = f"sangkien_awards_replay_{__import__('os').getpid()}"
    replay_url = create_database(name)
    try:
        migrate(replay_url, "awards")
        truncate(replay_url, AWARDS_TABLES)
        config = make_config(replay_url, "awards", UNITS="*", INSTANCE_NAME="awards-replay")
        container_factory(AwardsService, config).start()
        replayed = events[:]
        random.Random(11).shuffle(replayed)
        send(rabbit_config["AMQP_URI"], replayed)
        settled(replay_url, len(events))
        assert snapshot(replay_url) == live
        assert count(awards_db_url, "inbox") == len(events)  # the live one skipped every replayed event
    finally:
        drop_database(name)
