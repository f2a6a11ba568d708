"""The bad-input and security sweep (issue 7), applied alike to submission, review, awards and notify.

Each service runs on the real broker and its own PostgreSQL database (the `api`, `review_api`,
`awards_api` fixtures and `notify_api` below), and is called over real HTTP — through a raw socket
where a client library would tidy the request up (`../` segments, NUL, invalid UTF-8, a lying
Content-Length). Whatever is refused is refused with a 4xx whose body is the platform's JSON error
in Vietnamese and English; nothing answers 500; text that looks like SQL, HTML or a template is
stored and given back byte for byte as JSON data, never run; tokens that are forged, expired or
unsigned are refused; a token of one unit cannot reach another unit's data; and a webhook receiver
can tell a replayed delivery from a new one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import http.client
import importlib.util
import io
import json
import socket
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
import pytest
import requests

from chassis.config import setting
from chassis.envelope import dumps
from notify.service import NotifyService
from tests import event_factories as ev
from tests.conftest import token
from tests.factories import UNIT, initiative
from tests.integration.conftest import count, post, publish, rows, wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN = token("national_admin", "VGCL", "ad-tw")
MEMBER = token("member", UNIT, "dv-an")
REVIEWER = token("reviewer", UNIT, "rv-cs")
MAX_JSON = 1024 * 1024  # chassis.http.MAX_JSON_BYTES: every JSON body's limit
SERVICES = ("submission", "review", "awards", "notify")

# Text a careless service would run as SQL, HTML, a template or a spreadsheet formula.
INJECTIONS = (
    "Robert'); DROP TABLE initiatives;--",
    "' OR '1'='1' -- ",
    "1; SELECT pg_sleep(10); --",
    "\\'; TRUNCATE outbox; --",
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(document.cookie)>',
    "{{ 7*7 }} {% for x in range(9) %}x{% endfor %} ${7*7} #{7*7}",
    '=HYPERLINK("http://evil.example/","Bấm vào đây")',
    "Cải tiến & <b>đồ gá</b> — «hàn» 'nhanh' \"gọn\" \\ / ; -- /* */",
)


# --- Services under test ----------------------------------------------------------------------------


@pytest.fixture
def notify_api(container_factory, make_config, notify_db_url) -> str:  # type: ignore[no-untyped-def]
    """The notify service (every unit) on its own PostgreSQL database, as test_notify.py starts it."""
    return _start_notify(container_factory, make_config, notify_db_url)


def _start_notify(container_factory, make_config, db_url: str, **overrides: Any) -> str:  # type: ignore[no-untyped-def]
    settings: dict[str, Any] = {
        "UNITS": "*",
        "NOTIFY_POLL_SECONDS": 0.1,
        "NOTIFY_RETRY_BASE_SECONDS": 0.1,
        "NOTIFY_MAX_ATTEMPTS": 2,
        "WEBHOOK_ALLOW_PRIVATE": "on",  # the test's receiver listens on loopback
        **overrides,
    }
    config = make_config(db_url, "notify", **settings)
    container_factory(NotifyService, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


@dataclass(frozen=True)
class Spec:
    """What the sweep needs to know of one service."""

    fixture: str
    # An operation that reads a JSON body, the caller allowed to send it, and a body it accepts.
    body_route: tuple[str, str]
    body_caller: dict[str, str]
    # Operations that need a bearer token.
    secured: tuple[tuple[str, str], ...]
    # Operations with an id in the path ({} marks it), called as the national admin.
    id_routes: tuple[tuple[str, str], ...]
    databases: tuple[str, ...] = field(default=())


MISSING = "3f0e6b7e-0000-4000-8000-000000000000"
SPECS = {
    "submission": Spec(
        fixture="api",
        body_route=("POST", "/api/v1/initiatives"),
        body_caller=MEMBER,
        secured=(
            ("POST", "/api/v1/initiatives"),
            ("GET", "/api/v1/initiatives"),
            ("GET", f"/api/v1/initiatives/{MISSING}"),
            ("POST", f"/api/v1/initiatives/{MISSING}/withdraw"),
            ("POST", "/api/v1/initiatives/bulk"),
            ("PUT", "/api/v1/targets"),
            ("GET", "/api/v1/members"),
        ),
        id_routes=(
            ("GET", "/api/v1/initiatives/{}"),
            ("POST", "/api/v1/initiatives/{}/withdraw"),
            ("POST", "/api/v1/initiatives/{}/resubmit"),
            ("GET", "/api/v1/units/{}"),
            ("GET", "/api/v1/programmes/{}"),
            ("GET", "/api/v1/members/{}"),
        ),
    ),
    "review": Spec(
        fixture="review_api",
        body_route=("POST", f"/api/v1/reviews/{MISSING}/accept"),
        body_caller=REVIEWER,
        secured=(
            ("GET", "/api/v1/reviews"),
            ("GET", f"/api/v1/reviews/{MISSING}"),
            ("POST", f"/api/v1/reviews/{MISSING}/accept"),
            ("GET", "/api/v1/councils/HN"),
            ("PUT", "/api/v1/councils/HN/members/hd-1"),
            ("DELETE", "/api/v1/councils/HN/members/hd-1"),
        ),
        id_routes=(
            ("GET", "/api/v1/reviews/{}"),
            ("POST", "/api/v1/reviews/{}/accept"),
            ("POST", "/api/v1/reviews/{}/decision"),
            ("GET", "/api/v1/councils/{}"),
            ("PUT", "/api/v1/councils/HN/members/{}"),
            ("DELETE", "/api/v1/councils/{}/members/hd-1"),
            ("GET", "/api/v1/certificates/{}"),
        ),
    ),
    "awards": Spec(
        fixture="awards_api",
        body_route=("POST", "/api/v1/award-runs"),
        body_caller=ADMIN,
        secured=(
            ("GET", "/api/v1/rankings?programme=LDST2026"),
            ("POST", "/api/v1/rankings/snapshots"),
            ("GET", "/api/v1/standings/HN?programme=LDST2026"),
            ("GET", "/api/v1/targets?programme=LDST2026"),
            ("GET", "/api/v1/ledger"),
            ("POST", f"/api/v1/ledger/{MISSING}/paid"),
            ("POST", "/api/v1/award-runs"),
            ("GET", "/api/v1/reports/HN?programme=LDST2026&period=2026"),
            ("GET", "/api/v1/charts/progress.png?programme=LDST2026"),
        ),
        id_routes=(
            ("GET", "/api/v1/standings/{}?programme=LDST2026"),
            ("GET", "/api/v1/standings/{}/history?programme=LDST2026"),
            ("GET", "/api/v1/reports/{}?programme=LDST2026&period=2026"),
            ("POST", "/api/v1/ledger/{}/paid"),
            ("GET", "/api/v1/certificates/{}"),
        ),
    ),
    "notify": Spec(
        fixture="notify_api",
        body_route=("PUT", "/api/v1/preferences"),
        body_caller=MEMBER,
        secured=(
            ("GET", "/api/v1/inbox"),
            ("POST", f"/api/v1/inbox/{MISSING}/read"),
            ("POST", "/api/v1/inbox/read-all"),
            ("GET", "/api/v1/preferences"),
            ("PUT", "/api/v1/preferences"),
            ("POST", "/api/v1/webhooks"),
            ("GET", "/api/v1/webhooks"),
            ("POST", f"/api/v1/webhooks/{MISSING}/disable"),
            ("GET", f"/api/v1/webhooks/{MISSING}/deliveries"),
            ("GET", "/api/v1/deliveries"),
            ("POST", f"/api/v1/deliveries/{MISSING}/replay"),
        ),
        id_routes=(
            ("POST", "/api/v1/inbox/{}/read"),
            ("POST", "/api/v1/webhooks/{}/disable"),
            ("GET", "/api/v1/webhooks/{}/deliveries"),
            ("POST", "/api/v1/deliveries/{}/replay"),
        ),
    ),
}


@pytest.fixture(params=SERVICES)
def service(request) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(name, base URL) of each service in turn."""
    return request.param, request.getfixturevalue(SPECS[request.param].fixture)


