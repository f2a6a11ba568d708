"""The portal, the one front door: its public address, its keys, the routes from it to the services
and from the services to its JWKS, as the rendered overlays configure them and its code expects."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import gen_review_units as gen
import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, config_env, of_kind, pod_specs, selects, service_of
from tests.deploy.services import service_class

Doc = dict[str, Any]


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request, rendered) -> list[Doc]:
    return rendered[request.param]


def _container(workload: Doc) -> Doc:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _portal(docs: list[Doc]) -> tuple[Doc, dict[str, str]]:
    deployment = by_name(docs, "Deployment")["portal"]
    return deployment, config_env(docs, deployment)


def _route(method_name: str) -> str:
    """The URL of one of the portal's HTTP entrypoints, as its code declares it."""
    method = getattr(service_class("portal"), method_name)
    (url,) = {ext.url for ext in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())}
    return url


def _service_for(docs: list[Doc], url: str) -> Doc:
    """The Service an in-cluster http URL names (by short or fully qualified name), its port checked."""
    parts = urlsplit(url)
    namespace = docs[0]["metadata"].get("namespace") or next(iter(by_name(docs, "Namespace")))
    host = parts.hostname or ""
    name = host.removesuffix(f".{namespace}.svc.cluster.local")
    assert "." not in name, f"{url}: not a Service of namespace {namespace}"
    service = by_name(docs, "Service")[name]
    assert parts.scheme == "http"
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == (parts.port or 80)]
    assert port["targetPort"] == "http", url
    return service


def _pods_of(docs: list[Doc], service: Doc) -> list[str]:
    """The Deployments whose pods a Service selects."""
    return [
        d["metadata"]["name"]
        for d in of_kind(docs, "Deployment")
        if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
    ]


def test_the_public_address_is_the_ingress_host_with_tls(docs) -> None:
    _, env = _portal(docs)
    public = urlsplit(env["PORTAL_PUBLIC_URL"])
    # The provider redirects to PORTAL_PUBLIC_URL/auth/callback and the tokens' `iss` is this URL.
    assert public.scheme == "https" and public.path in ("", "/") and public.port is None
    ingresses = of_kind(docs, "Ingress")
    assert {i["metadata"]["name"] for i in ingresses} == {"portal", "portal-exports"}
    for ingress in ingresses:
        spec = ingress["spec"]
        assert spec["ingressClassName"]
        assert [r["host"] for r in spec["rules"]] == [public.hostname], ingress["metadata"]["name"]
        assert spec["tls"] == [{"hosts": [public.hostname], "secretName": "portal-tls"}]
        for rule in spec["rules"]:
            for path in rule["http"]["paths"]:
                # Only the portal is published: every other Service stays inside the cluster.
                backend = path["backend"]["service"]
                assert backend == {"name": "portal", "port": {"name": "http"}}
    assert {s["spec"].get("type", "ClusterIP") for s in of_kind(docs, "Service")} == {"ClusterIP"}
    assert urlsplit(env["OIDC_ISSUER"]).scheme == "https"


