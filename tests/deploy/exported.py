"""The metrics the platform's code registers with prometheus_client, as Prometheus will see them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY

import chassis.metrics  # noqa: F401 - registers the chassis metrics
from tests.deploy.services import TARGETS, built, service_class

SUFFIXES = {
    "counter": ["_total"],
    "histogram": ["_bucket", "_sum", "_count"],
    "gauge": [""],
    "summary": ["_sum", "_count"],
}


@dataclass(frozen=True)
class Series:
    name: str  # the sample name a query uses (with _total, _bucket, ...)
    kind: str
    labels: frozenset[str]


def exported() -> dict[str, Series]:
    """Every sample name of the chassis and of each service built so far (importing it registers them)."""
    for service in TARGETS:
        if built(service):
            service_class(service)
    series: dict[str, Series] = {}
    # prometheus_client keeps its collectors privately; their name, type and label names are stable.
    for collector in set(REGISTRY._names_to_collectors.values()):
        kind = getattr(collector, "_type", None)
        if kind not in SUFFIXES:
            continue
        labels = frozenset(collector._labelnames) | ({"le"} if kind == "histogram" else frozenset())
        for suffix in SUFFIXES[kind]:
            name = collector._name + suffix
            series[name] = Series(name, kind, labels)
    return series