# --- Helpers ------------------------------------------------------------------------------------------


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(base: str, method: str, target: bytes | str, headers: dict[str, str], body: bytes = b"") -> Raw:
    """One request exactly as written: no client normalises the path, encodes the body or checks the length."""
    parts = urlsplit(base)
    assert parts.hostname and parts.port
    target_bytes = target.encode("latin-1") if isinstance(target, str) else target
    lines = {"Host": f"{parts.hostname}:{parts.port}", "Connection": "close", "Content-Length": str(len(body))}
    lines.update(headers)
    head = b"%s %s HTTP/1.1\r\n" % (method.encode(), target_bytes)
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in lines.items()) + b"\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        data = response.read()
    return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


def json_error(
    status: int,
    content_type: str,
    body: bytes,
    expected: int | Collection[int],
    code: str | None = None,
    where: str = "",
) -> dict[str, Any]:
    """The platform's error: the expected 4xx, JSON, a message in each language, fields named in both."""
    statuses = (expected,) if isinstance(expected, int) else tuple(expected)
    assert status in statuses, f"{where}: {status}, not {statuses}: {body[:400]!r}"
    assert content_type.startswith("application/json"), f"{where}: {content_type!r}: {body[:200]!r}"
    error = json.loads(body)["error"]
    assert error["message_vi"] and error["message_en"], f"{where}: {error}"
    assert error["message_vi"] != error["message_en"], f"{where}: no Vietnamese message: {error}"
    if code is not None:
        assert error["code"] == code, f"{where}: {error}"
    if "fields" in error:
        assert set(error["fields_vi"]) == set(error["fields"]), f"{where}: {error}"
    return error


def refused(answer: requests.Response | Raw, expected: int | Collection[int], code: str | None = None) -> dict:
    if isinstance(answer, Raw):
        return json_error(answer.status, answer.headers.get("content-type", ""), answer.body, expected, code)
    where = f"{answer.request.method} {answer.request.path_url}"
    return json_error(answer.status_code, answer.headers.get("Content-Type", ""), answer.content, expected, code, where)


