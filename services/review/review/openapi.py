"""The OpenAPI 3.1 document of the review API, built from its marshmallow schemas."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chassis.openapi import document as build_document
from chassis.openapi import errors, json_body, path, query
from review import domain, queries, schemas

SCHEMAS = (  # nested schemas after what they nest
    "NoteIn",
    "ReasonIn",
    "ScoreIn",
    "DecisionIn",
    "NominateIn",
    "CouncilMemberIn",
    "StepOut",
    "QueueItemOut",
    "QueuePage",
    "ScorecardOut",
    "VerdictOut",
    "AuditOut",
    "SimilarOut",
    "CertificateOut",
    "ReviewFileOut",
    "CouncilMemberOut",
    "CouncilOut",
    "CertificateCheckOut",
)
SECURED = [{"bearer": []}]
ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 503)
QUEUE = [
    query(
        "scope",
        "`mine`: awaiting the caller's unit (default); `subtree`: anywhere below it",
        {"type": "string", "enum": ["mine", "subtree"]},
    ),
    query("level", "Review level", {"type": "string", "enum": list(domain.LEVELS)}),
    query(
        "status",
        "`open` (default), `all`, or one status",
        {"type": "string", "enum": [*domain.STATUSES, "open", "all"]},
    ),
    query("deadline", "Deadline state", {"type": "string", "enum": ["ok", "approaching", "overdue"]}),
    query("limit", "Page size, 1–200", {"type": "integer", "minimum": 1, "maximum": 200}),
    query("offset", "`next_offset` of the previous page", {"type": "integer", "minimum": 0, "maximum": 1000000}),
]


def _action(summary: str, body: str | None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": SECURED,
        "parameters": [path("initiative_id", "uuid")],
        "responses": {
            "200": {"description": "The updated review file", **json_body("ReviewFileOut")},
            **errors(*ACTION_ERRORS),
        },
    }
    if body:
        operation["requestBody"] = {"required": body in ("ReasonIn", "ScoreIn", "DecisionIn"), **json_body(body)}
    return {"post": operation}


def _operations() -> dict[str, dict[str, Any]]:
    unit = path("unit", pattern=queries.UNIT_CODE_PATTERN)
    member = [unit, path("member_id", pattern=queries.MEMBER_ID_PATTERN)]
    return {
        "/api/v1/reviews": {
            "get": {
                "summary": "Reviewer work queue, most urgent first (hàng đợi xét duyệt)",
                "security": SECURED,
                "parameters": QUEUE,
                "responses": {"200": {"description": "A page", **json_body("QueuePage")}, **errors(401, 403, 422)},
            }
        },
        "/api/v1/reviews/{initiative_id}": {
            "get": {
                "summary": "An initiative's review file: levels, scores, similar initiatives, audit trail",
                "security": SECURED,
                "parameters": [path("initiative_id", "uuid")],
                "responses": {
                    "200": {"description": "The review file", **json_body("ReviewFileOut")},
                    **errors(401, 403, 404),
                },
            }
        },
        "/api/v1/reviews/{initiative_id}/accept": _action("Accept the application (tiếp nhận hồ sơ)", "NoteIn"),
        "/api/v1/reviews/{initiative_id}/corrections": _action(
            "Ask the author for corrections (yêu cầu bổ sung hồ sơ)", "ReasonIn"
        ),
        "/api/v1/reviews/{initiative_id}/scores": _action("Score on the scorecard (chấm điểm)", "ScoreIn"),
        "/api/v1/reviews/{initiative_id}/decision": _action(
            "Recognise, reject or return (công nhận / không công nhận / trả lại)", "DecisionIn"
        ),
        "/api/v1/reviews/{initiative_id}/nomination": _action(
            "Nominate to the next level (đề nghị cấp trên xét)", "NominateIn"
        ),
        "/api/v1/councils/{unit}": {
            "get": {
                "summary": "Members of a unit's initiative council (hội đồng sáng kiến)",
                "security": SECURED,
                "parameters": [unit],
                "responses": {
                    "200": {"description": "The council", **json_body("CouncilOut")},
                    **errors(401, 403, 422),
                },
            }
        },
        "/api/v1/councils/{unit}/members/{member_id}": {
            "put": {
                "summary": "Add a council member or change their role (the unit's admin)",
                "description": (
                    "A council has one chair: naming a new chair makes the former chair a member"
                    " in the same transaction."
                ),
                "security": SECURED,
                "parameters": member,
                "requestBody": {"required": False, **json_body("CouncilMemberIn")},
                "responses": {
                    "200": {"description": "Unchanged or updated", **json_body("CouncilMemberOut")},
                    "201": {"description": "Added", **json_body("CouncilMemberOut")},
                    **errors(401, 403, 413, 415, 422, 503),
                },
            },
            "delete": {
                "summary": "Remove a council member (the unit's admin)",
                "security": SECURED,
                "parameters": member,
                "responses": {"204": {"description": "Removed"}, **errors(401, 403, 404, 422, 503)},
            },
        },
        "/api/v1/certificates/{code}": {
            "get": {
                "summary": "Check a recognition certificate by its verification code (public)",
                "parameters": [path("code")],
                "responses": {
                    "200": {"description": "A genuine certificate", **json_body("CertificateCheckOut")},
                    **errors(404),
                },
            }
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return build_document(
        "Nền tảng sáng kiến Công đoàn — review API",
        "Xét, chấm điểm, công nhận sáng kiến theo các cấp công đoàn; hội đồng sáng kiến; tra cứu giấy chứng nhận.",
        [(name, getattr(schemas, name)) for name in SCHEMAS],
        _operations(),
    )
