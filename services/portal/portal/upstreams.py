"""Calls to the services: pooled HTTP with timeouts; a service that is down is a 503, never a hang."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from cachetools import TTLCache

from chassis.errors import ApiError
from portal.settings import portal_setting

log = logging.getLogger(__name__)

# Hop-by-hop and framing headers are the proxy's own business, never copied across.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}


class UpstreamUnavailable(ApiError):
    status, code = 503, "service_unavailable"
    message_en = "A service the platform needs is not answering; try again shortly."
    message_vi = "Một dịch vụ của hệ thống đang không phản hồi; vui lòng thử lại sau ít phút."

    def __init__(self, service: str) -> None:
        super().__init__(
            f"The {service} service is not answering; try again shortly.",
            headers={"Retry-After": "5"},
        )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> dict[str, Any]:
        """The service's bilingual error, as it sent it."""
        try:
            payload = self.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            return payload["error"]
        return {"code": "http_error", "message_vi": "Lỗi không xác định.", "message_en": f"HTTP {self.status}"}


def parse_review_deployments(spec: str) -> dict[str, str]:
    """`HN=http://a,*=http://b` -> {"HN": "http://a", "*": "http://b"}."""
    out: dict[str, str] = {}
    for item in spec.split(","):
        if "=" in item:
            unit, url = item.split("=", 1)
            out[unit.strip()] = url.strip().rstrip("/")
    return out


class Upstreams:
    """The four services' base URLs (review per top-level unit) and one connection pool for all."""

    def __init__(self) -> None:
        self.base = {
            "submission": portal_setting("UPSTREAM_SUBMISSION").rstrip("/"),
            "awards": portal_setting("UPSTREAM_AWARDS").rstrip("/"),
            "notify": portal_setting("UPSTREAM_NOTIFY").rstrip("/"),
        }
        self.review = parse_review_deployments(portal_setting("UPSTREAM_REVIEW"))
        timeout = float(portal_setting("UPSTREAM_TIMEOUT_SECONDS"))
        self.pool = urllib3.PoolManager(
            num_pools=16, maxsize=64, block=False, retries=False, timeout=urllib3.Timeout(connect=2, read=timeout)
        )
        self._tops: TTLCache[str, str] = TTLCache(maxsize=20_000, ttl=600)
        self._units: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=20_000, ttl=600)

    # -- where ---------------------------------------------------------------
    def review_urls(self) -> list[str]:
        """Every review deployment, the dedicated ones first."""
        return [url for unit, url in sorted(self.review.items(), key=lambda kv: kv[0] == "*")]

    def review_url_for_top(self, top: str | None) -> str | None:
        if top and top in self.review:
            return self.review[top]
        return self.review.get("*")

    def top_of(self, unit: str) -> str | None:
        """A unit's top-level unit, from submission's registry (cached); None for the nation or unknown."""
        if unit in self._tops:
            return self._tops[unit] or None
        try:
            answer = self.call("submission", "GET", f"/api/v1/units/{unit}")
        except UpstreamUnavailable:
            return None
        top = (answer.json() or {}).get("top") if answer.ok else None
        if answer.ok or answer.status == 404:
            self._tops[unit] = top or ""
        return top

    def unit(self, code: str) -> dict[str, Any] | None:
        """A unit of submission's registry with its `path` ("/VGCL/HN/HN-KL/"), cached; None if unknown."""
        if code in self._units:
            return self._units[code]
        chain: list[dict[str, Any]] = []
        current: str | None = code
        while current and len(chain) < 8:
            answer = self.call("submission", "GET", f"/api/v1/units/{current}")
            if answer.status == 404 and chain:
                break
            if not answer.ok:
                return None
            chain.append(answer.json())
            current = chain[-1].get("parent")
        unit = dict(chain[0])
        unit["path"] = "/" + "/".join(u["code"] for u in reversed(chain)) + "/"
        self._units[code] = unit
        return unit

    def url(self, service: str) -> str:
        if service == "review":
            return self.review.get("*") or next(iter(self.review.values()))
        return self.base[service]

    # -- calls ---------------------------------------------------------------
    def raw(
        self,
        base: str,
        method: str,
        path_and_query: str,
        headers: dict[str, str],
        body: Any = None,
        service: str = "",
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        try:
            return self.pool.request(
                method, base + path_and_query, body=body, headers=headers, preload_content=not stream
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("%s unavailable: %s", service or base, type(exc).__name__)
            raise UpstreamUnavailable(service or base) from exc

    def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        *,
        params: dict[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        base: str | None = None,
        body: Any = None,
    ) -> Answer:
        """One call with the caller's token; the answer whatever its status (4xx are for the page)."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            sent["Content-Type"] = "application/json"
        query = ""
        if params:
            pairs = params.items() if isinstance(params, dict) else params
            query = "?" + urlencode([(k, v) for k, v in pairs if v not in (None, "")])
        started = time.perf_counter()
        response = self.raw(base or self.url(service), method, path + query, sent, body, service)
        log.debug(
            "%s %s%s -> %s in %.1f ms", method, service, path, response.status, 1000 * (time.perf_counter() - started)
        )
        return Answer(response.status, dict(response.headers), response.data)

    def review_queue(self, unit: str, token: str | None, params: dict[str, Any]) -> Answer:
        """A unit's work queue; the national office's is every deployment's, merged by due date."""
        if self.top_of(unit):
            return self.review_call(unit, "GET", "/api/v1/reviews", token, params=params)
        pages = []
        for base in self.review_urls():
            answer = self.call("review", "GET", "/api/v1/reviews", token, params=params, base=base)
            if answer.status != 200:
                return answer
            pages.append(answer.json())
        merged = json.dumps(merge_queue_pages(pages), ensure_ascii=False).encode()
        return Answer(200, {"Content-Type": "application/json"}, merged)

    def review_call(self, unit: str | None, method: str, path: str, token: str | None, **kwargs: Any) -> Answer:
        """A review call at the deployment owning `unit`; for the nation (or an unknown unit) the
        deployments are asked in turn and the first that knows the thing answers."""
        top = self.top_of(unit) if unit else None
        if top:
            return self.call("review", method, path, token, base=self.review_url_for_top(top), **kwargs)
        answer: Answer | None = None
        for base in self.review_urls():
            answer = self.call("review", method, path, token, base=base, **kwargs)
            if answer.status != 404:
                return answer
        assert answer is not None
        return answer


def merge_queue_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Work-queue pages of several review deployments as one, most urgent first."""
    items = sorted(
        (item for page in pages for item in page.get("items", [])),
        key=lambda item: (item.get("due_at") or "9999", item.get("initiative_id", "")),
    )
    offsets = [page.get("next_offset") for page in pages]
    return {
        "items": items,
        "total": sum(page.get("total", 0) for page in pages),
        "next_offset": None if all(o is None for o in offsets) else max(o or 0 for o in offsets),
    }
