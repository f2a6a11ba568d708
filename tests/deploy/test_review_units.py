"""The per-unit review deployments generated from the unit registry, and the queues declared for them."""

from __future__ import annotations

import re
from pathlib import Path

import gen_review_units as gen
import pytest
import yaml
from kombu import Exchange
from unit_registry import top_unit_codes

from chassis.handler import NATIONAL_UNIT, consumer_queue, dead_letter_queue, parse_units
from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, of_kind
from tests.deploy.services import built, consumed_events, service_class

# The review steps the submission service follows for its initiatives' status and history.
SUBMISSION_FOLLOWS = (
    "review.started",
    "initiative.scored",
    "initiative.returned",
    "initiative.rejected",
    "initiative.recognized",
    "initiative.nominated",
    "review.deadline_missed",
)


@pytest.fixture(scope="module")
def plan() -> gen.Plan:
    return gen.load_plan()


def _env(docs: list[dict], deployment: dict) -> dict[str, str]:
    """The variables a Deployment's container gets from its ConfigMaps."""
    maps = by_name(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]:
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
    return env


def test_generated_files_are_up_to_date(plan: gen.Plan) -> None:
    outdated = gen.stale(gen.render(plan), gen.OUT_DIR)
    assert outdated == [], "run: .venv/bin/python deploy/k8s/tools/gen_review_units.py"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_dedicated_unit_gets_its_deployment_scaler_and_config(rendered, plan: gen.Plan, overlay: str) -> None:
    docs = rendered[overlay]
    deployments, scalers = by_name(docs, "Deployment"), by_name(docs, "ScaledObject")
    services, jobs = by_name(docs, "Service"), by_name(docs, "Job")
    for inst in plan.instances:
        deployment, scaler = deployments[inst.name], scalers[inst.name]
        assert inst.name in services and f"{inst.name}-migrate" in jobs
        assert scaler["spec"]["scaleTargetRef"]["name"] == inst.name
        (trigger,) = [t for t in scaler["spec"]["triggers"] if t["type"] == "rabbitmq"]
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert trigger["metadata"]["queueName"] == f"{inst.name}.initiative.submitted"
        if overlay == "prod":
            assert (scaler["spec"]["minReplicaCount"], scaler["spec"]["maxReplicaCount"]) == (
                inst.min_replicas,
                inst.max_replicas,
            )
        env = _env(docs, deployment)
        assert env["REVIEW_DB_NAME"] == inst.database
        if inst.name == "review":
            assert env["UNITS"] == "*" and "UNIT" not in env
        else:
            assert env["UNIT"] == inst.units[0] and "UNITS" not in env
            assert inst.name == f"review-{inst.units[0].lower()}"


def test_the_catch_all_excludes_every_dedicated_unit(rendered, plan: gen.Plan) -> None:
    docs = rendered["prod"]
    dedicated = [i.units[0] for i in plan.instances if i.name != "review"]
    env = _env(docs, by_name(docs, "Deployment")["review"])
    assert sorted(env["UNITS_EXCLUDE"].split(",")) == sorted(dedicated)
    # The chassis turns that into explicit bindings of every other registered unit...
    expected = parse_units(env["UNITS"], env["UNITS_EXCLUDE"])
    assert set(expected).isdisjoint(dedicated)
    assert set(expected) | set(dedicated) == set(top_unit_codes()) | {NATIONAL_UNIT}
    # ...and the queues declared up front carry exactly those bindings.
    for event in gen.EVENTS:
        keys = {
            b["spec"]["routingKey"] for b in of_kind(docs, "Binding") if b["spec"]["destination"] == f"review.{event}"
        }
        assert keys == {f"{event}.{unit}" for unit in expected}


def test_declared_queues_match_what_the_chassis_declares(rendered, plan: gen.Plan) -> None:
    """Queue arguments cannot change once a queue exists: the operator's and the chassis' must agree."""
    docs = rendered["prod"]
    queues = {q["spec"]["name"]: q["spec"] for q in of_kind(docs, "Queue")}
    bindings = {
        (b["spec"]["source"], b["spec"]["destination"], b["spec"]["routingKey"]) for b in of_kind(docs, "Binding")
    }
    consumers = [(f"{i.name}.{event}", "submission", event, i.units) for i in plan.instances for event in gen.EVENTS]
    consumers += [(f"submission.{event}", "review", event, ["*"]) for event in SUBMISSION_FOLLOWS]
    for name, source, event, units in consumers:
        exchange = Exchange(f"{source}.events", type="topic")
        chassis = consumer_queue(name, exchange, event, units, plan.delivery_limit)
        declared = {**queues[name].get("arguments", {}), "x-queue-type": queues[name]["type"]}
        assert declared == chassis.queue_arguments, name
        assert {(f"{source}.events", name, b.routing_key) for b in chassis.bindings} <= bindings
        dlq = dead_letter_queue(name)
        assert {
            **queues[dlq.name].get("arguments", {}),
            "x-queue-type": queues[dlq.name]["type"],
        } == dlq.queue_arguments
        assert ("platform.dlx", dlq.name, dlq.routing_key) in bindings