def test_the_ingresses_let_bulk_imports_and_exports_through(docs) -> None:
    """The 200 MB bulk upload fits the body limit; the open-data export has its own long, unbuffered route."""
    ingresses = by_name(docs, "Ingress")
    _, env = _portal(docs)
    main = ingresses["portal"]["metadata"]["annotations"]
    size = re.fullmatch(r"(\d+)m", main["nginx.ingress.kubernetes.io/proxy-body-size"])
    assert size and int(size.group(1)) * 1024 * 1024 > 200 * 1024 * 1024
    assert int(main["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > int(env["UPSTREAM_TIMEOUT_SECONDS"])
    exports = ingresses["portal-exports"]
    (path,) = [p for r in exports["spec"]["rules"] for p in r["http"]["paths"]]
    awards = service_class("awards")
    (export_url,) = {ext.url for ext in getattr(awards.open_data, ENTRYPOINT_EXTENSIONS_ATTR)}
    assert path["pathType"] == "Prefix" and export_url.startswith(path["path"])
    notes = exports["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 1800


def test_every_service_verifies_tokens_against_the_portals_jwks(docs) -> None:
    """JWT_JWKS_URL: the portal's Service by its fully qualified name in the overlay's namespace, on
    the path the portal serves its JWKS at."""
    (namespace,) = by_name(docs, "Namespace")
    jwks_path = _route("jwks")
    for deployment in of_kind(docs, "Deployment"):
        if service_of(deployment) == "portal":
            continue
        env = config_env(docs, deployment)
        name = deployment["metadata"]["name"]
        url = env.get("JWT_JWKS_URL", "")
        assert urlsplit(url).hostname == f"portal.{namespace}.svc.cluster.local", name
        assert urlsplit(url).path == jwks_path, name
        assert _pods_of(docs, _service_for(docs, url)) == ["portal"], name
        # Nothing else decides which keys are trusted.
        assert not env.get("JWT_PUBLIC_KEY"), name
        secrets = [s["secretRef"]["name"] for s in _container(deployment).get("envFrom", []) if "secretRef" in s]
        assert secrets in ([], ["platform-jwt"]), name


def test_no_workload_runs_in_development_mode(docs) -> None:
    """PLATFORM_MODE=development would accept HS256 tokens signed with a public default secret."""
    for workload, pod in pod_specs(docs):
        assert config_env(docs, workload).get("PLATFORM_MODE", "production") == "production"
        for container in pod["containers"]:
            assert [e for e in container.get("env", []) if e["name"] == "PLATFORM_MODE"] == []


def test_the_gateway_reaches_each_service_it_routes_to(docs) -> None:
    """UPSTREAM_* name the Services of exactly the services the portal's routing table knows."""
    service_class("portal")
    from portal.routes import SERVICES

    _, env = _portal(docs)
    for name in SERVICES:
        if name == "review":
            continue
        service = _service_for(docs, env[f"UPSTREAM_{name.upper()}"])
        assert _pods_of(docs, service) == [name], name
    upstreams = {k.removeprefix("UPSTREAM_").lower() for k in env if k.startswith("UPSTREAM_")}
    assert upstreams == {*SERVICES, "timeout_seconds"}


def test_review_calls_go_to_the_deployment_of_the_callers_unit(docs) -> None:
    """UPSTREAM_REVIEW: each dedicated unit's review-<unit>, `*` the catch-all, as deployed."""
    service_class("portal")
    from portal.upstreams import parse_review_deployments

    _, env = _portal(docs)
    routes = parse_review_deployments(env["UPSTREAM_REVIEW"])
    expected = {}
    for deployment in of_kind(docs, "Deployment"):
        if service_of(deployment) != "review":
            continue
        review_env = config_env(docs, deployment)
        expected[review_env.get("UNIT") or "*"] = deployment["metadata"]["name"]
    assert "*" in expected and len(expected) > 1
    assert {unit: _pods_of(docs, _service_for(docs, url)) for unit, url in routes.items()} == {
        unit: [name] for unit, name in expected.items()
    }


def test_the_review_routes_are_generated_and_fresh() -> None:
    plan = gen.load_plan()
    assert gen.PORTAL_UPSTREAMS_FILE.read_text(encoding="utf-8") == gen.portal_upstreams(plan), (
        "run: .venv/bin/python deploy/k8s/tools/gen_review_units.py"
    )
    assert gen.main(["--check"]) == 0


def test_the_signing_key_is_a_read_only_file_from_its_secret(docs) -> None:
    deployment, env = _portal(docs)
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    key_file = env["PORTAL_SIGNING_KEY_FILE"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if key_file.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mount.get("readOnly") is True and "subPath" not in mount
    secret = volumes[mount["name"]]["secret"]
    assert secret["secretName"] == "portal-signing-key"
    assert secret["items"] == [{"key": "signing-key.pem", "path": key_file.removeprefix(mount["mountPath"] + "/")}]
    assert secret["defaultMode"] & 0o007 == 0, "the key must not be world-readable"
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
    # Only the server holds the key: not the migration Job, no other workload.
    for workload, other in pod_specs(docs):
        if workload is not deployment:
            assert "portal-signing-key" not in {v.get("secret", {}).get("secretName") for v in other["volumes"]}


def test_the_portal_credentials_come_key_by_key_and_its_database_is_encrypted(docs) -> None:
    deployment, _ = _portal(docs)
    container = _container(deployment)
    env = {e["name"]: e for e in container["env"]}
    from_secret = {
        name: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for name, e in env.items()
        if "valueFrom" in e
    }
    assert from_secret == {
        "PORTAL_DB_USER": ("portal-db", "username"),
        "PORTAL_DB_PASSWORD": ("portal-db", "password"),
        "OIDC_CLIENT_SECRET": ("portal-oidc", "OIDC_CLIENT_SECRET"),
    }
    # No broker, no platform-jwt: the portal signs tokens, it does not verify the services' keys.
    assert [s for s in container["envFrom"] if "secretRef" in s] == []
    for workload in (deployment, by_name(docs, "Job")["portal-migrate"]):
        url = {e["name"]: e for e in _container(workload)["env"]}["PORTAL_DATABASE_URL"]["value"]
        assert url.endswith("?sslmode=require")
    cluster = by_name(docs, "Cluster")["portal-db"]["spec"]
    assert cluster["enableSuperuserAccess"] is False
    assert "hostnossl all all all reject" in cluster["postgresql"]["pg_hba"]


def test_the_portal_pooler_holds_every_replica_the_hpa_may_start(rendered) -> None:
    docs = rendered["prod"]
    (hpa,) = [h for h in of_kind(docs, "HorizontalPodAutoscaler") if h["metadata"]["name"] == "portal"]
    _, env = _portal(docs)
    pooler = by_name(docs, "Pooler")["portal-db-pooler"]["spec"]
    params = pooler["pgbouncer"]["parameters"]
    # Each pod's pool opens up to MAX_WORKERS + MAX_WORKERS overflow connections.
    assert int(params["max_client_conn"]) >= hpa["spec"]["maxReplicas"] * 2 * int(env["MAX_WORKERS"])
    max_connections = int(by_name(docs, "Cluster")["portal-db"]["spec"]["postgresql"]["parameters"]["max_connections"])
    assert pooler["instances"] * int(params["default_pool_size"]) < max_connections


def test_prometheus_scrapes_the_portal_like_every_service(docs) -> None:
    (monitor,) = [m for m in of_kind(docs, "PodMonitor") if m["metadata"]["name"] == "sangkien-services"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    for deployment in of_kind(docs, "Deployment"):
        assert selects(selector, deployment["spec"]["template"]["metadata"]["labels"]), deployment["metadata"]["name"]
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["http"]
    assert _route("prometheus_metrics") == "/metrics"
