"""One review deployment per top-level unit beside a catch-all: each gets only its units' events."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import requests

from chassis.envelope import dumps
from review.service import ReviewService
from tests.conftest import REVIEW_TABLES, create_database, drop_database, migrate, token, truncate
from tests.integration.conftest import count, publish, wait_for
from tests.integration.test_review_events import submitted_event

# Grassroots units of other top-level units, as their events would carry them.
OTHERS = {"HCM": ["VGCL", "HCM", "HCM-C001"], "DNG": ["VGCL", "DNG", "DNG-C001"], "TKV": ["VGCL", "TKV", "TKV-C001"]}


@pytest.fixture(scope="module")
def hn_pg_url() -> Iterator[str]:
    name = f"sangkien_review_hn_test_{os.getpid()}"
    url = create_database(name)
    migrate(url, "review")
    yield url
    drop_database(name)


@pytest.fixture
def deployments(container_factory, make_config, review_db_url, hn_pg_url):  # type: ignore[no-untyped-def]
    truncate(hn_pg_url, REVIEW_TABLES)
    hn = make_config(hn_pg_url, "review", UNITS="HN", INSTANCE_NAME="review-hn")
    rest = make_config(review_db_url, "review", UNITS="*", UNITS_EXCLUDE="HN")
    for config in (hn, rest):
        container_factory(ReviewService, config).start()
    return {
        "hn": (f"http://{hn['WEB_SERVER_ADDRESS']}", hn_pg_url),
        "rest": (f"http://{rest['WEB_SERVER_ADDRESS']}", review_db_url),
    }


def event_for(top: str, path: list[str]) -> dict:
    event = submitted_event(str(uuid.uuid4()))
    event["unit"] = top
    event["data"].update(unit=path[-1], unit_path=path, top_unit=top)
    return event


def test_the_hn_deployment_and_the_catch_all_split_the_traffic(deployments, rabbit_config, rabbit_manager) -> None:  # type: ignore[no-untyped-def]
    amqp_uri = rabbit_config["AMQP_URI"]
    sent = {"HN": [submitted_event(str(uuid.uuid4())) for _ in range(5)]}
    for top, path in OTHERS.items():
        sent[top] = [event_for(top, path) for _ in range(3)]
    for top, events in sent.items():
        for event in events:
            publish(amqp_uri, "submission.events", f"initiative.submitted.{top}", dumps(event))

    hn_api, hn_db = deployments["hn"]
    rest_api, rest_db = deployments["rest"]
    wait_for(lambda: count(hn_db, "cases") == 5 and count(rest_db, "cases") == 9)
    # Later events prove nothing else is still on its way to the wrong deployment.
    marker_hn, marker_dn = submitted_event(str(uuid.uuid4())), event_for("DNG", OTHERS["DNG"])
    publish(amqp_uri, "submission.events", "initiative.submitted.HN", dumps(marker_hn))
    publish(amqp_uri, "submission.events", "initiative.submitted.DNG", dumps(marker_dn))
    wait_for(lambda: count(hn_db, "cases") == 6 and count(rest_db, "cases") == 10)
    assert count(hn_db, "cases", "WHERE top_unit <> 'HN'") == 0
    assert count(rest_db, "cases", "WHERE top_unit = 'HN'") == 0

    # Each deployment answers for its own units only.
    hn_reviewer = token("reviewer", "HN-KL-C001", "rv-cs")
    hn_id = sent["HN"][0]["data"]["initiative_id"]
    assert requests.get(f"{hn_api}/api/v1/reviews/{hn_id}", headers=hn_reviewer, timeout=5).ok
    assert requests.get(f"{rest_api}/api/v1/reviews/{hn_id}", headers=hn_reviewer, timeout=5).status_code == 404

    # Queues: review-hn's bind only HN keys; the catch-all's bind every other unit, never HN.
    bindings = {
        queue: {
            b["routing_key"]
            for b in rabbit_manager.get_queue_bindings(rabbit_config["vhost"], queue)
            if b["source"] == "submission.events"
        }
        for queue in ("review-hn.initiative.submitted", "review.initiative.submitted")
    }
    assert bindings["review-hn.initiative.submitted"] == {"initiative.submitted.HN"}
    catch_all = bindings["review.initiative.submitted"]
    assert "initiative.submitted.HN" not in catch_all and "initiative.submitted.DNG" in catch_all
    assert len(catch_all) == 49  # every registered top-level unit but HN, and the nation's own (.VGCL)
    assert "initiative.submitted.VGCL" in catch_all

    # Metrics carry the deployment's name and the unit.
    metrics = requests.get(f"{hn_api}/metrics", timeout=5).text
    assert 'service="review-hn"' in metrics and 'unit="HN"' in metrics
