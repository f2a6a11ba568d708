"""Alert rules (promtool check + unit tests), their runbooks, dashboards and the metric names they use."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gen_dashboards
import pytest
import yaml
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.timer import Timer

from tests.deploy.conftest import K8S, ROOT
from tests.deploy.exported import exported
from tests.deploy.manifests import by_name, of_kind
from tests.deploy.promql import label_names, metric_names
from tests.deploy.services import built, service_class

MONITORING = K8S / "components" / "monitoring"
SOURCES = yaml.safe_load((Path(__file__).parent / "metric_sources.yaml").read_text(encoding="utf-8"))
# The alerts issue 6 asks for.
REQUIRED_ALERTS = {
    "DeadLetterQueueNotEmpty",
    "ReviewQueueGrowing",
    "OutboxPendingTooLong",
    "ServiceErrorRateHigh",
    "ReviewDeadlinesMissed",
    "NotificationChannelFailing",
    "ServiceNotReady",
    # With the awards service: its daily job (remuneration due, rules of ended periods, gauges).
    "AwardsDailyJobStale",
    # With the portal: people cannot log in.
    "PortalLoginFailing",
}
# Gauges every replica computes from the same database: summing them over pods multiplies them.
PER_REPLICA_COPIES = {
    "initiatives_submitted",
    "initiatives_recognized",
    "initiative_participants",
    "target_progress_ratio",
    "initiatives_submitted_by_target_group",
    "notify_pending_deliveries",
}


@pytest.fixture(scope="module")
def groups(rendered) -> list[dict[str, Any]]:
    (rule,) = of_kind(rendered["prod"], "PrometheusRule")
    return rule["spec"]["groups"]


@pytest.fixture(scope="module")
def alerts(groups) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"] if "alert" in r]


def _promtool(tools, *args: str, cwd: Path) -> None:
    run = subprocess.run([tools.promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_rules_pass_promtool_check_and_unit_tests(tools, groups, tmp_path: Path) -> None:
    (tmp_path / "alerts.rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    shutil.copy(MONITORING / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    _promtool(tools, "check", "rules", "alerts.rules.yaml", cwd=tmp_path)
    _promtool(tools, "test", "rules", "alerts.test.yaml", cwd=tmp_path)


def test_every_alert_is_tested(alerts) -> None:
    tests = yaml.safe_load((MONITORING / "alerts.test.yaml").read_text(encoding="utf-8"))["tests"]
    tested = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert {a["alert"] for a in alerts} == tested


def test_every_alert_has_a_runbook_and_the_required_ones_exist(alerts) -> None:
    assert {a["alert"] for a in alerts} >= REQUIRED_ALERTS
    runbooks = set()
    for alert in alerts:
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"]), alert["alert"]
        path = ROOT / alert["annotations"]["runbook_url"]
        assert path.is_file(), f"{alert['alert']}: no runbook at {path}"
        assert f"# {alert['alert']}" in path.read_text(encoding="utf-8"), f"{path} does not cover {alert['alert']}"
        runbooks.add(path)
    assert set((ROOT / "docs" / "runbooks").glob("*.md")) - {ROOT / "docs/runbooks/README.md"} == runbooks


def _dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (MONITORING / "dashboards").glob("*.json")}


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for d in _dashboards().values() for p in d["panels"] for t in p["targets"]]


def _variables() -> list[dict[str, Any]]:
    return [v for d in _dashboards().values() for v in d["templating"]["list"] if v["type"] == "query"]


def _known_metrics() -> dict[str, set[str]]:
    """Metric -> labels: the code's, the external sources', and those still promised by unbuilt services."""
    known = {name: set(s.labels) for name, s in exported().items()}
    known |= {name: set(labels) for name, labels in SOURCES["external"].items()}
    for service, metrics in SOURCES["pending"].items():
        if not built(service):
            known |= {name: set(spec["labels"]) for name, spec in metrics.items()}
    return known


def test_dashboards_are_generated_shipped_and_well_formed(rendered) -> None:
    assert gen_dashboards.main(["--check"]) == 0, "run: .venv/bin/python deploy/k8s/tools/gen_dashboards.py"
    dashboards = _dashboards()
    assert set(dashboards) == set(gen_dashboards.files())
    shipped = by_name(rendered["prod"], "ConfigMap")["grafana-dashboards"]
    assert shipped["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert set(shipped["data"]) == set(dashboards)
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)
    for dashboard in dashboards.values():
        assert dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def test_dashboard_queries_are_valid_promql(tools, tmp_path: Path) -> None:
    # Grafana's range and template variables are not PromQL: give them a value, then let promtool parse.
    exprs = [e.replace("$__range", "1d").replace("$__rate_interval", "5m") for e in _dashboard_exprs()]
    variables = {v["name"] for v in _variables()}
    exprs = [re.sub(r"\$(\w+)", lambda m: "x" if m.group(1) in variables else m.group(0), e) for e in exprs]
    assert not [e for e in exprs if "$" in e], "a variable no dashboard defines"
    rules = [{"record": f"dashboard:query_{i}:check", "expr": e} for i, e in enumerate(exprs)]
    (tmp_path / "dashboards.rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    _promtool(tools, "check", "rules", "dashboards.rules.yaml", cwd=tmp_path)


def test_every_metric_and_label_used_exists(alerts) -> None:
    known = _known_metrics()
    problems = []
    for expr in [a["expr"] for a in alerts] + _dashboard_exprs():
        names = metric_names(expr)
        problems += [f"unknown metric {n} in: {expr}" for n in sorted(names - set(known))]
        allowed = set(SOURCES["target_labels"]).union(*(known.get(n, set()) for n in names))
        problems += [f"unknown label {lbl} in: {expr}" for lbl in sorted(label_names(expr) - allowed)]
    for variable in _variables():
        metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]).groups()
        if label not in known.get(metric, set()):
            problems.append(f"dashboard variable {variable['name']}: no label {label} on {metric}")
    assert problems == []


def test_no_metric_is_pending_for_a_built_service() -> None:
    """A built service's metrics come from its code: its promise in metric_sources.yaml must go."""
    assert [s for s in SOURCES["pending"] if built(s)] == []


