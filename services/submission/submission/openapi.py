"""The OpenAPI 3.1 document of the submission API, built from its marshmallow schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chassis.openapi import document as build_document
from chassis.openapi import errors, json_body, path, query
from submission import schemas
from submission.domain import STATUSES

SCHEMAS = (  # nested schemas after what they nest
    "InitiativeIn",
    "InitiativeContent",
    "HistoryEntryOut",
    "InitiativeItemOut",
    "InitiativeOut",
    "InitiativePage",
    "WithdrawIn",
    "UnitOut",
    "UnitPage",
    "UnitIn",
    "ProgrammeOut",
    "TargetIn",
    "TargetOut",
    "MemberIn",
    "MemberOut",
    "MemberPage",
    "BulkResult",
)
WRITE = (400, 401, 403, 413, 415, 422, 503)
LIST_INITIATIVES = [
    query(
        "unit",
        "Subtree root: a unit code, its initiatives and those of every unit below it (default: the caller's unit)",
    ),
    query("status", " | ".join(STATUSES), {"type": "string", "enum": list(STATUSES)}),
    query("programme", "Programme code"),
    query("phase", "Phase code (of the programme)"),
    query("limit", "Page size, 1–200", {"type": "integer", "minimum": 1, "maximum": 200}),
    query("cursor", "`next_cursor` of the previous page"),
]


def _operations() -> dict[str, dict[str, Any]]:
    secured = [{"bearer": []}]
    return {
        "/api/v1/initiatives": {
            "post": {
                "summary": "Submit an initiative (nộp sáng kiến)",
                "security": secured,
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                    }
                ],
                "requestBody": {"required": True, **json_body("InitiativeIn")},
                "responses": {"201": {"description": "Accepted", **json_body("InitiativeOut")}, **errors(*WRITE, 409)},
            },
            "get": {
                "summary": "List initiatives of a unit subtree, newest first (status and level, not the history)",
                "security": secured,
                "parameters": LIST_INITIATIVES,
                "responses": {"200": {"description": "A page", **json_body("InitiativePage")}, **errors(401, 403, 422)},
            },
        },
        "/api/v1/initiatives/bulk": {
            "post": {
                "summary": "Bulk import from CSV or XLSX (nhập hàng loạt)",
                "security": secured,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                        },
                        "text/csv": {"schema": {"type": "string"}},
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                    },
                },
                "responses": {"200": {"description": "Per-row outcome", **json_body("BulkResult")}, **errors(*WRITE)},
            }
        },
        "/api/v1/initiatives/bulk/template.csv": {
            "get": {
                "summary": "The import file template with an example row (mẫu nhập sáng kiến)",
                "responses": {
                    "200": {"description": "CSV, UTF-8", "content": {"text/csv": {"schema": {"type": "string"}}}}
                },
            }
        },
        "/api/v1/initiatives/{initiative_id}": {
            "get": {
                "summary": "One initiative, with its status, review level and unit, and its history oldest first",
                "security": secured,
                "parameters": [path("initiative_id", "uuid")],
                "responses": {
                    "200": {"description": "The initiative", **json_body("InitiativeOut")},
                    **errors(401, 404),
                },
            }
        },
        "/api/v1/initiatives/{initiative_id}/withdraw": {
            "post": {
                "summary": "Withdraw an initiative (rút sáng kiến): 409 once recognised or rejected",
                "security": secured,
                "parameters": [path("initiative_id", "uuid")],
                "requestBody": {"required": False, **json_body("WithdrawIn")},
                "responses": {
                    "200": {"description": "Withdrawn", **json_body("InitiativeOut")},
                    **errors(*WRITE, 404, 409),
                },
            }
        },
        "/api/v1/initiatives/{initiative_id}/resubmit": {
            "post": {
                "summary": "Resubmit an initiative that review returned for changes",
                "security": secured,
                "parameters": [path("initiative_id", "uuid")],
                "requestBody": {"required": True, **json_body("InitiativeContent")},
                "responses": {
                    "200": {"description": "Resubmitted", **json_body("InitiativeOut")},
                    **errors(*WRITE, 404, 409),
                },
            }
        },
        "/api/v1/units": {
            "get": {
                "summary": "The unit registry (đơn vị), filtered",
                "parameters": [
                    query("top", "Top-level unit code"),
                    query("level", "national | top | upper | grassroots"),
                    query("parent", "Parent unit code"),
                    query("limit", "Page size, 1–5000", {"type": "integer", "minimum": 1, "maximum": 5000}),
                    query("offset", "Offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
                ],
                "responses": {"200": {"description": "Units", **json_body("UnitPage")}, **errors(422)},
            },
            "post": {
                "summary": "Register an upper-grassroots or grassroots unit (unit admin of an ancestor)",
                "security": secured,
                "requestBody": {"required": True, **json_body("UnitIn")},
                "responses": {
                    "201": {"description": "Registered", **json_body("UnitOut")},
                    "200": {"description": "Already registered", **json_body("UnitOut")},
                    **errors(*WRITE, 409),
                },
            },
        },
        "/api/v1/units/{code}": {
            "get": {
                "summary": "One unit",
                "parameters": [path("code")],
                "responses": {"200": {"description": "The unit", **json_body("UnitOut")}, **errors(404)},
            }
        },
        "/api/v1/programmes": {
            "get": {
                "summary": "Programmes with their phases",
                "responses": {
                    "200": {
                        "description": "Programmes",
                        **json_body({"type": "array", "items": {"$ref": "#/components/schemas/ProgrammeOut"}}),
                    }
                },
            }
        },
        "/api/v1/programmes/{code}": {
            "get": {
                "summary": "One programme",
                "parameters": [path("code")],
                "responses": {"200": {"description": "The programme", **json_body("ProgrammeOut")}, **errors(404)},
            }
        },
        "/api/v1/targets": {
            "get": {
                "summary": "Registered targets (chỉ tiêu)",
                "parameters": [
                    query("unit", "Unit code"),
                    query("programme", "Programme"),
                    query("phase", "Phase"),
                    query("block", "Block"),
                ],
                "responses": {
                    "200": {
                        "description": "Targets",
                        **json_body({"type": "array", "items": {"$ref": "#/components/schemas/TargetOut"}}),
                    }
                },
            },
            "put": {
                "summary": "Register or change a unit's target (unit admin)",
                "security": secured,
                "requestBody": {"required": True, **json_body("TargetIn")},
                "responses": {"200": {"description": "Registered", **json_body("TargetOut")}, **errors(*WRITE)},
            },
        },
        "/api/v1/members": {
            "get": {
                "summary": "Members of a unit subtree (support team and admins)",
                "security": secured,
                "parameters": [
                    query("unit", "Subtree root (default: the caller's unit)"),
                    query(
                        "q",
                        "Search: part of the full name or of the member id, any case (at most 100 characters)",
                        {"type": "string", "maxLength": 100},
                    ),
                    query("limit", "Page size, 1–1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    query("offset", "Offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
                ],
                "responses": {"200": {"description": "Members", **json_body("MemberPage")}, **errors(401, 403, 422)},
            },
            "post": {
                "summary": "Register a member (đoàn viên) of a grassroots unit",
                "security": secured,
                "requestBody": {"required": True, **json_body("MemberIn")},
                "responses": {
                    "201": {"description": "Registered", **json_body("MemberOut")},
                    "200": {"description": "Already registered", **json_body("MemberOut")},
                    **errors(*WRITE, 409),
                },
            },
        },
        "/api/v1/members/{member_id}": {
            "get": {
                "summary": "One member (self, or the unit's support team and admins; 404 for anyone else)",
                "security": secured,
                "parameters": [path("member_id")],
                "responses": {"200": {"description": "The member", **json_body("MemberOut")}, **errors(401, 404)},
            }
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return build_document(
        "Nền tảng sáng kiến Công đoàn — submission API",
        "Nộp, quản lý sáng kiến; đơn vị, chương trình, chỉ tiêu, đoàn viên.",
        [(name, getattr(schemas, name)) for name in SCHEMAS],
        _operations(),
    )
