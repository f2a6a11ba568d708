"""The OpenAPI 3.1 document of the awards API, built from its marshmallow schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from awards import export, params, queries, report_render, schemas
from awards.ranking import METRICS
from chassis.openapi import document as build_document
from chassis.openapi import errors, json_body, path, query

SCHEMAS = (  # nested schemas after what they nest
    "RankingItemOut",
    "RankingOut",
    "BreakdownOut",
    "StandingOut",
    "DayOut",
    "HistoryOut",
    "TargetOut",
    "LedgerEntryOut",
    "LedgerPage",
    "AwardRunIn",
    "AwardRunOut",
    "CertificateCheckOut",
    "ReportUnitOut",
    "ReportPeriodOut",
    "ReportCountsOut",
    "ReportLineOut",
    "ReportChildOut",
    "ReportRankOut",
    "ReportGroupOut",
    "ReportFieldOut",
    "ReportAwardOut",
    "ReportCertificateOut",
    "ReportOut",
)
SECURED = [{"bearer": []}]
PROGRAMME = query(
    "programme", "Programme code", {"type": "string", "pattern": "^[A-Z0-9][A-Z0-9_-]{0,39}$"}, required=True
)
PHASE = query("phase", "Phase code; `*` (default) for the whole programme")
UNIT = path("unit", pattern=queries.UNIT_CODE.pattern)
BINARY = {"type": "string", "format": "binary"}


def _get(summary: str, parameters: list, schema: str | dict, *codes: int) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": SECURED,
            "parameters": parameters,
            "responses": {"200": {"description": "OK", **json_body(schema)}, **errors(401, 403, *codes)},
        }
    }


def _operations() -> dict[str, dict[str, Any]]:
    rankings = [
        PROGRAMME,
        PHASE,
        query("scope", "national (default), cluster or top", {"type": "string", "enum": list(queries.SCOPES)}),
        query("cluster", "Competition cluster, with scope=cluster"),
        query("top", "Top-level unit, with scope=top"),
        query("level", "Units ranked under a top-level unit", {"type": "string", "enum": ["upper", "grassroots"]}),
        query("metric", "What ranks", {"type": "string", "enum": list(METRICS)}),
        query("as_of", "Standings as they stood at this time (ISO 8601)", {"type": "string", "format": "date-time"}),
        query("limit", "Page size, 1–5000 (default 100)", {"type": "integer", "minimum": 1, "maximum": 5000}),
        query("offset", "`next_offset` of the previous page", {"type": "integer", "minimum": 0, "maximum": 1000000}),
    ]
    ledger = [
        query("kind", "Entry kind", {"type": "string", "enum": list(queries.LEDGER_KINDS)}),
        query("programme", "Programme code"),
        query("unit", "Recipient unit"),
        query("under", "Entries of this unit and every unit under it"),
        query("period", "2026, 2026-H1, 2026-Q3"),
        query(
            "order",
            "created (default: newest first) or due (by due date: the remuneration schedule)",
            {"type": "string", "enum": list(queries.LEDGER_ORDERS)},
        ),
        query("limit", "Page size, 1–500", {"type": "integer", "minimum": 1, "maximum": 500}),
        query("offset", "`next_offset` of the previous page", {"type": "integer", "minimum": 0, "maximum": 10000000}),
    ]
    return {
        "/api/v1/rankings": _get("Rankings of units (bảng xếp hạng thi đua)", rankings, "RankingOut", 422),
        "/api/v1/rankings/snapshots": {
            "post": {
                "summary": "File the rankings as they stand now (rank changes compare with the latest)",
                "security": SECURED,
                "responses": {
                    "201": {
                        "description": "Filed: how many ranked rows",
                        **json_body(
                            {"type": "object", "required": ["rows"], "properties": {"rows": {"type": "integer"}}}
                        ),
                    },
                    **errors(401, 403, 503),
                },
            }
        },
        "/api/v1/standings/{unit}": _get(
            "A unit's standing: counts, participants, benefit, progress, ranks, breakdown",
            [UNIT, PROGRAMME, PHASE],
            "StandingOut",
            404,
            422,
        ),
        "/api/v1/standings/{unit}/history": _get(
            "A top-level unit's (or the nation's) cumulative counts per day",
            [UNIT, PROGRAMME, query("days", "Days back, 1–731", {"type": "integer", "minimum": 1, "maximum": 731})],
            "HistoryOut",
            404,
            422,
        ),
        "/api/v1/targets": _get(
            "Registered targets and progress against them",
            [PROGRAMME, query("unit", "Unit code")],
            {"type": "array", "items": {"$ref": "#/components/schemas/TargetOut"}},
            422,
        ),
        "/api/v1/ledger": _get("The award ledger, within the caller's scope", ledger, "LedgerPage", 422),
        "/api/v1/ledger/{entry_id}/paid": {
            "post": {
                "summary": "Record that an amount was paid (the unit's admin)",
                "security": SECURED,
                "parameters": [path("entry_id", "uuid")],
                "responses": {
                    "200": {"description": "Paid", **json_body("LedgerEntryOut")},
                    **errors(401, 403, 404, 409, 503),
                },
            }
        },
        "/api/v1/award-runs": {
            "post": {
                "summary": "Run the award rules of a period (never grants twice)",
                "security": SECURED,
                "requestBody": {"required": True, **json_body("AwardRunIn")},
                "responses": {
                    "200": {"description": "Nothing new", **json_body("AwardRunOut")},
                    "201": {"description": "Granted", **json_body("AwardRunOut")},
                    **errors(401, 403, 413, 415, 422, 503),
                },
            }
        },
        **_reports(),
        "/api/v1/certificates/{code}": {
            "get": {
                "summary": "Check a certificate of merit by its verification code (public)",
                "parameters": [path("code")],
                "responses": {"200": {"description": "Genuine", **json_body("CertificateCheckOut")}, **errors(404)},
            }
        },
    }


def _reports() -> dict[str, dict[str, Any]]:
    """Reports (JSON, CSV with a BOM, XLSX), the progress chart (PNG) and the public open-data export."""
    pattern = {"type": "string", "pattern": f"^{params.REPORT_PERIOD.pattern}$"}
    period = {**query("period", "Six-month or annual period: 2026-H1, 2026-H2 or 2026", pattern), "required": True}
    fmt = query("format", "json (default), csv (one section per table) or xlsx (one sheet per table)")
    fmt["schema"] = {"type": "string", "enum": list(params.FORMATS)}
    programme = {**PROGRAMME, "required": True}
    return {
        "/api/v1/reports/{unit}": {
            "get": {
                "summary": "A unit's six-month or annual report (báo cáo 6 tháng, năm): counts, benefit, "
                "participants, target and progress, ranks, breakdowns, awards. Readers of the unit's subtree; "
                "national roles anywhere",
                "security": SECURED,
                "parameters": [UNIT, programme, period, fmt],
                "responses": {
                    "200": {
                        "description": "The report",
                        "content": {
                            **json_body("ReportOut")["content"],
                            report_render.CONTENT_TYPES["csv"]: {"schema": {"type": "string"}},
                            report_render.CONTENT_TYPES["xlsx"]: {"schema": BINARY},
                        },
                    },
                    **errors(401, 403, 404, 422, 503),
                },
            }
        },
        "/api/v1/charts/progress.png": {
            "get": {
                "summary": "Progress against targets per unit (PNG): the units under `unit`, "
                "or the top-level units nationally",
                "security": SECURED,
                "parameters": [programme, query("unit", "Unit whose units are shown (default: the nation's)")],
                "responses": {
                    "200": {"description": "A PNG image", "content": {"image/png": {"schema": BINARY}}},
                    **errors(401, 403, 404, 422, 503),
                },
            }
        },
        "/api/v1/exports/open-data.csv": {
            "get": {
                "summary": "Open data (public): recognised, non-confidential initiatives as CSV, streamed; "
                "no personal data",
                "parameters": [query("programme", "Only this programme's initiatives")],
                "responses": {
                    "200": {
                        "description": "UTF-8 CSV with a BOM; columns: " + ", ".join(export.COLUMNS),
                        "content": {"text/csv; charset=utf-8": {"schema": {"type": "string"}}},
                    },
                    **errors(422, 503),
                },
            }
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return build_document(
        "Nền tảng sáng kiến Công đoàn — awards API",
        "Thi đua, xếp hạng, chỉ tiêu, khen thưởng, thù lao, báo cáo.",
        [(name, getattr(schemas, name)) for name in SCHEMAS],
        _operations(),
    )
