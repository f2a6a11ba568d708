"""One OpenAPI document for the whole platform: each service's own, merged, schemas namespaced."""

from __future__ import annotations

import json
from typing import Any

from portal.routes import SERVICES
from portal.upstreams import Upstreams

PORTAL_PATHS: dict[str, Any] = {
    "/oauth/token": {
        "post": {
            "tags": ["portal"],
            "summary": "OAuth 2.0 client-credentials grant: a bearer token for a machine client",
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "access_token, token_type, expires_in"},
                "401": {"description": "invalid_client"},
            },
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "tags": ["portal"],
            "summary": "The keys that verify the platform's tokens",
            "responses": {"200": {"description": "JWKS"}},
        }
    },
    "/api/v1/grants": {
        "get": {
            "tags": ["portal"],
            "summary": "Role grants in a unit's subtree (unit admins) or the caller's own",
            "parameters": [{"name": "unit", "in": "query", "schema": {"type": "string"}}],
            "security": [{"bearer": []}],
            "responses": {"200": {"description": "grants"}},
        },
        "post": {
            "tags": ["portal"],
            "summary": "Grant a role to a person in a unit (unit admins within their subtree)",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["person", "role", "unit"],
                            "properties": {
                                "person": {"type": "string"},
                                "role": {"type": "string"},
                                "unit": {"type": "string"},
                                "member_id": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {"201": {"description": "the grant"}, "403": {"description": "outside the caller's unit"}},
        },
    },
    "/api/v1/grants/{grant_id}": {
        "delete": {
            "tags": ["portal"],
            "summary": "Revoke a grant",
            "security": [{"bearer": []}],
            "parameters": [{"name": "grant_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "revoked"}},
        }
    },
}


def _namespaced(document: dict[str, Any], service: str) -> dict[str, Any]:
    text = json.dumps(document).replace('"#/components/schemas/', f'"#/components/schemas/{service}.')
    return json.loads(text)


def combined(upstreams: Upstreams) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    missing = []
    for service in SERVICES:
        answer = upstreams.call(service, "GET", "/api/v1/openapi.json")
        if not answer.ok:
            missing.append(service)
            continue
        document = _namespaced(answer.json(), service)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[f"{service}.{name}"] = schema
        for path, operations in document.get("paths", {}).items():
            if path == "/api/v1/openapi.json":
                continue
            for method, operation in operations.items():
                operation.setdefault("tags", [service])
                paths.setdefault(path, {}).setdefault(method, operation)
    paths.update(PORTAL_PATHS)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Nền tảng sáng kiến Công đoàn — the platform's API",
            "version": "1",
            "description": (
                "Every service's API under one address. `GET /api/v1/targets` answers awards' progress; "
                "`?view=registry` answers submission's registry. Certificate codes are checked at every "
                "review deployment, then at awards." + (f" Not answering now: {', '.join(missing)}." if missing else "")
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
