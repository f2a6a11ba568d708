"""OpenAPI 3.1 building blocks shared by the services: errors, parameters, the document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

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


def query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def path(name: str, fmt: str | None = None, pattern: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", **({"format": fmt} if fmt else {}), **({"pattern": f"^{pattern}$"} if pattern else {})}
    return {"in": "path", "name": name, "required": True, "schema": schema}


def json_body(schema: str | dict) -> dict[str, Any]:
    ref = schema if isinstance(schema, dict) else {"$ref": f"#/components/schemas/{schema}"}
    return {"content": {"application/json": {"schema": ref}}}


def errors(*codes: int) -> dict[str, Any]:
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
    return {str(c): {"description": text[c], **json_body("Error")} for c in codes}


def document(
    title: str, description: str, schemas: Iterable[tuple[str, Any]], operations: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The document: named marshmallow schemas (nested ones after what they nest), then paths."""
    spec = APISpec(
        title=title,
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": description},
    )
    for name, schema in schemas:
        spec.components.schema(name, schema=schema)
    spec.components.schema("Error", ERROR)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for route, ops in operations.items():
        for operation in ops.values():
            # Any request can be refused at the edge (NUL characters, malformed input).
            operation["responses"].setdefault("400", errors(400)["400"])
        spec.path(path=route, operations=ops)
    return spec.to_dict()
