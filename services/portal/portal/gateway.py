"""The `/api/v1` gateway: each request goes to the service that owns its path, as it came."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from chassis.errors import ApiError
from portal.routes import route
from portal.upstreams import HOP_BY_HOP, Upstreams, merge_queue_pages

FORWARDED = (
    "Authorization",
    "Content-Type",
    "Content-Length",
    "Accept",
    "Accept-Language",
    "Idempotency-Key",
    "If-None-Match",
)


class UnknownPath(ApiError):
    status, code = 404, "not_found"
    message_vi, message_en = "Không tìm thấy đường dẫn.", "No such path."


def caller_unit(request: Request) -> str | None:
    """The unit claim of the caller's token, read only to route: the service verifies the token."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(header[7:].strip(), options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    unit = claims.get("unit")
    return unit if isinstance(unit, str) and unit else None


def request_id(request: Request) -> str:
    sent = request.headers.get("X-Request-Id", "")
    return sent if 0 < len(sent) <= 200 and sent.isprintable() else uuid.uuid4().hex


def _headers(request: Request, rid: str) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    headers["X-Request-Id"] = rid
    forwarded = request.headers.get("X-Forwarded-For")
    client = request.remote_addr or ""
    headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
    return headers


def _respond(upstream: Any, rid: str, service: str, streamed: bool = False) -> Response:
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"x-request-id"}]
    headers += [("X-Request-Id", rid), ("X-Upstream", service)]
    body = upstream.stream(64 * 1024) if streamed else upstream.data
    response = Response(body, status=upstream.status, headers=headers, direct_passthrough=True)
    response.call_on_close(upstream.release_conn)
    return response


def proxy(upstreams: Upstreams, request: Request) -> Response:
    rid = request_id(request)
    target = route(request.method, request.path, request.args)
    if target is None:
        raise UnknownPath(headers={"X-Request-Id": rid})
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    headers = _headers(request, rid)
    has_body = request.method in ("POST", "PUT", "PATCH", "DELETE") and (
        request.content_length or request.headers.get("Transfer-Encoding")
    )
    body = request.stream if has_body else None
    if target.fan_out:
        return _first_found(upstreams, target.fan_out, request.method, path, headers, rid)
    if target.service == "review":
        unit = target.unit or caller_unit(request)
        top = upstreams.top_of(unit) if unit else None
        if not top and request.method == "GET":
            return _national_review(upstreams, request, path, headers, rid)
        base = upstreams.review_url_for_top(top)
        assert base is not None
        return _respond(
            upstreams.raw(base, request.method, path, headers, body, "review", stream=True), rid, "review", True
        )
    base = upstreams.url(target.service)
    upstream = upstreams.raw(base, request.method, path, headers, body, target.service, stream=True)
    return _respond(upstream, rid, target.service, True)


def _first_found(
    upstreams: Upstreams, services: tuple[str, ...], method: str, path: str, headers: dict[str, str], rid: str
) -> Response:
    """Each deployment in turn; the first that knows the thing answers (certificate codes)."""
    bases = [(s, b) for s in services for b in (upstreams.review_urls() if s == "review" else [upstreams.url(s)])]
    last = None
    for service, base in bases:
        last = upstreams.raw(base, method, path, headers, None, service)
        if last.status != 404:
            return _respond(last, rid, service)
    assert last is not None
    return _respond(last, rid, service)


def _national_review(upstreams: Upstreams, request: Request, path: str, headers: dict[str, str], rid: str) -> Response:
    """A national reader: one review file is found at its deployment; the work queue is every
    deployment's, merged by due date."""
    if request.path.rstrip("/") != "/api/v1/reviews":
        return _first_found(upstreams, ("review",), "GET", path, headers, rid)
    pages = []
    for base in upstreams.review_urls():
        answer = upstreams.raw(base, "GET", path, headers, None, "review")
        if answer.status != 200:
            return _respond(answer, rid, "review")
        pages.append(json.loads(answer.data))
    merged = merge_queue_pages(pages)
    body = json.dumps(merged, ensure_ascii=False)
    headers = {"X-Request-Id": rid, "X-Upstream": "review"}
    return Response(body, 200, headers, content_type="application/json; charset=utf-8")
