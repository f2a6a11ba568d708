"""The OpenAPI 3.1 document of the submission API, built from its marshmallow schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from submission import schemas

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message_vi", "message_en"],
            "properties": {
                "code": {"type": "string"},
                "message_vi": {"type": "string"},
                "message_en": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "fields_vi": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}


def _query(name: str, description: str, schema: dict | None = None) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, fmt: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", **({"format": fmt} if fmt else {})}
    return {"in": "path", "name": name, "required": True, "schema": schema}


def _json(schema: str | dict) -> dict[str, Any]:
    ref = schema if isinstance(schema, dict) else {"$ref": f"#/components/schemas/{schema}"}
    return {"content": {"application/json": {"schema": ref}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        401: "Missing, expired or forged token",
        403: "Outside your unit's scope",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Body too large",
        415: "Wrong content type",
        422: "Field-level validation errors",
        503: "Temporarily unavailable",
    }
    return {str(c): {"description": text[c], **_json("Error")} for c in codes}


WRITE = (400, 401, 403, 413, 415, 422, 503)
LIST_INITIATIVES = [
    _query("unit", "Subtree root (default: the caller's unit)"),
    _query(
        "status", "submitted | returned | withdrawn", {"type": "string", "enum": ["submitted", "returned", "withdrawn"]}
    ),
    _query("programme", "Programme code"),
    _query("phase", "Phase code"),
    _query("limit", "Page size, 1–200", {"type": "integer", "minimum": 1, "maximum": 200}),
    _query("cursor", "`next_cursor` of the previous page"),
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
                "requestBody": {"required": True, **_json("InitiativeIn")},
                "responses": {"201": {"description": "Accepted", **_json("InitiativeOut")}, **_errors(*WRITE, 409)},
            },
            "get": {
                "summary": "List initiatives of a unit subtree, newest first",
                "security": secured,
                "parameters": LIST_INITIATIVES,
                "responses": {"200": {"description": "A page", **_json("InitiativePage")}, **_errors(401, 403, 422)},
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
                "responses": {"200": {"description": "Per-row outcome", **_json("BulkResult")}, **_errors(*WRITE)},
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
                "summary": "One initiative",
                "security": secured,
                "parameters": [_path("initiative_id", "uuid")],
                "responses": {"200": {"description": "The initiative", **_json("InitiativeOut")}, **_errors(401, 404)},
            }
        },
        "/api/v1/initiatives/{initiative_id}/withdraw": {
            "post": {
                "summary": "Withdraw an initiative (rút sáng kiến)",
                "security": secured,
                "parameters": [_path("initiative_id", "uuid")],
                "requestBody": {"required": False, **_json("WithdrawIn")},
                "responses": {
                    "200": {"description": "Withdrawn", **_json("InitiativeOut")},
                    **_errors(*WRITE, 404, 409),
                },
            }
        },
        "/api/v1/initiatives/{initiative_id}/resubmit": {
            "post": {
                "summary": "Resubmit an initiative that review returned for changes",
                "security": secured,
                "parameters": [_path("initiative_id", "uuid")],
                "requestBody": {"required": True, **_json("InitiativeContent")},
                "responses": {
                    "200": {"description": "Resubmitted", **_json("InitiativeOut")},
                    **_errors(*WRITE, 404, 409),
                },
            }
        },
        "/api/v1/units": {
            "get": {
                "summary": "The unit registry (đơn vị), filtered",
                "parameters": [
                    _query("top", "Top-level unit code"),
                    _query("level", "national | top | upper | grassroots"),
                    _query("parent", "Parent unit code"),
                    _query("limit", "Page size, 1–5000", {"type": "integer", "minimum": 1, "maximum": 5000}),
                    _query("offset", "Offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
                ],
                "responses": {"200": {"description": "Units", **_json("UnitPage")}, **_errors(422)},
            },
            "post": {
                "summary": "Register an upper-grassroots or grassroots unit (unit admin of an ancestor)",
                "security": secured,
                "requestBody": {"required": True, **_json("UnitIn")},
                "responses": {
                    "201": {"description": "Registered", **_json("UnitOut")},
                    "200": {"description": "Already registered", **_json("UnitOut")},
                    **_errors(*WRITE, 409),
                },
            },
        },
        "/api/v1/units/{code}": {
            "get": {
                "summary": "One unit",
                "parameters": [_path("code")],
                "responses": {"200": {"description": "The unit", **_json("UnitOut")}, **_errors(404)},
            }
        },
        "/api/v1/programmes": {
            "get": {
                "summary": "Programmes with their phases",
                "responses": {
                    "200": {
                        "description": "Programmes",
                        **_json({"type": "array", "items": {"$ref": "#/components/schemas/ProgrammeOut"}}),
                    }
                },
            }
        },
        "/api/v1/programmes/{code}": {
            "get": {
                "summary": "One programme",
                "parameters": [_path("code")],
                "responses": {"200": {"description": "The programme", **_json("ProgrammeOut")}, **_errors(404)},
            }
        },
        "/api/v1/targets": {
            "get": {
                "summary": "Registered targets (chỉ tiêu)",
                "parameters": [
                    _query("unit", "Unit code"),
                    _query("programme", "Programme"),
                    _query("phase", "Phase"),
                    _query("block", "Block"),
                ],
                "responses": {
                    "200": {
                        "description": "Targets",
                        **_json({"type": "array", "items": {"$ref": "#/components/schemas/TargetOut"}}),
                    }
                },
            },
            "put": {
                "summary": "Register or change a unit's target (unit admin)",
                "security": secured,
                "requestBody": {"required": True, **_json("TargetIn")},
                "responses": {"200": {"description": "Registered", **_json("TargetOut")}, **_errors(*WRITE)},
            },
        },
        "/api/v1/members": {
            "get": {
                "summary": "Members of a unit subtree (support team and admins)",
                "security": secured,
                "parameters": [
                    _query("unit", "Subtree root (default: the caller's unit)"),
                    _query("limit", "Page size, 1–1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("offset", "Offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
                ],
                "responses": {"200": {"description": "Members", **_json("MemberPage")}, **_errors(401, 403, 422)},
            },
            "post": {
                "summary": "Register a member (đoàn viên) of a grassroots unit",
                "security": secured,
                "requestBody": {"required": True, **_json("MemberIn")},
                "responses": {
                    "201": {"description": "Registered", **_json("MemberOut")},
                    "200": {"description": "Already registered", **_json("MemberOut")},
                    **_errors(*WRITE, 409),
                },
            },
        },
        "/api/v1/members/{member_id}": {
            "get": {
                "summary": "One member (self, or the unit's support team and admins)",
                "security": secured,
                "parameters": [_path("member_id")],
                "responses": {"200": {"description": "The member", **_json("MemberOut")}, **_errors(401, 403, 404)},
            }
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    spec = APISpec(
        title="Nền tảng sáng kiến Công đoàn — submission API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Nộp, quản lý sáng kiến; đơn vị, chương trình, chỉ tiêu, đoàn viên."},
    )
    for name in (
        "InitiativeIn",
        "InitiativeContent",
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
        "MemberPage",  # after MemberOut, which it nests
        "BulkResult",
    ):
        spec.components.schema(name, schema=getattr(schemas, name))
    spec.components.schema("Error", ERROR)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for path, operations in _operations().items():
        for operation in operations.values():
            # Any request can be refused at the edge (NUL characters, malformed input).
            operation["responses"].setdefault("400", _errors(400)["400"])
        spec.path(path=path, operations=operations)
    return spec.to_dict()
