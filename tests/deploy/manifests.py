"""Small queries over rendered manifests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


def pod_specs(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, pod template spec) of every Deployment and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def config_env(docs: list[Doc], workload: Doc) -> dict[str, str]:
    """The variables a workload's (only) container gets from its ConfigMaps."""
    maps = by_name(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in workload["spec"]["template"]["spec"]["containers"][0].get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
    return env


def service_of(workload: Doc) -> str:
    """The service a Deployment or Job belongs to (review for review-hn)."""
    return workload["metadata"]["labels"]["app.kubernetes.io/name"]