def test_the_new_services_metrics_come_from_their_code() -> None:
    series = exported()
    promised = {"notify_deliveries_total", "notify_pending_deliveries"} | PER_REPLICA_COPIES
    assert not promised & set(SOURCES["external"])
    assert not promised & {m for metrics in SOURCES["pending"].values() for m in metrics}
    assert series["notify_deliveries_total"].kind == "counter"
    assert series["notify_deliveries_total"].labels == {"channel", "outcome"}
    assert series["notify_pending_deliveries"].labels == {"channel"}
    for name in ("initiatives_submitted", "initiatives_recognized", "initiative_participants", "target_progress_ratio"):
        assert (series[name].kind, series[name].labels) == ("gauge", {"unit", "programme"}), name
    assert series["initiatives_submitted_by_target_group"].labels == {"programme", "target_group"}


def _notify_outcomes() -> set[str]:
    """What notify.dispatch.settle records for a sent, a retried, a refused and a vanished delivery."""
    service_class("notify")  # services/notify on the path
    from notify import dispatch
    from notify.channels import Refused, Retry

    def settle(error: Exception | None, row: Any) -> str:
        session = SimpleNamespace(get=lambda *args, **kwargs: row)
        return dispatch.settle(session, "d", error, datetime.now(UTC), 8, 2.0, 3600.0)

    def pending() -> SimpleNamespace:
        return SimpleNamespace(status="pending", attempts=0, last_error=None, sent_at=None, next_attempt_at=None)

    return {
        settle(None, pending()),
        settle(Retry("provider down"), pending()),
        settle(Refused("invalid address"), pending()),
        settle(None, None),
    }


def test_notification_outcomes_are_the_ones_notify_records(alerts) -> None:
    """outcome="failed" is a retry and "parked" a give-up: the channel alert counts both as failures."""
    outcomes = _notify_outcomes()
    assert outcomes == {"sent", "failed", "parked", "gone"}
    exprs = [a["expr"] for a in alerts] + _dashboard_exprs()
    used = {
        value
        for expr in exprs
        if "notify_deliveries_total" in expr
        for match in re.findall(r'outcome=~?"([^"]+)"', expr)
        for value in match.split("|")
    }
    assert used and used <= outcomes
    (rule,) = [a for a in alerts if a["alert"] == "NotificationChannelFailing"]
    numerator = rule["expr"].split("/")[0]
    assert re.search(r'outcome=~"failed\|parked"', numerator), numerator


def test_the_awards_daily_alert_watches_a_real_timer(alerts) -> None:
    """The chassis counts every entrypoint, timers included, by method name."""
    (rule,) = [a for a in alerts if a["alert"] == "AwardsDailyJobStale"]
    (name,) = re.findall(r'entrypoint="(\w+)"', rule["expr"])
    method = getattr(service_class("awards"), name)
    assert any(isinstance(e, Timer) for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()))


def test_the_portal_login_alert_watches_its_login_entrypoints(alerts) -> None:
    """`login` and `callback` are the portal's HTTP entrypoints of a login; the chassis counts each by
    method name with the response's status."""
    (rule,) = [a for a in alerts if a["alert"] == "PortalLoginFailing"]
    names = set(re.findall(r'entrypoint=~"([\w|]+)"', rule["expr"]))
    assert names == {"login|callback"}
    cls = service_class("portal")
    for name in ("login", "callback"):
        urls = {getattr(e, "url", None) for e in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ())}
        assert urls - {None}, name
    assert 'service="portal"' in rule["expr"]


def test_gauges_copied_in_every_replica_are_never_summed_over_pods() -> None:
    offenders = [
        expr
        for expr in _dashboard_exprs()
        for metric in PER_REPLICA_COPIES
        if re.search(rf"\b(sum|count)\s*(by\s*\([^)]*\)\s*)?\(\s*{metric}\b", expr)
    ]
    assert offenders == []


def test_the_metric_check_notices_a_wrong_name() -> None:
    known = set(exported()) | set(SOURCES["external"])
    assert "entrypoint_calls_total" in known and "review_open_items" in known
    assert metric_names("sum(rate(entrypoint_call_total[5m]))") - known == {"entrypoint_call_total"}


def test_the_portal_runbook_covers_its_operations() -> None:
    """What an operator of a new installation needs: the keys, the first admin, machine clients."""
    # Commands split over lines with a backslash read as one.
    raw = (ROOT / "docs" / "runbooks" / "portal.md").read_text(encoding="utf-8")
    text = " ".join(raw.replace("\\\n", " ").split())
    for needle in (
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
        "python -m portal.cli grant --person <subject> --role national_admin --unit VGCL",
        "python -m portal.cli client",
        "PORTAL_TOKEN_SECONDS",
        "portal-signing-key",
        "portal-oidc",
        "# PortalLoginFailing",
    ):
        assert needle in text, needle
