"""References between objects resolve, also after an overlay renames everything (prefix and suffix)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.conftest import K8S, OVERLAYS
from tests.deploy.manifests import by_name, config_env, of_kind, pod_specs, selects

RENAMED = Path(__file__).parent / "fixtures" / "renamed"
TOPOLOGY_KINDS = ("Exchange", "Queue", "Binding", "Policy", "User", "Permission")


@pytest.fixture(scope="module", params=[*OVERLAYS, "renamed"])
def docs(request, rendered, kustomize) -> list[dict[str, Any]]:
    return kustomize(RENAMED) if request.param == "renamed" else rendered[request.param]


def dangling(docs: list[dict[str, Any]]) -> Iterator[str]:
    """Every reference by name that points at nothing in the build."""
    names = {kind: set(by_name(docs, kind)) for kind in {d["kind"] for d in docs}}

    def check(kind: str, name: str, where: str) -> Iterator[str]:
        if name not in names.get(kind, set()):
            yield f"{where} -> {kind}/{name}"

    for so in of_kind(docs, "ScaledObject"):
        where = f"ScaledObject/{so['metadata']['name']}"
        yield from check("Deployment", so["spec"]["scaleTargetRef"]["name"], where)
        for trigger in so["spec"]["triggers"]:
            if "authenticationRef" in trigger:
                yield from check("TriggerAuthentication", trigger["authenticationRef"]["name"], where)
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        yield from check("Deployment", hpa["spec"]["scaleTargetRef"]["name"], f"HPA/{hpa['metadata']['name']}")
    for kind in ("Pooler", "Database"):
        for doc in of_kind(docs, kind):
            yield from check("Cluster", doc["spec"]["cluster"]["name"], f"{kind}/{doc['metadata']['name']}")
    for kind in TOPOLOGY_KINDS:
        for doc in of_kind(docs, kind):
            where = f"{kind}/{doc['metadata']['name']}"
            yield from check("RabbitmqCluster", doc["spec"]["rabbitmqClusterReference"]["name"], where)
            if kind == "Permission":
                yield from check("User", doc["spec"]["userReference"]["name"], where)
    for workload, pod in pod_specs(docs):
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        yield from check("ServiceAccount", pod["serviceAccountName"], where)
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    yield from check("ConfigMap", source["configMapRef"]["name"], where)


def test_every_reference_resolves(docs) -> None:
    assert list(dangling(docs)) == []


def test_selectors_pick_the_right_pods(docs) -> None:
    deployments = of_kind(docs, "Deployment")
    for d in deployments:
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert selects(d["spec"]["selector"]["matchLabels"], labels)
        for spread in d["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
            assert selects(spread["labelSelector"]["matchLabels"], labels)
        # No two Deployments may claim the same pods.
        others = [o for o in deployments if o is not d]
        assert not any(
            selects(d["spec"]["selector"]["matchLabels"], o["spec"]["template"]["metadata"]["labels"]) for o in others
        )
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in deployments]
    for service in of_kind(docs, "Service"):
        assert sum(selects(service["spec"]["selector"], p) for p in pods) == 1, service["metadata"]["name"]
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        assert sum(selects(pdb["spec"]["selector"]["matchLabels"], p) for p in pods) == 1, pdb["metadata"]["name"]


def test_a_renaming_overlay_renames_the_scale_targets_with_their_deployments(kustomize) -> None:
    docs = kustomize(RENAMED)
    scalers = by_name(docs, "ScaledObject")
    assert scalers, "the renamed build has no ScaledObject"
    for name, scaler in scalers.items():
        assert name.startswith("blue-") and name.endswith("-v2")
        assert scaler["spec"]["scaleTargetRef"]["name"] == name
    assert by_name(docs, "Pooler")["blue-review-db-pooler-v2"]["spec"]["cluster"]["name"] == "blue-review-db-v2"
    assert {q["spec"]["rabbitmqClusterReference"]["name"] for q in of_kind(docs, "Queue")} == {"blue-rabbitmq-v2"}
    # What RabbitMQ and PostgreSQL call things does not change with the Kubernetes names.
    assert "review-hn.initiative.submitted" in {q["spec"]["name"] for q in of_kind(docs, "Queue")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_hosts_are_the_poolers(rendered, overlay: str) -> None:
    """Host names are strings kustomize cannot follow: an overlay that renames must patch them."""
    docs = rendered[overlay]
    poolers = set(by_name(docs, "Pooler"))
    hosts = {v for c in of_kind(docs, "ConfigMap") for k, v in c.get("data", {}).items() if k.endswith("_DB_HOST")}
    assert hosts and hosts <= poolers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notify_calls_the_awards_service(rendered, overlay: str) -> None:
    """AWARDS_API_URL names a Service by string (kustomize cannot follow it either)."""
    docs = rendered[overlay]
    url = urlsplit(config_env(docs, by_name(docs, "Deployment")["notify"])["AWARDS_API_URL"])
    service = by_name(docs, "Service")[url.hostname]
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == (url.port or 80)]
    assert port["targetPort"] == "http" and url.scheme == "http"
    assert service["spec"]["selector"]["app.kubernetes.io/name"] == "awards"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_referenced_is_documented(rendered, overlay: str) -> None:
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    secrets = set()
    for _, pod in pod_specs(rendered[overlay]):
        for container in pod["containers"]:
            secrets |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
            secrets |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e}
        secrets |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for ta in of_kind(rendered[overlay], "TriggerAuthentication"):
        secrets |= {ref["name"] for ref in ta["spec"]["secretTargetRef"]}
    for ingress in of_kind(rendered[overlay], "Ingress"):
        secrets |= {tls["secretName"] for tls in ingress["spec"].get("tls", [])}
    assert secrets
    assert [s for s in sorted(secrets) if f"`{s}`" not in readme] == []
