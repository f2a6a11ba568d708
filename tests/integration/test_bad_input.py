"""Bad input gets a 4xx with field-level messages in both languages and writes nothing."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from chassis.config import setting
from submission.bulk import REQUIRED_COLUMNS
from tests.conftest import token
from tests.factories import UNIT, initiative
from tests.integration.conftest import count

MEMBER = token("member", UNIT, "dv-an")


def _bad_bodies() -> list[tuple[str, object, int, str | None]]:
    ok = initiative()
    missing = {k: v for k, v in ok.items() if k not in ("title", "authors")}
    return [
        ("wrong types", initiative(target_group="năm", benefit_vnd_per_year="nhiều"), 422, "target_group"),
        ("missing fields", missing, 422, "title"),
        (
            "shares not 100",
            initiative(authors=[{"name": "A", "member_id": "dv-an", "share_percent": 70}]),
            422,
            "authors",
        ),
        ("unknown unit", initiative(unit="HN-NOPE-C999"), 422, "unit"),
        ("not grassroots", initiative(unit="HN-KL"), 422, "unit"),
        ("unknown programme", initiative(programme="NOPE"), 422, "programme"),
        ("closed programme", initiative(programme="TRIEUSANGKIEN"), 422, "programme"),
        ("future date", initiative(first_applied_on="2999-01-01"), 422, "first_applied_on"),
        ("oversized text", initiative(solution="x" * 20_001), 422, "solution"),
        ("unknown field", initiative(colour="đỏ"), 422, "colour"),
        ("not an object", [initiative()], 422, "_body"),
        (
            "not the author",
            initiative(authors=[{"name": "B", "member_id": "dv-b", "share_percent": 100}]),
            422,
            "authors",
        ),
    ]


@pytest.mark.parametrize(("case", "body", "status", "field"), _bad_bodies(), ids=[c[0] for c in _bad_bodies()])
def test_bad_bodies(api, db_url, case, body, status, field) -> None:  # type: ignore[no-untyped-def]
    response = requests.post(f"{api}/api/v1/initiatives", json=body, headers=MEMBER, timeout=10)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message_vi"] and error["message_en"]
    assert field in error["fields"] and field in error["fields_vi"]
    assert count(db_url, "initiatives") == 0 and count(db_url, "outbox") == 0


def test_malformed_json_wrong_type_and_size(api, db_url) -> None:  # type: ignore[no-untyped-def]
    url = f"{api}/api/v1/initiatives"
    json_headers = {**MEMBER, "Content-Type": "application/json"}
    malformed = requests.post(url, data=b'{"title": "x",', headers=json_headers, timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    not_utf8 = requests.post(url, data=b'{"title": "\xff"}', headers=json_headers, timeout=10)
    assert not_utf8.status_code == 400
    wrong_type = requests.post(
        url, data="title=x", headers={**MEMBER, "Content-Type": "application/x-www-form-urlencoded"}, timeout=10
    )
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["code"] == "unsupported_media_type"
    huge = requests.post(url, data=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=json_headers, timeout=10)
    assert huge.status_code == 413
    assert count(db_url, "initiatives") == 0 and count(db_url, "outbox") == 0


def test_tokens(api, db_url) -> None:  # type: ignore[no-untyped-def]
    url = f"{api}/api/v1/initiatives"
    assert requests.post(url, json=initiative(), timeout=10).status_code == 401
    expired = jwt.encode(
        {"sub": "dv-an", "role": "member", "unit": UNIT, "exp": int(time.time()) - 1}, setting("JWT_SECRET"), "HS256"
    )
    response = requests.post(url, json=initiative(), headers={"Authorization": f"Bearer {expired}"}, timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_expired"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    forged = jwt.encode(
        {"sub": "x", "role": "national_admin", "unit": "VGCL", "exp": int(time.time()) + 60}, "k" * 40, "HS256"
    )
    assert (
        requests.post(url, json=initiative(), headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code
        == 401
    )
    out_of_scope = requests.post(url, json=initiative(), headers=token("support_team", "THO"), timeout=10)
    assert out_of_scope.status_code == 403 and out_of_scope.json()["error"]["message_vi"]
    reviewer = requests.post(url, json=initiative(), headers=token("reviewer", "HN"), timeout=10)
    assert reviewer.status_code == 403
    assert count(db_url, "initiatives") == 0 and count(db_url, "outbox") == 0


def test_unknown_paths_and_methods_answer_json(api) -> None:  # type: ignore[no-untyped-def]
    missing = requests.get(f"{api}/api/v1/nope", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = requests.delete(f"{api}/api/v1/initiatives", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    cursor = requests.get(
        f"{api}/api/v1/initiatives", params={"cursor": "!!"}, headers=token("reviewer", "HN"), timeout=10
    )
    assert cursor.status_code == 422 and "cursor" in cursor.json()["error"]["fields"]
    limit = requests.get(
        f"{api}/api/v1/initiatives", params={"limit": "0"}, headers=token("reviewer", "HN"), timeout=10
    )
    assert limit.status_code == 422


def test_nul_characters_are_refused_not_crashed_on(api, db_url) -> None:  # type: ignore[no-untyped-def]
    body = requests.post(f"{api}/api/v1/initiatives", json=initiative(title="a\x00b"), headers=MEMBER, timeout=10)
    assert body.status_code == 400 and body.json()["error"]["code"] == "invalid_characters"
    query = requests.get(f"{api}/api/v1/units", params={"parent": "H\x00N"}, timeout=10)
    assert query.status_code == 400
    path = requests.get(f"{api}/api/v1/units/H%00N", timeout=10)
    assert path.status_code == 400
    rows = "\n".join(
        [
            ",".join(REQUIRED_COLUMNS),
            ",".join(["a\x00b", "other", "5", "p", "s", "n", "sc", UNIT, "LDST2026", "A", "100"]),
        ]
    )
    bulk = requests.post(
        f"{api}/api/v1/initiatives/bulk",
        data=rows.encode(),
        headers={**token("support_team", "HN-KL"), "Content-Type": "text/csv"},
        timeout=10,
    )
    assert bulk.status_code == 200 and bulk.json()["rejected"] == 1, bulk.text
    assert count(db_url, "initiatives") == 0
