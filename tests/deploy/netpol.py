"""Enough of Kubernetes NetworkPolicy semantics to ask "may this pod reach that one on this port?".

Policies are additive: a pod that no policy selects for a direction is open in that direction; one
that some policy selects admits only what one of their rules allows. A connection needs both the
source's egress and the destination's ingress. Peers are pods of the overlay's namespace, pods of
other namespaces, or addresses outside the cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]
CLUSTER_CIDR = "10.0.0.0/8"  # where this model places every pod


@dataclass(frozen=True)
class Peer:
    """A pod (labels, namespace, named ports) or, with labels None, an address outside the cluster."""

    ip: str
    labels: dict[str, str] | None = None
    namespace: str = ""
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def pod(labels: dict[str, str], namespace: str, ports: dict[str, int] | None = None, ip: str = "10.1.2.3") -> Peer:
    return Peer(ip, labels, namespace, ports or {})


def outside(ip: str) -> Peer:
    return Peer(ip)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        address = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if peer.labels is None:  # an address outside the cluster matches only ipBlocks
        return False
    if "namespaceSelector" in rule_peer:
        if not matches(rule_peer["namespaceSelector"], peer.namespace_labels):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return "podSelector" not in rule_peer or matches(rule_peer["podSelector"], peer.labels)


def _port_matches(rule: dict[str, Any], port: int, destination: Peer) -> bool:
    if "ports" not in rule:
        return True
    for entry in rule["ports"]:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or destination.ports.get(str(wanted)) == port:
            return True
    return False


def _allows(policies: list[Doc], direction: str, subject: Peer, other: Peer, port: int, destination: Peer) -> bool:
    """Whether `subject` (a pod of the policies' namespace) may send/receive in `direction`."""
    key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", subject.namespace) == subject.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], subject.labels or {})
    ]
    if not selecting:
        return True
    for policy in selecting:
        namespace = policy["metadata"].get("namespace", subject.namespace)
        for rule in policy["spec"].get(key, []):
            if not _port_matches(rule, port, destination):
                continue
            if peers not in rule or any(_peer_matches(p, other, namespace) for p in rule[peers]):
                return True
    return False


def reachable(docs: list[Doc], source: Peer, destination: Peer, port: int) -> bool:
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    egress = source.labels is None or _allows(policies, "Egress", source, destination, port, destination)
    ingress = destination.labels is None or _allows(policies, "Ingress", destination, source, port, destination)
    return egress and ingress
