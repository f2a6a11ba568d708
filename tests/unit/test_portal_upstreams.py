"""A service that is down is a 503 with Retry-After from the gateway, at once, never a hang."""

from __future__ import annotations

import socket
import time

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from portal import gateway
from portal.upstreams import Upstreams, UpstreamUnavailable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_a_service_that_is_down_is_a_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTREAM_NOTIFY", f"http://127.0.0.1:{_closed_port()}")
    upstreams = Upstreams()
    request = Request(EnvironBuilder(path="/api/v1/inbox", headers={"X-Request-Id": "r-1"}).get_environ())
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as caught:
        gateway.proxy(upstreams, request)
    assert time.monotonic() - started < 5
    response = caught.value.response()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert caught.value.body()["error"]["message_vi"]


def test_an_unknown_path_is_the_platforms_json_404() -> None:
    request = Request(EnvironBuilder(path="/api/v1/khong-co").get_environ())
    with pytest.raises(gateway.UnknownPath) as caught:
        gateway.proxy(Upstreams(), request)
    assert caught.value.response().status_code == 404
    assert caught.value.body()["error"]["code"] == "not_found"


def test_request_ids_pass_through_or_are_made() -> None:
    sent = Request(EnvironBuilder(path="/", headers={"X-Request-Id": "abc-123"}).get_environ())
    assert gateway.request_id(sent) == "abc-123"
    made = Request(EnvironBuilder(path="/", headers={"X-Request-Id": "x" * 500}).get_environ())
    assert len(gateway.request_id(made)) == 32
