"""Every overlay builds with plain `kubectl kustomize` and every object would pass the API server."""

from __future__ import annotations

import copy
import re
from collections import Counter
from itertools import takewhile
from pathlib import Path

import pytest
import yaml

from tests.deploy import schemas
from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, of_kind

# The header line naming where a vendored CRD schema was copied from, pinned to a commit.
SOURCE = re.compile(r"^# Source: [\w.-]+/[\w.-]+@[0-9a-f]{40}$")

# What each overlay must contain, whatever else is added later.
EXPECTED_KINDS = {
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "Job",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ScaledObject",
    "TriggerAuthentication",
    "RabbitmqCluster",
    "Exchange",
    "Queue",
    "Binding",
    "Policy",
    "User",
    "Permission",
    "Cluster",
    "Pooler",
    "Database",
    "PodMonitor",
    "PrometheusRule",
    # The portal: the one public address.
    "Ingress",
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_with_the_expected_kinds(rendered, overlay: str) -> None:
    kinds = {d["kind"] for d in rendered[overlay]}
    assert kinds >= EXPECTED_KINDS, EXPECTED_KINDS - kinds
    ids = Counter((d["kind"], d["metadata"]["name"]) for d in rendered[overlay])
    assert [i for i, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_offline(rendered, overlay: str) -> None:
    assert [p for doc in rendered[overlay] for p in schemas.problems(doc)] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lands_in_the_overlay_namespace(rendered, overlay: str) -> None:
    namespace = by_name(rendered[overlay], "Namespace")
    assert len(namespace) == 1
    (name,) = namespace
    assert {d["metadata"].get("namespace") for d in rendered[overlay] if d["kind"] != "Namespace"} == {name}


def test_validators_reject_what_the_api_server_would(rendered) -> None:
    """The checks above can fail: a misspelt field or a wrong type is reported, for both kinds."""
    docs = rendered["prod"]
    deployment = copy.deepcopy(of_kind(docs, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    scaled = copy.deepcopy(of_kind(docs, "ScaledObject")[0])
    scaled["spec"]["maxReplicas"] = 3
    queue = copy.deepcopy(of_kind(docs, "Queue")[0])
    queue["spec"]["durable"] = "yes"
    cluster = copy.deepcopy(of_kind(docs, "Cluster")[0])
    cluster["spec"]["instances"] = 0
    unknown = yaml.safe_load("{apiVersion: example.com/v1, kind: Thing, metadata: {name: x}}")
    for doc in (deployment, scaled, queue, cluster, unknown):
        assert schemas.problems(doc), doc["kind"]


@pytest.mark.parametrize("path", sorted(schemas.CRD_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_vendored_crd_schemas_name_their_pinned_source(path: Path) -> None:
    """Each vendored schema's header names the repository and commit it was copied from."""
    header = list(takewhile(lambda line: line.startswith("#"), path.read_text(encoding="utf-8").splitlines()))
    assert any(SOURCE.match(line) for line in header), f"{path.name}: no '# Source: owner/repo@<commit>' line"


def test_prod_is_the_production_shape(rendered) -> None:
    docs = rendered["prod"]
    assert by_name(docs, "RabbitmqCluster")["rabbitmq"]["spec"]["replicas"] == 3
    clusters = by_name(docs, "Cluster")
    assert {"submission-db", "review-db", "awards-db", "notify-db", "portal-db"} <= set(clusters)
    assert {c["spec"]["instances"] for c in clusters.values()} == {3}
    assert {p["spec"]["instances"] for p in of_kind(docs, "Pooler")} == {2}
    deployments = by_name(docs, "Deployment")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(docs, "ScaledObject")}
    # The HTTP services KEDA does not scale have an HPA, which owns their replica count.
    assert set(hpas) == {"submission", "awards", "portal"}
    assert set(hpas) <= set(deployments) and not set(hpas) & scaled
    for name in hpas:
        assert "replicas" not in deployments[name]["spec"], name
        assert hpas[name]["spec"]["minReplicas"] >= 2
    # Notify sends at NOTIFY_RATES per replica: a fixed count, several for availability, no surge.
    notify = deployments["notify"]["spec"]
    assert notify["replicas"] >= 2 and notify["strategy"]["rollingUpdate"]["maxSurge"] == 0
    # Every other Deployment is a review deployment under KEDA.
    assert set(deployments) - set(hpas) - {"notify"} == scaled


def test_dev_is_one_replica_and_small(rendered) -> None:
    docs = rendered["dev"]
    assert by_name(docs, "RabbitmqCluster")["rabbitmq"]["spec"]["replicas"] == 1
    assert {c["spec"]["instances"] for c in of_kind(docs, "Cluster")} == {1}
    assert {p["spec"]["instances"] for p in of_kind(docs, "Pooler")} == {1}
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(docs, "ScaledObject")}
    fixed = {n: d["spec"].get("replicas") for n, d in by_name(docs, "Deployment").items() if n not in scaled}
    assert fixed == {"submission": 1, "awards": 1, "notify": 1, "portal": 1}
    assert {(s["spec"]["minReplicaCount"], s["spec"]["maxReplicaCount"]) for s in of_kind(docs, "ScaledObject")} == {
        (1, 1)
    }
    assert of_kind(docs, "HorizontalPodAutoscaler") == []
