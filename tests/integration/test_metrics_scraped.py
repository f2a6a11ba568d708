"""Every metric an alert or a dashboard uses is in what the running services actually export.

The four services run for real (broker, databases); their /metrics are scraped and parsed.
Metrics of other exporters (Prometheus' `up`, kube-state-metrics, RabbitMQ's plugin) come
from tests/deploy/metric_sources.yaml.
"""

from __future__ import annotations

import json

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from awards.service import AwardsService
from chassis.config import REPO_ROOT
from notify.service import NotifyService
from review.service import ReviewService
from submission.service import SubmissionService
from tests.deploy.promql import metric_names

MONITORING = REPO_ROOT / "deploy/k8s/components/monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def scraped(base: str) -> set[str]:
    """Sample names as queries use them; a labelled metric not used yet still announces its family."""
    names: set[str] = set()
    for family in text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=10).text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def used() -> dict[str, set[str]]:
    """Metric names per alert and dashboard query."""
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8"))
    exprs = {f"alert {r['alert']}": r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    for path in (MONITORING / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for i, target in enumerate(panel["targets"]):
                exprs[f"{path.name}: {panel['title']} #{i}"] = target["expr"]
    return {where: metric_names(expr) for where, expr in exprs.items()}


def test_alerts_and_dashboards_use_only_metrics_the_services_export(  # type: ignore[no-untyped-def]
    container_factory, make_config, db_url, review_db_url, awards_db_url, notify_db_url
) -> None:
    services = [
        (SubmissionService, "submission", db_url),
        (ReviewService, "review", review_db_url),
        (AwardsService, "awards", awards_db_url),
        (NotifyService, "notify", notify_db_url),
    ]
    exported: set[str] = set()
    for cls, name, url in services:
        config = make_config(url, name, UNITS="*")
        container_factory(cls, config).start()
        base = f"http://{config['WEB_SERVER_ADDRESS']}"
        requests.get(f"{base}/readyz", timeout=10)  # a first request: entrypoint metrics get a sample
        exported |= scraped(base)
    sources = yaml.safe_load((REPO_ROOT / "tests/deploy/metric_sources.yaml").read_text(encoding="utf-8"))
    known = exported | set(sources["external"])
    missing = {where: sorted(names - known) for where, names in used().items() if names - known}
    assert missing == {}
    assert len(used()) > 20  # the rules and dashboards were found and read
