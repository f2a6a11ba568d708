"""The service pods: restricted security, probes, resources, graceful stop, secrets only referenced."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, of_kind, pod_specs

# nameko lets running workers finish on SIGTERM; the slowest entrypoint (bulk import of 50,000
# rows) takes ~40 s on the reference machine.
SLOWEST_HANDLER_SECONDS = 60
CREDENTIAL_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_restricted(rendered, overlay: str) -> None:
    for workload, pod in pod_specs(rendered[overlay]):
        where = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        mounts = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in mounts[tmp[0]["name"]], f"{where}: no writable /tmp"
            assert {"requests", "limits"} <= set(container["resources"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servers_have_probes_and_stop_gracefully(rendered, overlay: str) -> None:
    deployments = of_kind(rendered[overlay], "Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["terminationGracePeriodSeconds"] > SLOWEST_HANDLER_SECONDS
        assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(rendered, overlay: str) -> None:
    docs = rendered[overlay]
    assert of_kind(docs, "Secret") == []
    for cm in of_kind(docs, "ConfigMap"):
        for key, value in cm.get("data", {}).items():
            assert not CREDENTIAL_IN_URL.search(value), f"{cm['metadata']['name']}: {key} holds credentials"
            assert not re.search(r"(PASSWORD|SECRET|TOKEN)", key), f"{cm['metadata']['name']}: {key}"
    for workload, pod in pod_specs(docs):
        for container in pod["containers"]:
            where = workload["metadata"]["name"]
            env = container.get("env", [])
            from_secrets = {e["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
            for var in env:
                if re.search(r"(PASSWORD|SECRET|AMQP_URI)$", var["name"]):
                    assert var["name"] in from_secrets, f"{where}: {var}"
                elif var["name"].endswith("DATABASE_URL") and "value" in var:
                    # Composed in the pod from secret-sourced variables: user and password are references.
                    user, password = re.match(r"\w+://\$\((\w+)\):\$\((\w+)\)@", var["value"]).groups()
                    assert {user, password} <= from_secrets, f"{where}: {var}"
                elif var["name"].endswith("DATABASE_URL"):
                    assert var["name"] in from_secrets, f"{where}: {var}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_as_a_job_per_service(rendered, overlay: str) -> None:
    jobs = by_name(rendered[overlay], "Job")
    for service in ("submission", "review"):
        (container,) = jobs[f"{service}-migrate"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["alembic", "-c", f"services/{service}/alembic.ini", "upgrade", "head"]
        assert {e["name"] for e in container["env"]} >= {f"{service.upper()}_DATABASE_URL"}
    for deployment in of_kind(rendered[overlay], "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert "alembic" not in container.get("command", []) + container.get("args", [])


def test_prod_images_are_pinned_releases(rendered) -> None:
    for _, pod in pod_specs(rendered["prod"]):
        for container in pod["containers"]:
            image = container["image"]
            assert re.search(r"(:[\w.-]+|@sha256:[0-9a-f]{64})$", image), image
            assert not image.endswith(":latest"), image