def tables(db_url: str) -> set[str]:
    return {r["tablename"] for r in rows(db_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


# --- Oversized bodies: 413 before the body is read -----------------------------------------------------


def test_an_oversized_json_body_is_413(service: tuple[str, str]) -> None:
    name, base = service
    spec = SPECS[name]
    method, path = spec.body_route
    headers = {**spec.body_caller, "Content-Type": "application/json"}
    body = json.dumps({"note": "a" * MAX_JSON}).encode()
    refused(requests.request(method, f"{base}{path}", data=body, headers=headers, timeout=30), 413, "payload_too_large")
    # A declared length over the limit is refused from the headers alone: the service answers at once
    # instead of waiting for 50 MB that never come.
    lying = raw_request(base, method, path, {**headers, "Content-Length": str(50 * MAX_JSON)}, b"{}")
    refused(lying, 413, "payload_too_large")
    # Just under the limit is read and judged on its content.
    fits = json.dumps({"note": "a" * (MAX_JSON - 100)}).encode()
    answer = requests.request(method, f"{base}{path}", data=fits, headers=headers, timeout=30)
    assert answer.status_code != 413 and answer.status_code < 500, answer.text[:300]


def test_a_bulk_upload_over_its_limit_is_413_from_the_declared_length(api: str) -> None:
    team = token("support_team", UNIT, "tht-kl")
    declared = {**team, "Content-Type": "text/csv", "Content-Length": str(200 * 1024 * 1024 + 1)}
    refused(raw_request(api, "POST", "/api/v1/initiatives/bulk", declared, b"title\r\n"), 413, "payload_too_large")


# --- Deeply nested JSON: a 4xx, never a 500 -------------------------------------------------------------

# Python's json parser gives up near 1,000 levels with a RecursionError: read_json answers 400 then.
DEPTHS = [
    64,
    512,
    900,
    1_000,
    100_000,
]


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_json_is_a_4xx(service: tuple[str, str], depth: int) -> None:
    name, base = service
    spec = SPECS[name]
    method, path = spec.body_route
    headers = {**spec.body_caller, "Content-Type": "application/json"}
    for body in (
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b'{"title": ' + b"[" * depth + b"]" * depth + b"}",
    ):
        answer = requests.request(method, f"{base}{path}", data=body, headers=headers, timeout=30)
        refused(answer, (400, 422))


# --- Invalid UTF-8: 400 malformed_json; not-Unicode JSON escapes: a field-level 422 ---------------------

INVALID_UTF8 = {
    "lone 0xff": b'{"title": "\xff"}',
    "overlong slash": b'{"title": "\xc0\xaf"}',
    "stray continuation": b'{"title": "\x80abc"}',
    "truncated sequence": b'{"title": "C\xe1\xba"}',
    "windows-1258 text": b'{"title": "C\xf4ng \xf0o\xe0n"}',
}


def test_invalid_utf8_bodies_are_400(service: tuple[str, str]) -> None:
    name, base = service
    spec = SPECS[name]
    method, path = spec.body_route
    headers = {**spec.body_caller, "Content-Type": "application/json; charset=utf-8"}
    for label, body in INVALID_UTF8.items():
        answer = requests.request(method, f"{base}{path}", data=body, headers=headers, timeout=30)
        try:
            refused(answer, 400, "malformed_json")
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from exc
    # Python's json decodes a UTF-8-encoded surrogate (ED A0 80) to a lone surrogate, which is not
    # Unicode: refused field by field (422), like the escape "\\ud800".
    for body in (b'{"title": "\xed\xa0\x80"}', b'{"title": "\\ud800"}'):
        answer = requests.request(method, f"{base}{path}", data=body, headers=headers, timeout=30)
        assert "title" in refused(answer, 422, "validation_failed")["fields"], answer.text
    # Invalid UTF-8 in the query string or the token is a 4xx too.
    first_get = next((m, p) for m, p in spec.secured if m == "GET")
    answer = raw_request(base, "GET", f"{first_get[1].split('?')[0]}?programme=%ff%fe&unit=%c0%ae", ADMIN)
    assert 200 <= answer.status < 500, answer.body[:300]
    if answer.status >= 400:
        refused(answer, (400, 404, 422))
    forged = raw_request(base, first_get[0], first_get[1], {"Authorization": "Bearer \xff\xfe\xfd"})
    refused(forged, 401)


# --- SQL, HTML and template injection in text fields ----------------------------------------------------


def _accepted_or_refused(answer: requests.Response, ok: int) -> bool:
    """True if stored; a refusal must be a field-level 4xx."""
    if answer.status_code == ok:
        return True
    refused(answer, (400, 422))
    return False


def test_injection_text_is_stored_and_returned_byte_for_byte_by_submission(api: str, db_url: str) -> None:
    before, registered = tables(db_url), count(db_url, "units")
    for n, bad in enumerate(INJECTIONS):
        body = initiative(
            title=bad,
            problem=bad,
            solution=f"{bad}\n{bad}",
            novelty=bad,
            scope=bad,
            benefit_description=bad,
            authors=[{"name": bad, "member_id": "dv-an", "share_percent": 100}],
        )
        # The Idempotency-Key header is text stored in SQL too (headers are Latin-1: ASCII strings only).
        key = {"Idempotency-Key": bad} if bad.isascii() else {}
        created = post(f"{api}/api/v1/initiatives", body, {**MEMBER, **key})
        assert created.status_code == 201, created.text
        assert created.headers["Content-Type"].startswith("application/json")
        read = requests.get(f"{api}/api/v1/initiatives/{created.json()['id']}", headers=MEMBER, timeout=10)
        for answer in (created, read):
            got = answer.json()
            assert [got[k] for k in ("title", "problem", "novelty", "scope", "benefit_description")] == [bad] * 5
            assert got["solution"] == f"{bad}\n{bad}" and got["authors"][0]["name"] == bad
        stored = rows(db_url, "SELECT title, problem FROM initiatives WHERE id = :id", id=created.json()["id"])
        assert stored == [{"title": bad, "problem": bad}]
        assert count(db_url, "initiatives") == n + 1
    # The same strings as filters select nothing (they are values, not SQL) and as a unit are refused.
    for bad in INJECTIONS:
        listed = requests.get(
            f"{api}/api/v1/initiatives", params={"programme": bad, "phase": bad}, headers=MEMBER, timeout=10
        )
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
        refused(requests.get(f"{api}/api/v1/initiatives", params={"unit": bad}, headers=MEMBER, timeout=10), 422)
        refused(requests.get(f"{api}/api/v1/initiatives", params={"cursor": bad}, headers=MEMBER, timeout=10), 422)
        units = requests.get(f"{api}/api/v1/units", params={"top": bad}, timeout=10)
        assert units.status_code == 200 and units.json()["items"] == [], units.text
    assert tables(db_url) == before
    assert count(db_url, "initiatives") == len(INJECTIONS) and count(db_url, "outbox") == len(INJECTIONS)
    assert count(db_url, "units") == registered >= 91  # the seeded registry is all there, nothing dropped


def test_unpaired_surrogates_are_a_field_level_422_not_a_500(api: str, db_url: str) -> None:
    """`"\\ud800"` is valid JSON but not Unicode: PostgreSQL cannot store it, so it is refused by name."""
    raw = json.dumps(initiative(), ensure_ascii=True).replace('"title": "C', '"title": "\\ud800C', 1)
    answer = requests.post(
        f"{api}/api/v1/initiatives", data=raw, headers={**MEMBER, "Content-Type": "application/json"}, timeout=10
    )
    error = refused(answer, 422, "validation_failed")
    assert set(error["fields"]) == {"title"} and "surrogate" in error["fields_vi"]["title"][0], error
    authors = json.dumps(initiative(authors=[{"name": "\udc00", "member_id": "dv-an", "share_percent": 100}]))
    answer = requests.post(
        f"{api}/api/v1/initiatives", data=authors, headers={**MEMBER, "Content-Type": "application/json"}, timeout=10
    )
    assert set(refused(answer, 422)["fields"]) == {"authors.0.name"}
    assert count(db_url, "initiatives") == 0


def test_injection_text_reaches_review_intact_and_review_notes_are_returned_byte_for_byte(  # type: ignore[no-untyped-def]
    api, review_api, review_db_url
) -> None:
    before = tables(review_db_url)
    bad = " | ".join(INJECTIONS)
    created = post(f"{api}/api/v1/initiatives", initiative(title=bad, problem=bad), MEMBER)
    assert created.status_code == 201, created.text
    file_url = f"{review_api}/api/v1/reviews/{created.json()['id']}"
    wait_for(lambda: requests.get(file_url, headers=REVIEWER, timeout=5).status_code == 200, timeout=30)
    review = requests.get(file_url, headers=REVIEWER, timeout=10).json()
    assert review["title"] == bad and review["content"]["problem"] == bad
    # A note with a lone surrogate is refused by name; the same note in real Unicode is kept as sent.
    surrogate = requests.post(
        f"{file_url}/accept", data='{"note": "x\\udfffy"}', headers={**REVIEWER, "Content-Type": "application/json"}
    )
    assert set(refused(surrogate, 422)["fields"]) == {"note"}
    accepted = post(f"{file_url}/accept", {"note": INJECTIONS[0]}, REVIEWER)
    assert accepted.status_code == 200, accepted.text
    returned = post(f"{file_url}/scores", {"novelty": 9, "applicability": 8, "benefit": 8, "comment": bad}, REVIEWER)
    assert returned.status_code == 200, returned.text
    assert [s["comment"] for s in returned.json()["scorecards"]] == [bad]
    rejected = post(f"{file_url}/decision", {"decision": "reject", "reason": INJECTIONS[4]}, REVIEWER)
    assert rejected.status_code == 200, rejected.text
    audit = rejected.json()["audit"]
    assert INJECTIONS[4] in [a["reason"] for a in audit], audit
    assert any(INJECTIONS[0] in json.dumps(a, ensure_ascii=False) for a in audit if a["action"] == "accept"), audit
    assert tables(review_db_url) == before and count(review_db_url, "cases") == 1


def test_injection_text_in_awards_is_data_and_the_open_data_csv_is_spreadsheet_safe(  # type: ignore[no-untyped-def]
    awards_api, awards_db_url, rabbit_config
) -> None:
    before = tables(awards_db_url)
    events = []
    for bad in INJECTIONS:
        submitted = ev.submitted(UNIT, title=bad, authors=[{"member_id": "dv-x", "share_percent": 100.0}])
        events += [submitted, ev.recognized(submitted)]
    for e in events:
        exchange = "submission.events" if e["source"] == "/vgcl/submission" else "review.events"
        publish(rabbit_config["AMQP_URI"], exchange, ev.routing_key(e), dumps(e))
    wait_for(lambda: count(awards_db_url, "inbox") == len(events), timeout=30)
    exported = requests.get(f"{awards_api}/api/v1/exports/open-data.csv", params={"programme": "LDST2026"}, timeout=30)
    assert exported.status_code == 200, exported.text
    titles = [r["title"] for r in csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")))]
    # Byte for byte, except that a cell a spreadsheet would run as a formula starts with an apostrophe.
    assert sorted(titles) == sorted(f"'{t}" if t[0] in "=+-@" else t for t in INJECTIONS), titles
    # As query values and path ids the same strings are refused field by field.
    for bad in INJECTIONS:
        for path, params, name in (
            ("/api/v1/rankings", {"programme": bad}, "programme"),
            ("/api/v1/rankings", {"programme": "LDST2026", "scope": "top", "top": bad}, "top"),
            ("/api/v1/ledger", {"unit": bad}, "unit"),
            ("/api/v1/targets", {"programme": "LDST2026", "unit": bad}, "unit"),
            (f"/api/v1/standings/{quote(bad, safe='')}", {"programme": "LDST2026"}, "unit"),
        ):
            answer = requests.get(f"{awards_api}{path}", params=params, headers=ADMIN, timeout=10)
            if answer.status_code == 404:  # a slash in the id: no such route
                refused(answer, 404)
                continue
            assert name in refused(answer, 422)["fields"], answer.text
    assert tables(awards_db_url) == before and count(awards_db_url, "facts") == len(INJECTIONS)


def test_injection_text_in_notify_is_rendered_as_text_and_stored_as_sent(  # type: ignore[no-untyped-def]
    notify_api, notify_db_url, rabbit_config
) -> None:
    before = tables(notify_db_url)
    sub = "dv-inj"
    for n, bad in enumerate(INJECTIONS, 1):
        event = ev.submitted(
            UNIT,
            title=bad,
            authors=[{"member_id": sub, "share_percent": 100.0}],
            submitted_by={"member_id": sub, "role": "member"},
        )
        publish(rabbit_config["AMQP_URI"], "submission.events", ev.routing_key(event), dumps(event))
        wait_for(lambda n=n: count(notify_db_url, "inbox") >= n, timeout=20)
    inbox = requests.get(
        f"{notify_api}/api/v1/inbox", params={"limit": 50}, headers=token("member", UNIT, sub), timeout=10
    )
    assert inbox.status_code == 200 and inbox.json()["total"] == len(INJECTIONS), inbox.text
    # Plain-text templates: the title is neither escaped (&amp;) nor evaluated ({{ 7*7 }} stays as written).
    for message, bad in zip(inbox.json()["items"], reversed(INJECTIONS), strict=True):
        assert f"«{bad}»" in message["subject"] and f"«{bad}»" in message["body"], message
    # A subscription secret and URL full of SQL and HTML are kept as sent (the secret is never shown).
    secret = "'; DROP TABLE webhook_subscriptions; -- <script>"
    url = "https://hooks.example.vn/nhan?x=%27%3B%20DROP%20TABLE%20deliveries%3B--"
    body = {"url": url, "secret": secret, "event_types": ["initiative.submitted"]}
    hook = post(f"{notify_api}/api/v1/webhooks", body, ADMIN)
    assert hook.status_code == 201, hook.text
    assert hook.json()["url"] == url and "secret" not in hook.json()
    assert rows(notify_db_url, "SELECT url, secret FROM webhook_subscriptions") == [{"url": url, "secret": secret}]
    for bad in INJECTIONS:
        answer = post(f"{notify_api}/api/v1/webhooks", {**body, "url": bad}, ADMIN)
        assert "url" in refused(answer, 422)["fields"]
        answer = requests.get(f"{notify_api}/api/v1/preferences", params={"mailbox": bad}, headers=ADMIN, timeout=10)
        assert "mailbox" in refused(answer, 422)["fields"]
    surrogate = requests.post(
        f"{notify_api}/api/v1/webhooks",
        data=json.dumps({**body, "secret": "x" * 16}).replace('"x', '"\\ud800x', 1),
        headers={**ADMIN, "Content-Type": "application/json"},
        timeout=10,
    )
    assert set(refused(surrogate, 422)["fields"]) == {"secret"}
    assert tables(notify_db_url) == before and count(notify_db_url, "webhook_subscriptions") == 1


# --- Path traversal and odd ids: a JSON 4xx, never a 500, never another resource --------------------------

ODD_IDS = {
    "dot-dot slash": "../",
    "dot-dot twice": "../../etc/passwd",
    "encoded dot-dot slash": "%2e%2e%2f",
    "encoded slash": "..%2f..%2fetc%2fpasswd",
    "double encoded": "%252e%252e%252f",
    "backslashes": "..%5c..%5cwindows",
    "overlong utf-8 dots": "%c0%ae%c0%ae%2f",
    "NUL": "%00",
    "NUL inside": "HN%00.json",
    "invalid utf-8": "%ff%fe",
    "SQL": "'%20OR%20'1'='1",
    "HTML": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "very long": "A" * 4000,
}


def test_path_traversal_and_odd_ids_are_json_4xx(service: tuple[str, str]) -> None:
    name, base = service
    problems = []
    for method, template in SPECS[name].id_routes:
        for label, odd in ODD_IDS.items():
            target = template.replace("{}", odd)
            body = b"{}" if method in ("POST", "PUT") else b""
            answer = raw_request(base, method, target, {**ADMIN, "Content-Type": "application/json"}, body)
            try:
                refused(answer, (400, 403, 404, 405, 422))
            except (AssertionError, ValueError, KeyError) as exc:
                problems.append(f"{method} {template} with {label}: {answer.status} {exc}")
    # A raw NUL in the request line is refused too.
    nul = raw_request(base, "GET", SPECS[name].id_routes[0][1].replace("{}", "a\x00b").encode("latin-1"), ADMIN)
    if not 400 <= nul.status < 500:
        problems.append(f"raw NUL: {nul.status} {nul.body[:200]!r}")
    assert not problems, "\n".join(problems)


def test_an_id_that_decodes_to_a_slash_is_a_json_404_not_a_redirect(review_api: str) -> None:
    refused(raw_request(review_api, "GET", "/api/v1/councils/%2e%2e%2f/members/hd-1", ADMIN), 404)


LONG_URL_JSON = "the 414 comes from eventlet's wsgi server before the app: an empty body, not the JSON error"


def test_a_request_line_over_8_kib_is_414_not_a_500(service: tuple[str, str]) -> None:
    name, base = service
    method, template = SPECS[name].id_routes[0]
    answer = raw_request(base, method, template.replace("{}", "A" * 9000), ADMIN)
    assert answer.status == 414, answer


@pytest.mark.xfail(strict=True, reason=LONG_URL_JSON)
def test_a_request_line_over_8_kib_is_answered_with_the_json_error(api: str) -> None:
    refused(raw_request(api, "GET", "/api/v1/units/" + "A" * 9000, {}), 414)


# --- Tokens: forged, expired, unsigned --------------------------------------------------------------------


def _tokens() -> dict[str, tuple[str, str]]:
    """label -> (Authorization header, the error code it must get)."""
    now = int(time.time())
    secret = setting("JWT_SECRET")
    claims = {"sub": "ad-x", "role": "national_admin", "unit": "VGCL", "iat": now, "exp": now + 600}

    def signed(payload: dict[str, Any], key: str = secret, algorithm: str = "HS256", **header: Any) -> str:
        return "Bearer " + jwt.encode(payload, key, algorithm, headers=header or None)

    none = jwt.encode(claims, None, "none")
    return {
        "wrong key": (signed(claims, "k" * 40), "token_invalid"),
        "right key, claims changed after signing": (
            "Bearer " + _swap_payload(signed(claims, secret)[7:], {**claims, "unit": "HN"}),
            "token_invalid",
        ),
        "expired": (signed({**claims, "exp": now - 30}), "token_expired"),
        "expired long ago": (signed({**claims, "iat": 0, "exp": 1}), "token_expired"),
        "alg none": (f"Bearer {none}", "token_invalid"),
        "alg None, signature kept": (
            "Bearer " + _with_header(signed(claims)[7:], {"alg": "None", "typ": "JWT"}),
            "token_invalid",
        ),
        "alg none, empty signature": (
            "Bearer " + _with_header(signed(claims)[7:], {"alg": "none"}, ""),
            "token_invalid",
        ),
        "HS512 with the right key": (signed(claims, secret, "HS512"), "token_invalid"),
        "no expiry": (signed({k: v for k, v in claims.items() if k != "exp"}), "token_invalid"),
        "unknown role": (signed({**claims, "role": "superuser"}), "token_claims"),
    }


def _b64(data: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _swap_payload(token_: str, payload: dict[str, Any]) -> str:
    head, _, signature = token_.split(".")
    return f"{head}.{_b64(payload)}.{signature}"


def _with_header(token_: str, header: dict[str, Any], signature: str | None = None) -> str:
    _, body, kept = token_.split(".")
    return f"{_b64(header)}.{body}.{kept if signature is None else signature}"


TOKEN_LABELS = list(_tokens())


@pytest.mark.parametrize("label", TOKEN_LABELS)
def test_forged_expired_and_unsigned_tokens_are_401(service: tuple[str, str], label: str) -> None:
    name, base = service
    authorization, code = _tokens()[label]
    for method, path in SPECS[name].secured:
        kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT") else {}
        answer = requests.request(
            method, f"{base}{path}", headers={"Authorization": authorization}, timeout=10, **kwargs
        )
        refused(answer, 401, code)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), answer.headers


# --- One unit's token on another unit's data: 403/404, nothing changed -------------------------------------

THO = "THO-KKT-C001"  # a grassroots union of Thanh Hóa: another top-level unit


def test_a_token_of_another_unit_cannot_reach_submission_data(api: str, db_url: str) -> None:
    created = post(f"{api}/api/v1/initiatives", initiative(), MEMBER)
    assert created.status_code == 201
    url = f"{api}/api/v1/initiatives/{created.json()['id']}"
    member_body = {"member_id": "dv-kl", "full_name": "Lê Văn Kiên", "unit": UNIT, "email": "kien@example.vn"}
    assert post(f"{api}/api/v1/members", member_body, token("support_team", UNIT)).status_code == 201
    before = rows(db_url, "SELECT status, updated_at FROM initiatives")
    for role in ("member", "support_team", "reviewer", "unit_admin"):
        for unit in (THO, "THO", "HN-KL-C002"):
            other = token(role, unit, f"{role}-{unit}")
            refused(requests.get(url, headers=other, timeout=10), 404, "not_found")
            refused(post(f"{url}/withdraw", {"reason": "rút hộ"}, other), 404, "not_found")
            refused(post(f"{url}/resubmit", initiative(), other), (404, 422))
            refused(requests.get(f"{api}/api/v1/members/dv-kl", headers=other, timeout=10), 404, "not_found")
            if role != "member":  # a member's list is their own initiatives wherever they look
                answer = requests.get(f"{api}/api/v1/initiatives", params={"unit": UNIT}, headers=other, timeout=10)
                refused(answer, 403, "forbidden")
            listed = requests.get(f"{api}/api/v1/members", params={"unit": UNIT}, headers=other, timeout=10)
            refused(listed, 403, "forbidden")
    assert rows(db_url, "SELECT status, updated_at FROM initiatives") == before


def test_a_token_of_another_unit_cannot_reach_review_data(api, review_api, review_db_url) -> None:  # type: ignore[no-untyped-def]
    created = post(f"{api}/api/v1/initiatives", initiative(), MEMBER)
    file_url = f"{review_api}/api/v1/reviews/{created.json()['id']}"
    wait_for(lambda: requests.get(file_url, headers=REVIEWER, timeout=5).status_code == 200, timeout=30)
    audit = count(review_db_url, "audit_trail")
    for unit in (THO, "THO", "HN-KL-C002"):
        for role in ("reviewer", "unit_admin"):
            other = token(role, unit, f"{role}-{unit}")
            refused(requests.get(file_url, headers=other, timeout=10), 403, "forbidden")
            refused(post(f"{file_url}/accept", {"note": "ngoài phạm vi"}, other), 403, "forbidden")
        refused(
            requests.put(
                f"{review_api}/api/v1/councils/HN/members/hd-x", json={}, headers=token("unit_admin", unit), timeout=10
            ),
            403,
            "forbidden",
        )
    assert count(review_db_url, "audit_trail") == audit and count(review_db_url, "council_members") == 0


def test_a_token_of_another_unit_cannot_reach_awards_data(awards_api, awards_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    submitted = ev.submitted(
        UNIT, benefit_vnd_per_year=100_000_000, authors=[{"member_id": "dv-a", "share_percent": 100.0}]
    )
    # The unit registry reaches awards as events, like in production.
    registry = [ev.unit_registered(code) for code in ("HN", "HN-KL", UNIT, "HN-KL-C002", "THO", "THO-KKT", THO)]
    for e in (*registry, submitted, ev.recognized(submitted)):
        exchange = "submission.events" if e["source"] == "/vgcl/submission" else "review.events"
        publish(rabbit_config["AMQP_URI"], exchange, ev.routing_key(e), dumps(e))
    wait_for(lambda: count(awards_db_url, "inbox") == len(registry) + 2, timeout=30)
    wait_for(lambda: count(awards_db_url, "ledger") > 0, timeout=30)
    entry = rows(awards_db_url, "SELECT id FROM ledger WHERE amount_vnd IS NOT NULL LIMIT 1")[0]["id"]
    for unit in (THO, "THO", "HN-KL-C002"):
        admin = token("unit_admin", unit, f"ad-{unit}")
        refused(requests.post(f"{awards_api}/api/v1/ledger/{entry}/paid", headers=admin, timeout=10), 403, "forbidden")
        report = requests.get(
            f"{awards_api}/api/v1/reports/{UNIT}",
            params={"programme": "LDST2026", "period": "2026"},
            headers=admin,
            timeout=10,
        )
        refused(report, 403, "forbidden")
        for role in ("member", "support_team", "reviewer", "unit_admin"):
            page = requests.get(f"{awards_api}/api/v1/ledger", headers=token(role, unit, f"{role}-x"), timeout=10)
            assert page.status_code == 200 and page.json()["items"] == [], (role, unit, page.text)
    assert rows(awards_db_url, "SELECT count(*) AS n FROM ledger WHERE paid_at IS NOT NULL") == [{"n": 0}]


def test_a_token_of_another_unit_cannot_reach_notify_data(notify_api, notify_db_url, rabbit_config) -> None:  # type: ignore[no-untyped-def]
    hn_admin = token("unit_admin", "HN", "ad-hn")
    hook = post(
        f"{notify_api}/api/v1/webhooks",
        {
            "url": "https://hooks.example.vn/hn",
            "secret": "s" * 20,
            "event_types": ["initiative.submitted"],
            "units": ["HN"],
        },
        hn_admin,
    )
    assert hook.status_code == 201, hook.text
    event = ev.submitted(
        UNIT,
        authors=[{"member_id": "dv-an", "share_percent": 100.0}],
        submitted_by={"member_id": "dv-an", "role": "member"},
    )
    publish(rabbit_config["AMQP_URI"], "submission.events", ev.routing_key(event), dumps(event))
    wait_for(lambda: count(notify_db_url, "messages") >= 2, timeout=20)  # the author's and the unit's reviewers'
    message = rows(notify_db_url, "SELECT id FROM messages WHERE recipient = 'member:dv-an'")[0]["id"]
    for unit in (THO, "THO"):
        admin = token("unit_admin", unit, f"ad-{unit}")
        refused(post(f"{notify_api}/api/v1/webhooks/{hook.json()['id']}/disable", {}, admin), 404, "not_found")
        refused(
            requests.get(f"{notify_api}/api/v1/webhooks/{hook.json()['id']}/deliveries", headers=admin, timeout=10), 404
        )
        assert requests.get(f"{notify_api}/api/v1/webhooks", headers=admin, timeout=10).json() == []
        hn_hook = {"url": "https://hooks.example.vn/x", "secret": "t" * 20, "event_types": ["initiative.submitted"]}
        refused(post(f"{notify_api}/api/v1/webhooks", {**hn_hook, "units": ["HN"]}, admin), 403, "forbidden")
        for mailbox in (f"reviewer@{UNIT}", "unit_admin@HN"):
            answer = requests.get(
                f"{notify_api}/api/v1/preferences", params={"mailbox": mailbox}, headers=admin, timeout=10
            )
            refused(answer, 403, "forbidden")
        for role in ("member", "reviewer", "unit_admin"):
            other = token(role, unit, "dv-khac")
            refused(post(f"{notify_api}/api/v1/inbox/{message}/read", {}, other), 404, "not_found")
            assert requests.get(f"{notify_api}/api/v1/inbox", headers=other, timeout=10).json()["total"] == 0
    assert rows(notify_db_url, "SELECT count(*) AS n FROM messages WHERE read_at IS NOT NULL") == [{"n": 0}]
    assert rows(notify_db_url, "SELECT active FROM webhook_subscriptions") == [{"active": True}]


# --- Webhooks: a receiver recognises a replayed delivery --------------------------------------------------


def _sink() -> Any:
    """scripts/webhook_sink.py, the receiver `make run` starts: its signature check, as shipped."""
    spec = importlib.util.spec_from_file_location("webhook_sink", ROOT / "scripts" / "webhook_sink.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Receiver:
    """What a union system's receiver does with notify's deliveries: check the signature over the
    timestamp and the body, refuse stale timestamps, and remember the event ids it has applied."""

    def __init__(self, secret: str, tolerance: int = 300) -> None:
        self.secret, self.tolerance, self.seen = secret.encode(), tolerance, set[str]()

    def receive(self, signature: str, body: bytes, now: float) -> str:
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        expected = hmac.new(self.secret, f"{parts.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            return "forged"
        if abs(now - int(parts["t"])) > self.tolerance:
            return "stale"
        event_id = json.loads(body)["id"]  # inside the signed content: a replay cannot change it
        if event_id in self.seen:
            return "replayed"
        self.seen.add(event_id)
        return "applied"


def test_a_receiver_recognises_a_replayed_webhook_delivery(  # type: ignore[no-untyped-def]
    container_factory, make_config, notify_db_url, rabbit_config, provider
) -> None:
    base = _start_notify(container_factory, make_config, notify_db_url)
    secret = "s3cret-of-the-thanh-hoa-union-system"
    answer = post(
        f"{base}/api/v1/webhooks",
        {"url": provider.url("/hooks/replay"), "secret": secret, "event_types": ["initiative.submitted"]},
        ADMIN,
    )
    assert answer.status_code == 201, answer.text
    first, second = (ev.submitted(THO) for _ in range(2))
    for event in (first, second):
        publish(rabbit_config["AMQP_URI"], "submission.events", ev.routing_key(event), dumps(event))
    delivered = provider.wait("/hooks/replay", 2, timeout=20)
    receiver = Receiver(secret)
    by_event = {}
    for request in delivered:
        signature = request.header("X-VGCL-Signature")
        t = int(dict(p.split("=", 1) for p in signature.split(","))["t"])
        assert abs(time.time() - t) < 120, signature  # signed when sent, not when subscribed
        assert receiver.receive(signature, request.raw, now=t) == "applied"
        by_event[json.loads(request.raw)["id"]] = request
    assert set(by_event) == {first["id"], second["id"]}  # each delivery names its own event, signed
    original = by_event[first["id"]]
    signature, body = original.header("X-VGCL-Signature"), original.raw
    t = int(dict(p.split("=", 1) for p in signature.split(","))["t"])
    # The same request again, at once: recognised by its event id.
    assert receiver.receive(signature, body, now=t + 1) == "replayed"
    # Later: stale by its signed timestamp, even for a receiver that forgot its ids.
    assert Receiver(secret).receive(signature, body, now=t + 301) == "stale"
    # A fresh timestamp or another event id cannot be put in without the secret.
    v1 = signature.split("v1=")[1]
    assert receiver.receive(f"t={t + 301},v1={v1}", body, now=t + 301) == "forged"
    assert receiver.receive(signature, body.replace(first["id"].encode(), uuid.uuid4().hex.encode()), now=t) == "forged"
    assert Receiver("another-subscribers-secret").receive(signature, body, now=t) == "forged"
    # The receiver `make run` ships accepts the real delivery (its clock is now, within tolerance).
    sink = _sink()
    sink.SECRET = secret.encode()
    assert sink.verified(signature, body) is True
    assert sink.verified(f"t={t - 400},v1={v1}", body) is False
