"""Writes the Grafana dashboards (JSON) of components/monitoring/dashboards/ from the specs below.

    python deploy/k8s/tools/gen_dashboards.py           # write
    python deploy/k8s/tools/gen_dashboards.py --check   # exit 1 when a file is out of date

One dashboard per concern. Queries use only metrics the services export (chassis and service
metrics), RabbitMQ's prometheus plugin and kube-state-metrics; tests/deploy checks every name,
label and template variable. Gauges that every replica computes from the same database (awards'
business gauges, notify's pending deliveries) are combined with `max by`, never summed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parents[1] / "components" / "monitoring" / "dashboards"
REVIEW = r'service=~"review(-[a-z0-9]+)?"'
REVIEW_QUEUES = r'queue=~"review(-[a-z0-9]+)?\\.initiative\\..+"'
SERVICES = r'deployment=~"(submission|review|awards|notify|portal)(-[a-z0-9]+)?"'
SUBMITTED = 'service="submission", entrypoint="submit_initiative", status="201"'
# The portal's gateway: one entrypoint per HTTP method (proxy_get, proxy_post, ...).
GATEWAY = 'service="portal", entrypoint=~"proxy_.+"'
LOGINS = 'service="portal", entrypoint=~"login|callback"'
# Deliveries that ended either way: `gone` (settled elsewhere) is neither a success nor a failure.
ATTEMPTS = 'outcome=~"sent|failed|parked"'
FAILURES = 'outcome=~"failed|parked"'
# The awards gauges of one programme. Every awards replica exports the same figures (read from
# the database by its daily job): `max by`, never `sum by`, over replicas.
PROGRAMME = 'programme="$programme"'


@dataclass(frozen=True)
class Panel:
    title: str
    queries: list[tuple[str, str]]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""


@dataclass(frozen=True)
class Variable:
    """A Grafana query variable: the values of one label of one metric."""

    name: str
    label: str
    metric: str
    metric_label: str

    @property
    def query(self) -> str:
        return f"label_values({self.metric}, {self.metric_label})"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: list[Panel] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)


def _quantiles(selector: str, by: str = "") -> list[tuple[str, str]]:
    group = f"le, {by}" if by else "le"
    legend = f"p{{q}} {{{{{by}}}}}" if by else "p{q}"
    return [
        (
            f"histogram_quantile(0.{q}, sum by ({group}) (rate(entrypoint_duration_seconds_bucket{{{selector}}}[5m])))",
            legend.format(q=q),
        )
        for q in ("50", "95", "99")
    ]


DASHBOARDS = [
    Dashboard(
        "sangkien-intake",
        "Sáng kiến: intake",
        "Initiatives arriving at the submission service, by top-level unit.",
        [
            Panel(
                "Submissions per second by unit",
                [(f"sum by (unit) (rate(entrypoint_calls_total{{{SUBMITTED}}}[5m]))", "{{unit}}")],
                "reqps",
            ),
            Panel(
                "Bulk imports per minute by unit",
                [
                    (
                        'sum by (unit) (rate(entrypoint_calls_total{service="submission", '
                        'entrypoint="bulk_import", status="200"}[5m])) * 60',
                        "{{unit}}",
                    )
                ],
            ),
            Panel(
                "Submit latency",
                _quantiles('service="submission", entrypoint="submit_initiative"'),
                "s",
            ),
            Panel(
                "Rejected submissions by status",
                [
                    (
                        'sum by (status) (rate(entrypoint_calls_total{service="submission", '
                        'entrypoint="submit_initiative", status=~"4.."}[5m]))',
                        "{{status}}",
                    )
                ],
                "reqps",
            ),
            Panel(
                "Submissions in the last 24 hours by unit",
                [(f"sort_desc(sum by (unit) (increase(entrypoint_calls_total{{{SUBMITTED}}}[1d])))", "{{unit}}")],
                kind="bargauge",
            ),
            Panel(
                "Submission replicas ready",
                [('kube_deployment_status_replicas_available{deployment="submission"}', "ready")],
            ),
        ],
    ),
    Dashboard(
        "sangkien-review",
        "Sáng kiến: review backlog and latency per unit",
        "Each top-level unit with a deployment of its own (review-<unit>) and the catch-all (review).",
        [
            Panel(
                "Events waiting per review deployment",
                [(f"sum by (queue) (rabbitmq_detailed_queue_messages_ready{{{REVIEW_QUEUES}}})", "{{queue}}")],
            ),
            Panel(
                "Consumers per queue",
                [(f"sum by (queue) (rabbitmq_detailed_queue_consumers{{{REVIEW_QUEUES}}})", "{{queue}}")],
            ),
            Panel(
                "Open review items by unit and deadline state",
                [("sum by (unit, deadline_state) (review_open_items)", "{{unit}} {{deadline_state}}")],
            ),
            Panel(
                "Deadlines missed in the last 24 hours",
                [("sum by (unit, level) (increase(review_deadlines_missed_total[1d]))", "{{unit}} {{level}}")],
                kind="bargauge",
            ),
            Panel("Handling latency by unit", _quantiles(REVIEW, by="unit"), "s"),
            Panel(
                "Events handled by unit and outcome",
                [
                    (
                        f"sum by (unit, outcome) (rate(events_consumed_total{{{REVIEW}}}[5m]))",
                        "{{unit}} {{outcome}}",
                    )
                ],
                "ops",
            ),
            Panel(
                "Replicas per review deployment",
                [
                    (
                        'kube_deployment_status_replicas_available{deployment=~"review(-[a-z0-9]+)?"}',
                        "{{deployment}}",
                    )
                ],
            ),
        ],
    ),
    Dashboard(
        "sangkien-messaging",
        "Sáng kiến: outbox and queue depths",
        "From a committed change to a consumer: outbox rows, relay publishing, queue depths, dead letters.",
        [
            Panel("Outbox rows pending", [("max by (service) (outbox_pending_events)", "{{service}}")]),
            Panel(
                "Oldest pending outbox row",
                [("max by (service) (outbox_oldest_pending_age_seconds)", "{{service}}")],
                "s",
            ),
            Panel(
                "Events published per second",
                [
                    (
                        "sum by (service, event_type) (rate(outbox_published_events_total[5m]))",
                        "{{service}} {{event_type}}",
                    )
                ],
                "ops",
            ),
            Panel(
                "Relay failures and unroutable events",
                [
                    ("sum by (service) (rate(outbox_publish_failures_total[5m]))", "failed batches {{service}}"),
                    ("sum by (routing_key) (rate(outbox_unroutable_events_total[5m]))", "unroutable {{routing_key}}"),
                ],
                "ops",
            ),
            Panel(
                "Queue depth (ready + unacknowledged)",
                [('sum by (queue) (rabbitmq_detailed_queue_messages{queue!~".+\\\\.dlq"})', "{{queue}}")],
            ),
            Panel(
                "Dead letters by queue",
                [('max by (queue) (rabbitmq_detailed_queue_messages{queue=~".+\\\\.dlq"})', "{{queue}}")],
            ),
        ],
    ),
    Dashboard(
        "sangkien-notifications",
        "Sáng kiến: notifications by channel",
        "Deliveries of the notify service per outside channel (email, zalo, sms, webhook) and outcome: "
        "sent, failed (retried later), parked (given up, waiting for an operator's replay), gone (settled elsewhere).",
        [
            Panel(
                "Delivery attempts per second by channel and outcome",
                [("sum by (channel, outcome) (rate(notify_deliveries_total[5m]))", "{{channel}} {{outcome}}")],
                "ops",
            ),
            Panel(
                "Failure ratio by channel (failed + parked)",
                [
                    (
                        f"sum by (channel) (rate(notify_deliveries_total{{{FAILURES}}}[15m]))"
                        f" / sum by (channel) (rate(notify_deliveries_total{{{ATTEMPTS}}}[15m]))",
                        "{{channel}}",
                    )
                ],
                "percentunit",
                description="What NotificationChannelFailing fires on (above 20% for 15 minutes).",
            ),
            Panel(
                "Waiting to go out by channel",
                # Every replica's sweep counts the whole table: the same figure in each.
                [("max by (channel) (notify_pending_deliveries)", "{{channel}}")],
            ),
            Panel(
                "Parked in the time range by channel",
                [
                    (
                        'sort_desc(sum by (channel) (increase(notify_deliveries_total{outcome="parked"}[$__range])))',
                        "{{channel}}",
                    )
                ],
                kind="bargauge",
                description="Never retried by themselves: GET /api/v1/deliveries?status=parked, then replay.",
            ),
            Panel(
                "Deliveries in the last 24 hours",
                [("sum by (channel, outcome) (increase(notify_deliveries_total[1d]))", "{{channel}} {{outcome}}")],
                kind="bargauge",
            ),
            Panel(
                "Events turned into notifications, by type and outcome",
                [
                    (
                        'sum by (event_type, outcome) (rate(events_consumed_total{service="notify"}[5m]))',
                        "{{event_type}} {{outcome}}",
                    )
                ],
                "ops",
            ),
            Panel(
                "Waiting in notify's queues",
                [
                    (
                        'sum by (queue) (rabbitmq_detailed_queue_messages_ready{queue=~"notify\\\\..+", '
                        'queue!~".+\\\\.dlq"})',
                        "{{queue}}",
                    )
                ],
            ),
            Panel(
                "Notify replicas ready",
                [('kube_deployment_status_replicas_available{deployment="notify"}', "ready")],
            ),
        ],
    ),
    Dashboard(
        "sangkien-errors",
        "Sáng kiến: errors",
        "Failing calls and handlers per service instance, and services without ready replicas.",
        [
            Panel(
                "Error ratio by service",
                [
                    (
                        'sum by (service) (rate(entrypoint_calls_total{status=~"5..|error"}[5m]))'
                        " / sum by (service) (rate(entrypoint_calls_total[5m]))",
                        "{{service}}",
                    )
                ],
                "percentunit",
            ),
            Panel(
                "Server errors by entrypoint",
                [
                    (
                        'sum by (service, entrypoint, status) (rate(entrypoint_calls_total{status=~"5..|error"}[5m]))',
                        "{{service}} {{entrypoint}} {{status}}",
                    )
                ],
                "reqps",
            ),
            Panel(
                "Client errors by entrypoint",
                [
                    (
                        'sum by (service, entrypoint, status) (rate(entrypoint_calls_total{status=~"4.."}[5m]))',
                        "{{service}} {{entrypoint}} {{status}}",
                    )
                ],
                "reqps",
            ),
            Panel(
                "Events failed or dead-lettered",
                [
                    (
                        "sum by (service, event_type, outcome) "
                        '(rate(events_consumed_total{outcome=~"failed|dead_lettered"}[5m]))',
                        "{{service}} {{event_type}} {{outcome}}",
                    )
                ],
                "ops",
            ),
            Panel(
                "Scrape targets up",
                [
                    (
                        "sum by (app_kubernetes_io_instance) "
                        '(up{app_kubernetes_io_name=~"submission|review|awards|notify|portal"})',
                        "{{app_kubernetes_io_instance}}",
                    )
                ],
            ),
            Panel(
                "Ready replicas by deployment",
                [(f"kube_deployment_status_replicas_available{{{SERVICES}}}", "{{deployment}}")],
            ),
        ],
    ),
    Dashboard(
        "sangkien-portal",
        "Sáng kiến: portal",
        "The front door: requests by status, the /api/v1 gateway's answers and latency, logins at the "
        "OpenID Connect provider, machine clients' tokens and the JWKS the services read.",
        [
            Panel(
                "Gateway answers by status",
                [(f"sum by (status) (rate(entrypoint_calls_total{{{GATEWAY}}}[5m]))", "{{status}}")],
                "reqps",
                description="`error`: a service did not answer within UPSTREAM_TIMEOUT_SECONDS (503), or no such path.",
            ),
            Panel("Gateway latency", _quantiles(GATEWAY), "s"),
            Panel(
                "Logins by step and status",
                [
                    (
                        f"sum by (entrypoint, status) (rate(entrypoint_calls_total{{{LOGINS}}}[5m]))",
                        "{{entrypoint}} {{status}}",
                    )
                ],
                "reqps",
                description="login: 302 to the provider; callback: 303 logged in, 400 refused (PortalLoginFailing).",
            ),
            Panel(
                "Pages by status",
                [
                    (
                        'sum by (status) (rate(entrypoint_calls_total{service="portal", '
                        'entrypoint!~"proxy_.+|login|callback|jwks|oauth_token|prometheus_metrics|healthz|readyz"}[5m]))',
                        "{{status}}",
                    )
                ],
                "reqps",
            ),
            Panel(
                "Machine clients' tokens and JWKS reads",
                [
                    (
                        'sum by (entrypoint, status) (rate(entrypoint_calls_total{service="portal", '
                        'entrypoint=~"oauth_token|jwks"}[5m]))',
                        "{{entrypoint}} {{status}}",
                    )
                ],
                "reqps",
            ),
            Panel(
                "Ready portal replicas",
                [('kube_deployment_status_replicas_available{deployment="portal"}', "ready")],
            ),
        ],
    ),
    Dashboard(
        "sangkien-business",
        "Sáng kiến: national office",
        "Initiatives submitted and recognised by top-level unit and target group, participants and progress "
        "against the registered targets for the selected programme (the awards service's figures, refreshed "
        "by its daily job), then the flow over the selected time range.",
        [
            Panel(
                "National totals",
                [
                    (f"sum(max by (unit) (initiatives_submitted{{{PROGRAMME}}}))", "submitted"),
                    (f"sum(max by (unit) (initiatives_recognized{{{PROGRAMME}}}))", "recognised"),
                    (f"sum(max by (unit) (initiative_participants{{{PROGRAMME}}}))", "participants"),
                ],
                kind="stat",
                description="Sums of the top-level units; an author active in two units counts twice.",
            ),
            Panel(
                "Progress against target by unit",
                [(f"sort_desc(max by (unit) (target_progress_ratio{{{PROGRAMME}}}))", "{{unit}}")],
                "percentunit",
                kind="bargauge",
                description="Initiatives submitted over the target each unit registered (none without a target).",
            ),
            Panel(
                "Initiatives submitted by unit",
                [(f"sort_desc(max by (unit) (initiatives_submitted{{{PROGRAMME}}}))", "{{unit}}")],
                kind="bargauge",
                description="Since the programme began, not withdrawn.",
            ),
            Panel(
                "Initiatives recognised by unit",
                [(f"sort_desc(max by (unit) (initiatives_recognized{{{PROGRAMME}}}))", "{{unit}}")],
                kind="bargauge",
                description="Recognised at any level.",
            ),
            Panel(
                "Participants by unit",
                [(f"sort_desc(max by (unit) (initiative_participants{{{PROGRAMME}}}))", "{{unit}}")],
                kind="bargauge",
                description="Distinct authors.",
            ),
            Panel(
                "Initiatives submitted by target group",
                [
                    (
                        f"sort_desc(max by (target_group) (initiatives_submitted_by_target_group{{{PROGRAMME}}}))",
                        "{{target_group}}",
                    )
                ],
                kind="bargauge",
            ),
            Panel(
                "Recognition rate by unit",
                [
                    (
                        f"sort_desc(max by (unit) (initiatives_recognized{{{PROGRAMME}}})"
                        f" / max by (unit) (initiatives_submitted{{{PROGRAMME}}}))",
                        "{{unit}}",
                    )
                ],
                "percentunit",
                kind="bargauge",
            ),
            Panel(
                "Submissions received in the time range by unit",
                [(f"sort_desc(sum by (unit) (increase(entrypoint_calls_total{{{SUBMITTED}}}[$__range])))", "{{unit}}")],
                kind="bargauge",
            ),
            Panel(
                "Awards granted and remuneration announced in the time range",
                [
                    (
                        'sum by (event_type) (increase(outbox_published_events_total{service="awards"}[$__range]))',
                        "{{event_type}}",
                    )
                ],
                kind="bargauge",
            ),
            Panel(
                "Events published by type",
                [("sum by (event_type) (increase(outbox_published_events_total[$__range]))", "{{event_type}}")],
                kind="bargauge",
            ),
            Panel(
                "Initiatives in review by unit",
                [("sort_desc(sum by (unit) (review_open_items))", "{{unit}}")],
                kind="bargauge",
            ),
            Panel(
                "Review deadlines missed by unit",
                [("sort_desc(sum by (unit) (increase(review_deadlines_missed_total[$__range])))", "{{unit}}")],
                kind="bargauge",
            ),
        ],
        [Variable("programme", "Programme", "initiatives_submitted", "programme")],
    ),
]


def _panel(panel: Panel, index: int) -> dict[str, Any]:
    width, height = 12, 8
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": height, "w": width, "x": (index % 2) * width, "y": (index // 2) * height},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right"}} if panel.kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(panel.queries)
        ],
    }


def _variable(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": variable.query,
        "definition": variable.query,
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
    }


def render(dashboard: Dashboard) -> str:
    doc = {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["sangkien"],
        "timezone": "browser",
        "schemaVersion": 39,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                *(_variable(v) for v in dashboard.variables),
            ]
        },
        "panels": [_panel(p, i) for i, p in enumerate(dashboard.panels)],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def files() -> dict[str, str]:
    return {f"{d.uid.removeprefix('sangkien-')}.json": render(d) for d in DASHBOARDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    outdated = [n for n, text in files().items() if not (OUT_DIR / n).exists() or (OUT_DIR / n).read_text() != text]
    if args.check:
        for name in outdated:
            print(f"out of date: {OUT_DIR / name}", file=sys.stderr)
        return 1 if outdated else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files())} dashboards to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
