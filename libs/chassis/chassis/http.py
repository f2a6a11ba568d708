"""HTTP entrypoints that speak JSON: errors, 404/405, body limits and JSON helpers."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from chassis.admission import Admission
from chassis.auth import Principal, TokenVerifier
from chassis.config import setting
from chassis.db import unavailable
from chassis.errors import (
    ApiError,
    InternalError,
    MalformedJson,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    UnsupportedMediaType,
    error_response,
)
from chassis.validation import has_nul

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 1024 * 1024


def _http_exception_response(exc: HTTPException) -> Response:
    status = exc.code or 500
    names = {
        404: ("not_found", "Không tìm thấy đường dẫn."),
        405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    }
    code, message_vi = names.get(status, ("http_error", "Lỗi yêu cầu HTTP."))
    headers = dict(exc.get_headers())
    headers.pop("Content-Type", None)
    body = {"error": {"code": code, "message_vi": message_vi, "message_en": exc.description or exc.name}}
    return error_response(status, body, headers)


class JsonWsgiApp(WsgiApp):
    def __init__(self, server: JsonWebServer) -> None:
        super().__init__(server)
        self.admission = server.admission

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        with self.admission.slot(environ.get("PATH_INFO", "")) as admitted:
            if not admitted:  # answered before a worker is taken: overload never queues
                return TooManyRequests(retry_after=1).response()(environ, start_response)
            request = Request(environ, shallow=True)
            adapter = self.url_map.bind_to_environ(environ)
            try:
                provider, values = adapter.match()
                request.path_values = values
                rv = provider.handle_request(request)
            except HTTPException as exc:
                rv = _http_exception_response(exc)
            return rv(environ, start_response)


class JsonWebServer(WebServer):
    def make_url_map(self) -> Map:
        # No redirect that merges `//`: an id decoding to `/` answers the JSON 404, not a 308.
        url_map = super().make_url_map()
        url_map.merge_slashes = False
        for rule in url_map.iter_rules():
            rule.merge_slashes = False
        return url_map

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        limit = int(config.get("MAX_INFLIGHT_REQUESTS", setting("MAX_INFLIGHT_REQUESTS")))
        self.admission = Admission(limit, config.get("INSTANCE_NAME") or self.container.service_name)

    def get_wsgi_app(self) -> JsonWsgiApp:
        return JsonWsgiApp(self)

    def process_request(self, sock: Any, address: Any) -> None:
        # The body goes out at once: with Nagle's algorithm a body written after its headers
        # waits for the client's delayed ACK, ~40 ms on Linux (measured: 52 ms -> 8 ms).
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)


class ApiHandler(HttpRequestHandler):
    """`@api("POST", "/api/v1/...")`: errors become the platform's JSON error shape."""

    server = JsonWebServer()

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", (ApiError,))
        super().__init__(method, url, **kwargs)

    def get_entrypoint_parameters(self, request: Request) -> tuple[tuple, dict]:
        # PostgreSQL text cannot hold NUL; refuse it at the edge rather than fail deep inside.
        values = [request.path, *request.args.values(), *request.path_values.values()]
        if any("\x00" in str(v) for v in values):
            raise BadCharacters()
        return super().get_entrypoint_parameters(request)

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return exc.response()
        if isinstance(exc, HTTPException):
            return _http_exception_response(exc)
        # A pool wait that ran out is the database saturated: the same answer as down.
        if unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return ServiceUnavailable(retry_after=5).response()
        return InternalError().response()


api = ApiHandler.decorator


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def check_size(request: Request, limit: int) -> None:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.", f"Nội dung vượt quá {limit} byte.")


def read_json(request: Request, limit: int = MAX_JSON_BYTES) -> Any:
    """The JSON body, or a 415/413/400 that says what is wrong with it."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.", "Hãy gửi nội dung dạng application/json.")
    check_size(request, limit)
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise PayloadTooLarge()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # ~1,000 levels: no real request nests like that
        raise MalformedJson("The body's JSON is nested too deeply.") from exc
    if b"\\u0000" in raw and has_nul(body):
        raise BadCharacters()
    return body


class BadCharacters(ApiError):
    status, code = 400, "invalid_characters"
    message_vi = "Dữ liệu chứa ký tự NUL (0x00) không được chấp nhận."
    message_en = "The request contains a NUL (0x00) character, which is not accepted."


class Auth(DependencyProvider):
    """Injects an object that turns a request's bearer token into a Principal."""

    def setup(self) -> None:
        self.verifier = TokenVerifier()

    def get_dependency(self, worker_ctx) -> Auth:  # type: ignore[no-untyped-def]
        return self

    def principal(self, request: Request) -> Principal:
        return self.verifier.verify(request.headers.get("Authorization"))
