"""Who reaches whom under the rendered NetworkPolicies: each service its own database, notify (personal
data) its providers and the awards API, nobody else the mail server or notify's PostgreSQL; the portal
the four services and its provider, every service the portal's JWKS, nobody else the portal's data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.manifests import by_name, config_env, of_kind, service_of
from tests.deploy.netpol import Peer, outside, pod, reachable

Doc = dict[str, Any]
PUBLIC = "203.0.113.25"  # an address on the internet (TEST-NET-3)
PRIVATE = "192.168.10.25"  # an address in a private network outside the cluster


def _namespace(docs: list[Doc]) -> str:
    (name,) = by_name(docs, "Namespace")
    return name


def _pods(docs: list[Doc]) -> dict[str, Peer]:
    """A pod of every Deployment and Job, by workload name."""
    ns = _namespace(docs)
    return {
        w["metadata"]["name"]: pod(w["spec"]["template"]["metadata"]["labels"], ns, {"http": 8000})
        for w in docs
        if w["kind"] in ("Deployment", "Job")
    }


def _workloads(docs: list[Doc]) -> list[Doc]:
    return [w for w in docs if w["kind"] in ("Deployment", "Job")]


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request, rendered) -> list[Doc]:
    return rendered[request.param]


def test_notify_reaches_the_mail_server_https_and_the_awards_api(docs) -> None:
    ns, pods = _namespace(docs), _pods(docs)
    notify = pods["notify"]
    smtp_port = int(config_env(docs, by_name(docs, "Deployment")["notify"])["SMTP_PORT"])
    assert reachable(docs, notify, outside(PUBLIC), smtp_port)
    # Zalo OA, the SMS gateway and subscribers' webhooks: HTTPS on the internet.
    assert reachable(docs, notify, outside(PUBLIC), 443)
    assert reachable(docs, notify, pods["awards"], 8000)
    assert reachable(docs, notify, pod({"app.kubernetes.io/component": "rabbitmq"}, ns), 5672)
    assert reachable(docs, notify, pod({"k8s-app": "kube-dns"}, "kube-system"), 53)
    # Nothing else: no plain-text SMTP relay or http webhook, no private network, no other service.
    for port in (25, 80, 465, 8080):
        assert not reachable(docs, notify, outside(PUBLIC), port), port
    assert not reachable(docs, notify, outside(PRIVATE), smtp_port)
    assert not reachable(docs, notify, outside(PRIVATE), 443)
    for name in ("submission", "review"):
        assert not reachable(docs, notify, pods[name], 8000), name


def test_only_notify_reaches_the_mail_server_and_the_awards_api(docs) -> None:
    """Besides notify, only the portal (its gateway) calls the awards API."""
    pods = _pods(docs)
    smtp_port = int(config_env(docs, by_name(docs, "Deployment")["notify"])["SMTP_PORT"])
    others = [w["metadata"]["name"] for w in _workloads(docs) if not w["metadata"]["name"].startswith("notify")]
    assert others
    for name in others:
        assert not reachable(docs, pods[name], outside(PUBLIC), smtp_port), name
        assert not reachable(docs, pods[name], pods["awards"], 8000) or name in ("awards", "portal"), name
    assert not reachable(docs, pods["notify-migrate"], outside(PUBLIC), smtp_port)
    # HTTPS outside (the portal's provider, notify's): every server still reaches it.
    assert all(reachable(docs, pods[d["metadata"]["name"]], outside(PUBLIC), 443) for d in of_kind(docs, "Deployment"))


def test_each_database_pooler_admits_only_its_own_service(docs) -> None:
    ns, pods = _namespace(docs), _pods(docs)
    poolers = of_kind(docs, "Pooler")
    assert {p["metadata"]["name"] for p in poolers} >= {"awards-db-pooler", "notify-db-pooler"}
    operator = pod({"app.kubernetes.io/name": "cloudnative-pg"}, "cnpg-system")
    stranger = pod({"run": "debug"}, ns)
    for pooler in poolers:
        owner = pooler["spec"]["cluster"]["name"].removesuffix("-db")
        target = pod({"cnpg.io/poolerName": pooler["metadata"]["name"]}, ns, {"pgbouncer": 5432})
        for workload in _workloads(docs):
            name = workload["metadata"]["name"]
            expected = service_of(workload) == owner
            assert reachable(docs, pods[name], target, 5432) == expected, (name, pooler["metadata"]["name"])
        assert reachable(docs, operator, target, 5432)
        assert not reachable(docs, stranger, target, 5432), pooler["metadata"]["name"]


def test_notify_postgresql_admits_only_its_pooler_its_instances_and_the_operator(docs) -> None:
    ns, pods = _namespace(docs), _pods(docs)
    instance = pod({"cnpg.io/cluster": "notify-db", "cnpg.io/podRole": "instance"}, ns)
    assert reachable(docs, pod({"cnpg.io/poolerName": "notify-db-pooler"}, ns), instance, 5432)
    assert reachable(docs, pod({"cnpg.io/cluster": "notify-db", "cnpg.io/podRole": "instance"}, ns), instance, 5432)
    assert reachable(docs, pod({"app.kubernetes.io/name": "cloudnative-pg"}, "cnpg-system"), instance, 8000)
    assert reachable(docs, pod({"app.kubernetes.io/name": "prometheus"}, "monitoring"), instance, 9187)
    # Not the pods themselves (through the pooler only), not another service's pooler, nobody else.
    assert not reachable(docs, pods["notify"], instance, 5432)
    assert not reachable(docs, pod({"cnpg.io/poolerName": "awards-db-pooler"}, ns), instance, 5432)
    assert not reachable(docs, pod({"run": "debug"}, ns), instance, 5432)
    assert not reachable(docs, pod({"run": "debug"}, "other"), instance, 5432)


def test_the_portal_reaches_every_service_its_provider_and_nothing_else(docs) -> None:
    ns, pods = _namespace(docs), _pods(docs)
    portal = pods["portal"]
    servers = [d["metadata"]["name"] for d in of_kind(docs, "Deployment") if d["metadata"]["name"] != "portal"]
    assert {"submission", "review", "review-hn", "awards", "notify"} <= set(servers)
    for name in servers:  # the gateway and the pages: every review deployment included
        assert reachable(docs, portal, pods[name], 8000), name
    # The OpenID Connect provider (discovery, token endpoint, its JWKS): HTTPS outside the cluster.
    assert reachable(docs, portal, outside(PUBLIC), 443)
    assert reachable(docs, portal, pod({"k8s-app": "kube-dns"}, "kube-system"), 53)
    # Not the services' databases, not the mail server, not plain http outside, not a private network.
    for pooler in ("submission-db-pooler", "review-db-pooler", "awards-db-pooler", "notify-db-pooler"):
        assert not reachable(docs, portal, pod({"cnpg.io/poolerName": pooler}, ns, {"pgbouncer": 5432}), 5432)
    for port in (25, 80, 587, 8080):
        assert not reachable(docs, portal, outside(PUBLIC), port), port
    assert not reachable(docs, portal, outside(PRIVATE), 443)
    assert not reachable(docs, portal, pod({"run": "debug"}, ns), 8000)
    # Its migration Job reaches its database, not the services.
    assert not reachable(docs, pods["portal-migrate"], pods["submission"], 8000)


def test_every_service_reaches_the_portals_jwks_and_the_ingress_reaches_the_portal(docs) -> None:
    pods = _pods(docs)
    portal = pods["portal"]
    for deployment in of_kind(docs, "Deployment"):
        assert reachable(docs, pods[deployment["metadata"]["name"]], portal, 8000), deployment["metadata"]["name"]
    controller = pod({"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
    assert reachable(docs, controller, portal, 8000)
    # Migration Jobs verify no token.
    for job in of_kind(docs, "Job"):
        assert not reachable(docs, pods[job["metadata"]["name"]], portal, 8000), job["metadata"]["name"]


def test_portal_postgresql_admits_only_its_pooler_its_instances_and_the_operator(docs) -> None:
    ns, pods = _namespace(docs), _pods(docs)
    instance = pod({"cnpg.io/cluster": "portal-db", "cnpg.io/podRole": "instance"}, ns)
    assert reachable(docs, pod({"cnpg.io/poolerName": "portal-db-pooler"}, ns), instance, 5432)
    assert reachable(docs, instance, instance, 5432)
    assert reachable(docs, pod({"app.kubernetes.io/name": "cloudnative-pg"}, "cnpg-system"), instance, 8000)
    assert reachable(docs, pod({"app.kubernetes.io/name": "prometheus"}, "monitoring"), instance, 9187)
    assert not reachable(docs, pods["portal"], instance, 5432)
    assert not reachable(docs, pod({"cnpg.io/poolerName": "notify-db-pooler"}, ns), instance, 5432)
    assert not reachable(docs, pod({"run": "debug"}, ns), instance, 5432)
