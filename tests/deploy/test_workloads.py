"""The service pods: restricted security, probes, resources, graceful stop, secrets only referenced."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, of_kind, pod_specs, service_of
from tests.deploy.services import TARGETS, built

# nameko lets running workers finish on SIGTERM; the slowest entrypoint (bulk import of 50,000
# rows) takes ~40 s on the reference machine.
SLOWEST_HANDLER_SECONDS = 60
CREDENTIAL_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
# Environment variables that carry credentials: only ever from a secret.
CREDENTIAL_VAR = re.compile(r"(PASSWORD|SECRET|TOKEN|_USER|AMQP_URI)$")
# Keys that never belong in a ConfigMap.
CREDENTIAL_KEY = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|_PEM)$")
# The uid of the image (Dockerfile: USER 10001:10001).
IMAGE_UID = 10001


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_restricted(rendered, overlay: str) -> None:
    for workload, pod in pod_specs(rendered[overlay]):
        where = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID, where
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
        # The preStop drain runs first, inside the grace period; then running workers finish.
        drain = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pod["terminationGracePeriodSeconds"] > drain + SLOWEST_HANDLER_SECONDS, deployment["metadata"]["name"]
        assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_its_own_class_from_its_own_image(rendered, overlay: str) -> None:
    deployments = of_kind(rendered[overlay], "Deployment")
    assert {service_of(d) for d in deployments} == {s for s in TARGETS if built(s)}
    for deployment in deployments:
        service = service_of(deployment)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        # python -m chassis.run <service> <module:Class> (the image's ENTRYPOINT takes the args).
        assert container["args"] == [service, TARGETS[service]], deployment["metadata"]["name"]
        assert re.search(rf"(^|/)sangkien/{service}(:|@|$)", container["image"]), container["image"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_awards_pods_let_open_data_downloads_finish(rendered, overlay: str) -> None:
    """The export streams after its worker has returned: only the preStop drain protects a download."""
    (container,) = by_name(rendered[overlay], "Deployment")["awards"]["spec"]["template"]["spec"]["containers"]
    assert int(container["lifecycle"]["preStop"]["exec"]["command"][-1]) >= 120


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(rendered, overlay: str) -> None:
    docs = rendered[overlay]
    assert of_kind(docs, "Secret") == []
    for cm in of_kind(docs, "ConfigMap"):
        for key, value in cm.get("data", {}).items():
            assert not CREDENTIAL_IN_URL.search(value), f"{cm['metadata']['name']}: {key} holds credentials"
            # A credential's name ends so (PORTAL_TOKEN_SECONDS is a lifetime, not a token).
            assert not CREDENTIAL_KEY.search(key), f"{cm['metadata']['name']}: {key}"
    for workload, pod in pod_specs(docs):
        for container in pod["containers"]:
            where = workload["metadata"]["name"]
            env = container.get("env", [])
            from_secrets = {e["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
            for var in env:
                if CREDENTIAL_VAR.search(var["name"]):
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
    services = [s for s in TARGETS if built(s)]
    assert {"submission", "review", "awards", "notify"} <= set(services)
    for service in services:
        job = jobs[f"{service}-migrate"]
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["alembic", "-c", f"services/{service}/alembic.ini", "upgrade", "head"]
        assert {e["name"] for e in container["env"]} >= {f"{service.upper()}_DATABASE_URL"}
        # The same database as the service's pods: the same ConfigMaps and database URL.
        (deployment,) = [d for d in of_kind(rendered[overlay], "Deployment") if d["metadata"]["name"] == service]
        (server,) = deployment["spec"]["template"]["spec"]["containers"]
        url = f"{service.upper()}_DATABASE_URL"
        assert [e for e in container["env"] if e["name"] == url] == [e for e in server["env"] if e["name"] == url]
        assert [s for s in container["envFrom"] if "configMapRef" in s] == [
            s for s in server["envFrom"] if "configMapRef" in s
        ]
        # Migrations need the database, nothing else: no JWT keys, no provider credentials.
        assert not [s for s in container["envFrom"] if "secretRef" in s], service
        assert {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e} == {
            f"{service}-db"
        }
    for deployment in of_kind(rendered[overlay], "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert "alembic" not in container.get("command", []) + container.get("args", [])


def test_prod_images_are_pinned_releases(rendered) -> None:
    for _, pod in pod_specs(rendered["prod"]):
        for container in pod["containers"]:
            image = container["image"]
            assert re.search(r"(:[\w.-]+|@sha256:[0-9a-f]{64})$", image), image
            assert not image.endswith(":latest"), image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notify_keeps_personal_data_behind_tight_credentials(rendered, overlay: str) -> None:
    """Its database connection is encrypted and every credential is mapped key by key."""
    docs = rendered[overlay]
    for workload in (by_name(docs, "Deployment")["notify"], by_name(docs, "Job")["notify-migrate"]):
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["NOTIFY_DATABASE_URL"]["value"].endswith("?sslmode=require")
        assert [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s] in ([], ["platform-jwt"])
    (container,) = by_name(docs, "Deployment")["notify"]["spec"]["template"]["spec"]["containers"]
    from_secret = {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container["env"]
        if "valueFrom" in e
    }
    for name in ("SMTP_USER", "SMTP_PASSWORD", "ZALO_ACCESS_TOKEN", "SMS_API_TOKEN", "SERVICE_CLIENT_SECRET"):
        assert from_secret[name] == ("notify-credentials", name)
    assert {secret for secret, _ in from_secret.values()} == {"notify-db", "notify-amqp", "notify-credentials"}
    cluster = by_name(docs, "Cluster")["notify-db"]["spec"]
    assert cluster["enableSuperuserAccess"] is False
    assert "hostnossl all all all reject" in cluster["postgresql"]["pg_hba"]