def test_the_deployed_settings_match_the_plan(rendered, plan: gen.Plan) -> None:
    config = next(
        c for c in of_kind(rendered["prod"], "ConfigMap") if c["metadata"]["name"].startswith("review-config")
    )
    assert int(config["data"]["MAX_WORKERS"]) == plan.max_workers
    assert int(config["data"]["DELIVERY_LIMIT"]) == plan.delivery_limit


def test_the_review_service_consumes_the_events_the_topology_declares() -> None:
    expected = {("submission", event) for event in gen.EVENTS}
    if built("review"):
        assert consumed_events(service_class("review")) == expected
    assert consumed_events(service_class("submission")) == {("review", event) for event in SUBMISSION_FOLLOWS}


def test_every_dedicated_deployment_gets_its_own_database(rendered, plan: gen.Plan) -> None:
    docs = rendered["prod"]
    names = {d["spec"]["name"] for d in of_kind(docs, "Database")}
    bootstrap = by_name(docs, "Cluster")["review-db"]["spec"]["bootstrap"]["initdb"]["database"]
    assert names | {bootstrap} == {i.database for i in plan.instances}


def test_the_pooler_grows_with_the_review_deployments(plan: gen.Plan) -> None:
    def limits(p: gen.Plan) -> tuple[int, int]:
        pooler, cluster = gen.database_sizing(p)
        return (
            int(pooler["spec"]["pgbouncer"]["parameters"]["max_client_conn"]),
            int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]),
        )

    extra = gen.Instance("review-xx", ["XX"], "review_xx", {}, 1, 8, 50)
    bigger = gen.Plan(
        [*plan.instances, extra], plan.max_workers, plan.delivery_limit, plan.pooler_instances, plan.db_pool_size
    )
    clients, servers = limits(plan)
    more_clients, more_servers = limits(bigger)
    assert more_clients > clients and more_servers > servers
    assert servers == plan.pooler_instances * len(plan.instances) * plan.db_pool_size + 50
    assert clients >= sum(i.max_replicas for i in plan.instances) * 2 * plan.max_workers


def test_the_plan_refuses_units_outside_the_registry(tmp_path: Path) -> None:
    data = yaml.safe_load(gen.PLAN_FILE.read_text(encoding="utf-8"))
    data["units"].append({"code": "NOWHERE", "min_replicas": 1, "max_replicas": 2})
    bad = tmp_path / "units.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match="NOWHERE"):
        gen.load_plan(bad)
    data["units"][-1] = {"code": "HN", "min_replicas": 3, "max_replicas": 2}
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match="HN"):
        gen.load_plan(bad)


def test_the_registry_falls_back_to_the_seed_units(tmp_path: Path) -> None:
    seed = tmp_path / "units.json"
    seed.write_text('{"units": [{"code": "HN", "level": "top"}, {"code": "HN-KL", "level": "upper"}]}')
    assert top_unit_codes(tmp_path / "missing.json", seed) == ["HN"]
    listed = tmp_path / "top-units.json"
    listed.write_text('[{"code": "HN", "name": "x", "kind": "province"}, {"code": "TKV", "name": "y"}]')
    assert top_unit_codes(listed, seed) == ["HN", "TKV"]


def test_every_declared_queue_gets_its_policy(rendered) -> None:
    """One policy applies per queue (the highest priority that matches): consumer queues get
    at-least-once dead-lettering, dead-letter queues their bound."""
    docs = rendered["prod"]
    policies = sorted(of_kind(docs, "Policy"), key=lambda p: -p["spec"]["priority"])

    def applied(queue: str) -> str:
        return next(p["spec"]["name"] for p in policies if re.search(p["spec"]["pattern"], queue))

    for queue in (q["spec"]["name"] for q in of_kind(docs, "Queue")):
        assert applied(queue) == ("dead-letter-queues" if queue.endswith(".dlq") else "consumer-queues"), queue
