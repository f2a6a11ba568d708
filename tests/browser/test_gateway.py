"""The gateway against the running services: every documented path reaches its owner through the
portal; unknown paths, request ids and the combined document."""

from __future__ import annotations

import re
import uuid

import requests

from portal.routes import SERVICES
from tests.browser.conftest import dev_headers
from tests.browser.platform import Platform

PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def _fill(path: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return (
            str(uuid.uuid4())
            if name.endswith("_id") and name != "member_id"
            else "HN-KL-C001"
            if name in ("unit", "code")
            else "dv-x"
        )

    return PLACEHOLDER.sub(value, path)


def _owner(service: str, method: str, path: str) -> tuple[str, dict[str, str]]:
    """Who must answer, and the query that selects a service where two document one path."""
    if path == "/api/v1/targets" and method == "get" and service == "submission":
        return "submission", {"view": "registry"}
    if path.startswith("/api/v1/certificates/"):
        return "awards", {}  # an unknown code is asked at every review deployment, awards answers last
    return service, {}


def test_every_documented_path_reaches_its_service_through_the_portal(platform: Platform) -> None:
    headers = {**dev_headers("unit_admin", "HN"), "X-Request-Id": "gateway-check"}
    checked = 0
    for service in SERVICES:
        document = requests.get(f"{platform.url(service)}/api/v1/openapi.json", timeout=10).json()
        for path, operations in document["paths"].items():
            if path == "/api/v1/openapi.json":
                continue
            for method in operations:
                owner, query = _owner(service, method, path)
                body = {} if method in ("post", "put") else None
                answer = requests.request(
                    method.upper(), platform.portal + _fill(path), params=query, headers=headers, json=body, timeout=30
                )
                assert answer.headers.get("X-Upstream") == owner, (method, path, answer.status_code, answer.text[:200])
                assert answer.headers.get("X-Request-Id") == "gateway-check"
                assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:200])
                checked += 1
    assert checked > 40


def test_the_portals_own_answers(platform: Platform) -> None:
    missing = requests.get(platform.portal + "/api/v1/no-such-thing", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.json()["error"]["message_vi"]
    assert missing.headers.get("X-Request-Id")

    document = requests.get(platform.portal + "/api/v1/openapi.json", timeout=30).json()
    assert "/api/v1/initiatives" in document["paths"] and "/api/v1/reviews" in document["paths"]
    assert "/api/v1/rankings" in document["paths"] and "/api/v1/inbox" in document["paths"]
    assert "/oauth/token" in document["paths"]
    refs = re.findall(
        r'"#/components/schemas/([^"]+)"', requests.get(platform.portal + "/api/v1/openapi.json", timeout=30).text
    )
    assert refs and all(ref in document["components"]["schemas"] for ref in refs)

    jwks = requests.get(platform.portal + "/.well-known/jwks.json", timeout=10).json()
    assert jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["alg"] == "RS256"


def test_machine_clients_get_tokens_the_services_accept(platform: Platform) -> None:
    refused = requests.post(
        platform.portal + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-union-system", "wrong"),
        timeout=10,
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    granted = requests.post(
        platform.portal + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-union-system", "demo-client-secret-0123456789"),
        timeout=10,
    )
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    assert granted.json()["token_type"] == "Bearer"
    rankings = requests.get(
        platform.portal + "/api/v1/rankings",
        params={"programme": "LDST2026"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert rankings.status_code == 200, rankings.text
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = requests.get(
        platform.portal + "/api/v1/rankings",
        params={"programme": "LDST2026"},
        headers={"Authorization": f"Bearer {forged}"},
        timeout=10,
    )
    assert refused.status_code == 401


def test_a_service_calls_another_with_its_own_client_credentials(platform: Platform) -> None:
    from chassis.service_token import ServiceToken

    notify = ServiceToken(f"{platform.portal}/oauth/token", "notify", "notify-dev-client-secret-0123456789", fixed="")
    first = notify.value()
    assert notify.value() == first  # kept until shortly before it expires
    standing = requests.get(
        f"{platform.url('awards')}/api/v1/standings/HN",
        params={"programme": "LDST2026"},
        headers=notify.header(),
        timeout=10,
    )
    assert standing.status_code == 200, standing.text
    notify.forget()
    assert notify.value()
