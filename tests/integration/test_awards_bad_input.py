"""Awards API: bad input, callers out of scope and missing tokens get a 4xx and change nothing.

One awards service runs for the whole module, on its own RabbitMQ virtual host and its own
database, fed once with the hand-computed example of test_awards_flow.py and the year's rules run
once (certificates, benefit rewards), so that the many parametrised cases share it. Every refused
request is checked to leave the ledger (row by row), the outbox, the certificate series and the
rank snapshots as they were, and every refusal to be the platform's JSON error, never a 500.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
import pytest
import requests
from nameko.containers import get_container_cls
from sqlalchemy import Engine, create_engine, text

from awards.service import AwardsService
from chassis.config import nameko_config, setting
from chassis.db import normalize_url
from tests.conftest import create_database, drop_database, free_port, migrate, token
from tests.event_factories import unit_path
from tests.integration.conftest import wait_for
from tests.integration.test_awards_flow import example, send

PROGRAMME = "LDST2026"
ADMIN = token("national_admin", "VGCL", "ad-tw")
ROLES = ("member", "support_team", "reviewer", "unit_admin", "national_admin", "operator")
NATIONAL_ROLES = ("national_admin", "operator")
# What the refusal checks compare: every ledger row as text (a paid_at set is a change), the
# series, and the row counts of what a write would add to.
STATE_SQL = (
    "SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM outbox), (SELECT count(*) FROM rank_snapshots),"
    " (SELECT md5(coalesce(string_agg(l::text, '|' ORDER BY l.id), '')) FROM ledger l),"
    " (SELECT coalesce(string_agg(s.series || '=' || s.last_number, ',' ORDER BY s.series), '')"
    " FROM certificate_series s)"
)
STATE_KEYS = ("ledger", "outbox", "rank_snapshots", "ledger_rows", "certificate_series")


@dataclass
class World:
    api: str
    db: str
    engine: Engine

    def url(self, path: str) -> str:
        return f"{self.api}{path}"

    def state(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(zip(STATE_KEYS, conn.execute(text(STATE_SQL)).one(), strict=True))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def entries(self, where: str = "", **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT * FROM ledger {where} ORDER BY id"), params)
            return [dict(r._mapping) for r in rows]

    def entry(self, where: str, **params: Any) -> dict[str, Any]:
        found = self.entries(where, **params)
        assert found, f"no ledger entry {where} {params}"
        return found[0]


def refused(
    world: World,
    method: str,
    path: str,
    who: dict[str, str] | None,
    status: int,
    code: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Sends a request that must be refused with `status` (and `code`), and leave everything as it was."""
    before = world.state()
    answer = requests.request(method, world.url(path), headers=who, timeout=10, **kwargs)
    assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text[:600]}"
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert error["message_vi"] and error["message_en"], error
    if code is not None:
        assert error["code"] == code, error
    assert world.state() == before, f"refused {method} {path} changed something"
    return error


def invalid(
    world: World, method: str, path: str, field_name: str, who: dict[str, str] | None = ADMIN, **kwargs: Any
) -> dict[str, Any]:
    """A field-level 422 naming `field_name`, in English and in Vietnamese, that changed nothing."""
    error = refused(world, method, path, who, 422, "validation_failed", **kwargs)
    _vietnamese(error, field_name)
    return error


def _vietnamese(error: dict[str, Any], field_name: str) -> None:
    assert field_name in error["fields"] and field_name in error["fields_vi"], error
    assert error["fields_vi"][field_name] != error["fields"][field_name], f"fields_vi.{field_name}: {error}"


def _get(world: World, path: str, who: dict[str, str] = ADMIN, **params: Any) -> Any:
    answer = requests.get(world.url(path), params=params, headers=who, timeout=10)
    assert answer.status_code == 200, f"GET {path} {params}: {answer.status_code} {answer.text[:600]}"
    return answer.json()


def _run(world: World, body: Any, who: dict[str, str] = ADMIN) -> requests.Response:
    return requests.post(world.url("/api/v1/award-runs"), json=body, headers=who, timeout=30)


@pytest.fixture(scope="module")
def world(request, vhost_pipeline) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The awards service for the whole module, on a vhost and a database of its own, fed once."""
    broker = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    name = f"sangkien_abi_{os.getpid()}"
    db = create_database(name)
    engine = create_engine(normalize_url(db))
    container = None
    try:
        migrate(db, "awards")
        with vhost_pipeline.get() as vhost:
            amqp_uri = f"{broker.scheme}://{broker.netloc}/{vhost}"
            address = f"127.0.0.1:{free_port()}"
            config = nameko_config("awards", AMQP_URI=amqp_uri, DATABASE_URL=db, WEB_SERVER_ADDRESS=address, UNITS="*")
            container = get_container_cls(config)(AwardsService, config)
            container.start()
            built = World(api=f"http://{address}", db=db, engine=engine)
            events, _ = example()
            send(amqp_uri, events)
            wait_for(lambda: built.scalar("SELECT count(*) FROM inbox") == len(events), timeout=30)
            year = _run(built, {"programme": PROGRAMME, "period": "2026"})
            assert year.status_code == 201, year.text
            yield built
            container.kill()
            container = None
    finally:
        if container is not None:
            container.kill()
        engine.dispose()
        drop_database(name)


# --- Query parameters of the GET routes: field-level 422 -----------------------------------------

RANKINGS = "/api/v1/rankings"
LEDGER = "/api/v1/ledger"
TARGETS = "/api/v1/targets"
CHART = "/api/v1/charts/progress.png"
EXPORT = "/api/v1/exports/open-data.csv"
P = {"programme": PROGRAMME}
NOT_ASCII_DIGITS = ("²", "١٠", "１０", "৫")  # digits to str.isdigit(), not plain 0-9
BAD_PROGRAMMES = ("", "ldst2026", "LDST2026\n", "LDST 2026", "LĐST2026", "-LDST", "L" * 41, "LDST/../x")

BAD_QUERIES: list[tuple[str, dict[str, str], str]] = [
    # rankings
    (RANKINGS, {}, "programme"),
    *((RANKINGS, {"programme": p}, "programme") for p in BAD_PROGRAMMES),
    (RANKINGS, {**P, "metric": "ideas"}, "metric"),
    (RANKINGS, {**P, "metric": "SUBMITTED"}, "metric"),
    (RANKINGS, {**P, "metric": ""}, "metric"),
    (RANKINGS, {**P, "scope": "province"}, "scope"),
    (RANKINGS, {**P, "scope": "National"}, "scope"),
    (RANKINGS, {**P, "scope": ""}, "scope"),
    (RANKINGS, {**P, "scope": "cluster"}, "cluster"),
    (RANKINGS, {**P, "scope": "cluster", "cluster": "c1"}, "cluster"),
    (RANKINGS, {**P, "scope": "cluster", "cluster": "C1\n"}, "cluster"),
    (RANKINGS, {**P, "scope": "cluster", "cluster": ""}, "cluster"),
    (RANKINGS, {**P, "scope": "top"}, "top"),
    (RANKINGS, {**P, "scope": "top", "top": "hn"}, "top"),
    (RANKINGS, {**P, "scope": "top", "top": "HN\n"}, "top"),
    (RANKINGS, {**P, "scope": "top", "top": "H" * 65}, "top"),
    (RANKINGS, {**P, "scope": "top", "top": "HN", "level": "province"}, "level"),
    (RANKINGS, {**P, "level": "top"}, "level"),
    (RANKINGS, {**P, "as_of": "yesterday"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-13-01"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-02-30T00:00:00"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-06-01T25:00:00"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-06-01T00:00:00+25:00"}, "as_of"),
    (RANKINGS, {**P, "as_of": "２０２６-06-01"}, "as_of"),
    (RANKINGS, {**P, "as_of": ""}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-09-01T00:00:00+07:00", "scope": "top", "top": "HN"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-09-01T00:00:00+07:00", "metric": "progress"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-09-01T00:00:00+07:00", "metric": "participants"}, "as_of"),
    (RANKINGS, {**P, "as_of": "2026-09-01T00:00:00+07:00", "phase": "P1"}, "as_of"),
    *((RANKINGS, {**P, "limit": v}, "limit") for v in ("0", "5001", "-1", "abc", "1.5", "", " 10", *NOT_ASCII_DIGITS)),
    *((RANKINGS, {**P, "offset": v}, "offset") for v in ("-1", "1000001", "1e3", "0x10", *NOT_ASCII_DIGITS)),
    # a unit's standing and history
    ("/api/v1/standings/HN", {}, "programme"),
    *(("/api/v1/standings/HN", {"programme": p}, "programme") for p in BAD_PROGRAMMES),
    ("/api/v1/standings/HN/history", {}, "programme"),
    *(("/api/v1/standings/HN/history", {"programme": p}, "programme") for p in BAD_PROGRAMMES[:4]),
    *(("/api/v1/standings/HN/history", {**P, "days": v}, "days") for v in ("0", "732", "-1", "abc", *NOT_ASCII_DIGITS)),
    # targets
    (TARGETS, {}, "programme"),
    *((TARGETS, {"programme": p}, "programme") for p in BAD_PROGRAMMES[:4]),
    (TARGETS, {**P, "unit": "hn"}, "unit"),
    (TARGETS, {**P, "unit": "HN\n"}, "unit"),
    (TARGETS, {**P, "unit": "HN KL"}, "unit"),
    # the ledger
    (LEDGER, {"kind": "gold"}, "kind"),
    (LEDGER, {"kind": "Bonus"}, "kind"),
    (LEDGER, {"kind": ""}, "kind"),
    *((LEDGER, {"programme": p}, "programme") for p in BAD_PROGRAMMES[1:4]),
    (LEDGER, {"unit": "hn"}, "unit"),
    (LEDGER, {"unit": "HN\n"}, "unit"),
    (LEDGER, {"period": "2026-Q5"}, "period"),
    (LEDGER, {"period": "2026-H3"}, "period"),
    (LEDGER, {"period": "２０２６"}, "period"),
    (LEDGER, {"period": "2026\n"}, "period"),
    (LEDGER, {"period": "last year"}, "period"),
    *((LEDGER, {"limit": v}, "limit") for v in ("0", "501", "-1", "abc", "", *NOT_ASCII_DIGITS)),
    *((LEDGER, {"offset": v}, "offset") for v in ("-1", "10000001", "1.0", *NOT_ASCII_DIGITS)),
    # reports, the progress chart, the open-data export
    ("/api/v1/reports/HN", {"period": "2026-H1"}, "programme"),
    ("/api/v1/reports/HN", {"programme": "NOPE", "period": "2026-H1"}, "programme"),
    ("/api/v1/reports/HN", {"programme": "ldst2026", "period": "2026-H1"}, "programme"),
    ("/api/v1/reports/HN", P, "period"),
    *(("/api/v1/reports/HN", {**P, "period": v}, "period") for v in ("2026-Q1", "2026-H3", "２０２６", "2026\n", "26")),
    ("/api/v1/reports/HN", {**P, "period": "2026-H1", "format": "pdf"}, "format"),
    ("/api/v1/reports/HN", {**P, "period": "2026-H1", "format": "JSON"}, "format"),
    (CHART, {}, "programme"),
    (CHART, {"programme": "NOPE"}, "programme"),
    (CHART, {**P, "unit": "hn"}, "unit"),
    (CHART, {**P, "unit": "HN\n"}, "unit"),
    (EXPORT, {"programme": "ldst2026"}, "programme"),
    (EXPORT, {"programme": "LDST2026\n"}, "programme"),
]


@pytest.mark.parametrize(
    ("path", "params", "field_name"),
    BAD_QUERIES,
    ids=[f"{i}-{path.rsplit('/', 1)[-1]}-{f}" for i, (path, _, f) in enumerate(BAD_QUERIES)],
)
def test_bad_query_parameters_get_field_level_422(world: World, path, params, field_name) -> None:  # type: ignore[no-untyped-def]
    invalid(world, "GET", path, field_name, params=params)


@pytest.mark.parametrize(
    "as_of", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31"]
)
def test_as_of_at_the_ends_of_the_calendar_is_answered_not_a_500(world: World, as_of: str) -> None:
    """A ranking as of year 1 or 9999 is empty or refused on `as_of`; it may not break the service."""
    answer = requests.get(world.url(RANKINGS), params={**P, "as_of": as_of}, headers=ADMIN, timeout=10)
    assert answer.status_code in (200, 422), f"as_of={as_of}: {answer.status_code} {answer.text[:400]}"
    if answer.status_code == 422:
        _vietnamese(answer.json()["error"], "as_of")


def test_well_formed_queries_are_answered(world: World) -> None:
    """The positive side of the table above: the same routes with good values answer 200."""
    assert _get(world, RANKINGS, **P, scope="cluster", cluster="C1", limit="2", offset="1")["total"] == 4
    assert _get(world, RANKINGS, **P, scope="top", top="HN", level="upper")["total"] == 3
    assert _get(world, RANKINGS, **P, as_of="2026-05-01", metric="recognized")["items"]
    assert _get(world, "/api/v1/standings/HN", **P)["submitted"] == 3
    assert [t["unit"] for t in _get(world, TARGETS, **P, unit="HN")] == ["HN"]
    assert _get(world, LEDGER, kind="bonus", programme=PROGRAMME, unit="HN-KCN-C001", limit="500")["total"] == 1
    assert _get(world, LEDGER, period="2026", limit="1", offset="0")["next_offset"] == 1


def test_a_units_history_is_answered(world: World) -> None:
    series = _get(world, "/api/v1/standings/HN/history", **P, days="731")["series"]
    assert len(series) == 731 and series[-1]["submitted"] == 3 and series[-1]["recognized"] == 1
    assert len(_get(world, "/api/v1/standings/VGCL/history", **P, days="1")["series"]) == 1


# --- Unit codes in paths, unknown units ----------------------------------------------------------

BAD_UNIT_PATHS = ["hn", "1HN", "HN_KL", "HN%20KL", "H" * 65, "H%C3%80", "HN%0A", "HN%09", "%0AHN", "HN."]
UNIT_ROUTES = [
    ("/api/v1/standings/{}", P),
    ("/api/v1/standings/{}/history", P),
    ("/api/v1/reports/{}", {**P, "period": "2026-H1"}),
]
BAD_UNIT_CASES = [(route, params, unit) for route, params in UNIT_ROUTES for unit in BAD_UNIT_PATHS]


@pytest.mark.parametrize(
    ("route", "params", "unit"),
    BAD_UNIT_CASES,
    ids=[f"{r.split('/')[3]}{'-history' if 'history' in r else ''}-{u[:12]}" for r, _, u in BAD_UNIT_CASES],
)
def test_malformed_unit_codes_in_paths_get_422(world: World, route, params, unit) -> None:  # type: ignore[no-untyped-def]
    invalid(world, "GET", route.format(unit), "unit", params=params)


UNKNOWN_UNITS = [
    ("/api/v1/standings/ZZZ", P),
    ("/api/v1/standings/HN-ZZ-C999", P),
    ("/api/v1/standings/ZZZ/history", P),
    ("/api/v1/standings/HN-ZZ-C999/history", P),
    ("/api/v1/reports/ZZZ", {**P, "period": "2026-H1"}),
    (CHART, {**P, "unit": "ZZZ"}),
]


@pytest.mark.parametrize(("path", "params"), UNKNOWN_UNITS, ids=[f"{p}?{q}" for p, q in UNKNOWN_UNITS])
def test_unknown_units_get_json_404(world: World, path, params) -> None:  # type: ignore[no-untyped-def]
    refused(world, "GET", path, ADMIN, 404, "not_found", params=params)


def test_nul_characters_and_unknown_routes_are_json_errors(world: World) -> None:
    for path, params in (
        (RANKINGS, {"programme": "LDST\x002026"}),
        (LEDGER, {"period": "2026\x00"}),
        ("/api/v1/standings/HN%00", P),
        (CHART, {**P, "unit": "HN\x00"}),
    ):
        refused(world, "GET", path, ADMIN, 400, "invalid_characters", params=params)
    refused(world, "GET", "/api/v1/award-runs", ADMIN, 405, "method_not_allowed")
    refused(world, "DELETE", LEDGER, ADMIN, 405, "method_not_allowed")
    refused(world, "GET", "/api/v1/standings", ADMIN, 404, "not_found")
    refused(world, "GET", "/api/v1/rankings/HN", ADMIN, 404, "not_found")


# --- Certificate checks (public) ---------------------------------------------------------------

BAD_CODES = [
    "HN-AAAAAAAAAA",  # well-formed, unknown
    "hn-aaaaaaaaaa",
    "BK-HN-2026-000001",  # a certificate number is not its verification code
    "x",
    "HN-",
    "-",
    "HN-AAAA",
    "HN-" + "A" * 11,
    "A" * 2000,
    "HN-ĐĐĐĐĐĐĐĐĐĐ",
    "ß" * 40,
    "%25%25",
    "'%20OR%20'1'='1",
    "HN-AAAAAAAAAA%0A",
    "%F0%9F%98%80",
    "%FF%FE",
]


@pytest.mark.parametrize("code", BAD_CODES, ids=[f"{i}-{c[:20]}" for i, c in enumerate(BAD_CODES)])
def test_malformed_or_unknown_certificate_codes_get_404_json(world: World, code: str) -> None:
    refused(world, "GET", f"/api/v1/certificates/{code}", None, 404, "not_found")


def test_a_real_code_is_checked_in_any_case_but_not_with_a_trailing_newline(world: World) -> None:
    code = world.entry("WHERE verification_code IS NOT NULL")["verification_code"]
    for typed in (code, code.lower()):
        answer = requests.get(world.url(f"/api/v1/certificates/{typed}"), timeout=10)
        assert answer.status_code == 200 and answer.json()["verification_code"] == code, answer.text
    for suffix in ("%0A", "%20", "%00", "X", "/"):
        status = 400 if suffix == "%00" else 404
        refused(world, "GET", f"/api/v1/certificates/{code}{suffix}", None, status)


# --- Running the rules: bad bodies, content types, sizes; nothing written --------------------------

RUN = "/api/v1/award-runs"
GOOD_RUN = {"programme": PROGRAMME, "period": "2026-Q2"}  # grants the quarter's cluster leaders when run
BAD_RUNS: list[tuple[Any, str]] = [
    ({}, "programme"),
    ({}, "period"),
    ({"period": "2026"}, "programme"),
    ({"programme": "NOPE", "period": "2026"}, "programme"),
    ({"programme": "ldst2026", "period": "2026"}, "programme"),
    ({"programme": "LDST2026\n", "period": "2026"}, "programme"),
    ({"programme": "../LDST2026", "period": "2026"}, "programme"),
    ({"programme": "", "period": "2026"}, "programme"),
    ({"programme": None, "period": "2026"}, "programme"),
    ({"programme": 2026, "period": "2026"}, "programme"),
    ({"programme": ["LDST2026"], "period": "2026"}, "programme"),
    ({"programme": PROGRAMME}, "period"),
    *(
        ({"programme": PROGRAMME, "period": period}, "period")
        for period in (
            "2026-Q5",
            "2026-Q0",
            "2026-H3",
            "2026-q2",
            "２０２６",
            "2026-Ｑ2",
            "",
            " 2026",
            "2026\n",
            "26",
            "20260",
            "2026-",
            "2026-Q",
            "0000",
            2026,
            2026.0,
            None,
            True,
            ["2026"],
            {"year": 2026},
        )
    ),
    ({**GOOD_RUN, "dry_run": True}, "dry_run"),
    ({**GOOD_RUN, "unit": "HN"}, "unit"),
    ([GOOD_RUN], "_body"),
    ("2026", "_body"),
    (42, "_body"),
    (True, "_body"),
]


@pytest.mark.parametrize(("body", "field_name"), BAD_RUNS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_RUNS)])
def test_bad_award_runs_get_field_level_422_and_write_nothing(world: World, body, field_name) -> None:  # type: ignore[no-untyped-def]
    invalid(world, "POST", RUN, field_name, json=body)


@pytest.mark.parametrize("period", ["0001", "0001-Q1", "1999", "9999-Q4", "9998"])
def test_award_runs_at_the_ends_of_the_calendar_are_not_a_500(world: World, period: str) -> None:
    """Years the calendar can hold grant nothing (200) or are refused on `period`; never a 500."""
    before = world.state()
    answer = _run(world, {"programme": PROGRAMME, "period": period})
    assert answer.status_code in (200, 422), f"period {period}: {answer.status_code} {answer.text[:400]}"
    if answer.status_code == 200:
        assert answer.json() == {"granted": []}
    else:
        _vietnamese(answer.json()["error"], "period")
    assert world.state() == before


def test_malformed_award_run_bodies_wrong_content_types_and_sizes(world: World) -> None:
    as_json = {**ADMIN, "Content-Type": "application/json"}
    for raw in (b'{"programme": "LDST2026",', b"{programme: LDST2026}", b'{"period": "\xff"}', b"", b"\xef\xbb\xbf{"):
        refused(world, "POST", RUN, as_json, 400, "malformed_json", data=raw)
    for content_type, data in (
        ("text/plain", b'{"programme": "LDST2026", "period": "2026-Q2"}'),
        ("application/x-www-form-urlencoded", b"programme=LDST2026&period=2026-Q2"),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("application/jsonx", b'{"programme": "LDST2026", "period": "2026-Q2"}'),
    ):
        refused(world, "POST", RUN, {**ADMIN, "Content-Type": content_type}, 415, "unsupported_media_type", data=data)
    refused(world, "POST", RUN, ADMIN, 415, "unsupported_media_type")  # no body, no content type
    error = refused(world, "POST", RUN, as_json, 422, "validation_failed", data=b"null")
    _vietnamese(error, "_body")
    big = b'{"programme": "LDST2026", "period": "2026-Q2", "x": "' + b"a" * (1024 * 1024) + b'"}'
    refused(world, "POST", RUN, as_json, 413, "payload_too_large", data=big)
    refused(world, "POST", RUN, ADMIN, 400, "invalid_characters", json={**GOOD_RUN, "period": "2026-Q2\x00"})
    refused(world, "POST", RUN, ADMIN, 400, "invalid_characters", json={**GOOD_RUN, "note\x00": 1})


# --- Who may run the rules and file snapshots ----------------------------------------------------

CALLER_UNITS = ("VGCL", "HN", "HN-KL-C002")
RUN_MATRIX = [(role, unit) for role in ROLES if role not in NATIONAL_ROLES for unit in CALLER_UNITS]


@pytest.mark.parametrize(("role", "unit"), RUN_MATRIX, ids=[f"{r}-{u}" for r, u in RUN_MATRIX])
def test_only_national_roles_run_the_rules_or_file_snapshots(world: World, role: str, unit: str) -> None:
    who = token(role, unit, f"{role}-{unit}".lower())
    for body in (GOOD_RUN, {"programme": PROGRAMME, "period": "2026"}, {"bad": True}):
        refused(world, "POST", RUN, who, 403, "forbidden", json=body)
    refused(world, "POST", "/api/v1/rankings/snapshots", who, 403, "forbidden")


def test_national_roles_run_the_rules_once(world: World) -> None:
    """The national admin's run of the quarter grants its cluster leaders; the operator's re-run nothing."""
    before = world.state()
    first = _run(world, GOOD_RUN, token("national_admin", "VGCL", "ad-tw"))
    assert first.status_code == 201, first.text
    granted = first.json()["granted"]
    assert sorted((g["rule_id"], g["recipient_unit"], g["period"]) for g in granted) == [
        ("cluster-quarter-leader", "HN", "2026-Q2"),
        ("cluster-quarter-leader", "THO", "2026-Q2"),
    ]
    assert all(g["certificate_number"].startswith("BK-VGCL-2026-") for g in granted), granted
    after = world.state()
    assert after["ledger"] == before["ledger"] + 2 and after["outbox"] == before["outbox"] + 2
    assert "BK-VGCL-2026=2" in after["certificate_series"]
    for who in (token("operator", "VGCL", "op-1"), token("operator", "HN", "op-2"), ADMIN):
        for period in ("2026-Q2", "2026", "2026-Q3", "2026-H1"):
            again = _run(world, {"programme": PROGRAMME, "period": period}, who)
            assert again.status_code == 200 and again.json() == {"granted": []}, again.text
    assert world.state() == after


# --- Marking an amount paid ----------------------------------------------------------------------


def _installment(world: World, number: int) -> dict[str, Any]:
    return world.entry("WHERE kind = 'remuneration' AND (details->>'installment')::int = :n", n=number)


def _paid_url(entry_id: str) -> str:
    return f"/api/v1/ledger/{entry_id}/paid"


def test_marking_paid_twice_is_a_409_the_second_time(world: World) -> None:
    entry = _installment(world, 1)  # A's first remuneration, to HN-KL-C002 under HN
    hn_admin = token("unit_admin", "HN", "ad-hn")
    answer = requests.post(world.url(_paid_url(entry["id"])), headers=hn_admin, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == entry["id"] and answer.json()["paid_at"], answer.text
    paid_at = world.entry("WHERE id = :id", id=entry["id"])["paid_at"]
    assert paid_at is not None
    for who in (hn_admin, ADMIN, token("unit_admin", "HN-KL-C002", "ad-cs")):
        error = refused(world, "POST", _paid_url(entry["id"]), who, 409, "already_paid")
        assert error["message_vi"] != error["message_en"]
    assert world.entry("WHERE id = :id", id=entry["id"])["paid_at"] == paid_at


def test_a_certificate_without_money_is_not_paid(world: World) -> None:
    certificate = world.entry("WHERE kind = 'certificate_of_merit' AND recipient_unit = 'HN-KL-C002'")
    assert certificate["amount_vnd"] is None
    for who in (ADMIN, token("unit_admin", "HN", "ad-hn"), token("unit_admin", "HN-KL-C002", "ad-cs")):
        error = refused(world, "POST", _paid_url(certificate["id"]), who, 409, "conflict")
        assert "certificate" in error["message_en"] and "Bằng khen" in error["message_vi"]
    # One of a unit the registry has not heard of: its top-level unit's admin is still answered 409.
    unregistered = world.entry("WHERE kind = 'certificate_of_merit' AND recipient_unit = 'THO-KKT-C001'")
    refused(world, "POST", _paid_url(unregistered["id"]), token("unit_admin", "THO", "ad-th"), 409, "conflict")


OUTSIDERS = [
    ("admin of another top unit", "unit_admin", "THO"),
    ("admin of another top unit (same cluster)", "unit_admin", "HCM"),
    ("admin of a sibling upper unit", "unit_admin", "HN-KCN"),
    ("admin of a sibling grassroots unit", "unit_admin", "HN-KL-C001"),
    ("admin of a code prefix", "unit_admin", "HN-K"),
    ("admin of a code prefix (2)", "unit_admin", "HN-KL-C00"),
    *((f"{role} of the recipient unit", role, "HN-KL-C002") for role in ("member", "support_team", "reviewer")),
    *((f"{role} of the top unit", role, "HN") for role in ("member", "support_team", "reviewer", "operator")),
    ("operator", "operator", "VGCL"),
]


@pytest.mark.parametrize(("label", "role", "unit"), OUTSIDERS, ids=[o[0].replace(" ", "-") for o in OUTSIDERS])
def test_only_the_recipients_admins_mark_paid(world: World, label: str, role: str, unit: str) -> None:
    entry = _installment(world, 2)
    refused(world, "POST", _paid_url(entry["id"]), token(role, unit, "dv-a"), 403, "forbidden")
    assert world.entry("WHERE id = :id", id=entry["id"])["paid_at"] is None, label


def test_admins_on_the_recipients_path_mark_paid(world: World) -> None:
    payers = [
        (_installment(world, 2), token("unit_admin", "HN-KL-C002", "ad-cs")),
        (_installment(world, 3), token("unit_admin", "HN-KL", "ad-kl")),
        (world.entry("WHERE kind = 'benefit_reward' AND recipient_member = 'dv-a'"), token("unit_admin", "HN", "x")),
        (world.entry("WHERE kind = 'benefit_reward' AND recipient_member = 'dv-b'"), ADMIN),
        (world.entry("WHERE kind = 'bonus'"), token("unit_admin", "HN-KCN", "ad-kcn")),
    ]
    for entry, who in payers:
        before = world.state()
        answer = requests.post(world.url(_paid_url(entry["id"])), headers=who, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["paid_at"] and answer.json()["amount_vnd"] == entry["amount_vnd"]
        after = world.state()
        assert (after["ledger"], after["outbox"]) == (before["ledger"], before["outbox"])
        assert after["ledger_rows"] != before["ledger_rows"]


BAD_ENTRY_IDS = [
    "not-a-uuid",
    "12345",
    "3f0e6b7e-0000-4000-8000-00000000000",
    "3f0e6b7e-0000-4000-8000-0000000000000",
    "3f0e6b7e-0000-4000-8000-00000000000g",
    "3f0e6b7e-0000-4000-8000-000000000000%0A",
    "'%20OR%201=1",
    "%F0%9F%98%80",
]


def test_unknown_and_malformed_entry_ids_answer_json_404(world: World) -> None:
    for who in (ADMIN, token("unit_admin", "HN", "ad-hn")):
        refused(world, "POST", _paid_url("3f0e6b7e-0000-4000-8000-000000000000"), who, 404, "not_found")
        for entry_id in BAD_ENTRY_IDS:
            refused(world, "POST", _paid_url(entry_id), who, 404, "not_found")
    entry = _installment(world, 3)
    refused(world, "GET", _paid_url(entry["id"]), ADMIN, 405, "method_not_allowed")
    refused(world, "POST", f"/api/v1/ledger/{entry['id']}", ADMIN, 404, "not_found")


# --- Who sees which ledger entries ---------------------------------------------------------------

SCOPE_CALLERS = [
    ("member", "HN-KL-C002", "dv-a"),
    ("member", "HN-KL-C002", "dv-b"),
    ("member", "HN-KCN-C001", "dv-c"),
    ("member", "THO", "dv-a"),  # a member's entries are their own wherever the token was issued
    ("member", "HN", "nobody"),
    ("member", "HN-KL-C002", "HN-KL-C002"),  # a member id that happens to be a unit code
    *((role, "HN", f"{role}-hn") for role in ("support_team", "reviewer", "unit_admin")),
    *((role, "HN-KL", f"{role}-kl") for role in ("support_team", "reviewer", "unit_admin")),
    ("unit_admin", "HN-KCN-C001", "ad-kcn"),
    ("unit_admin", "HN-K", "ad-prefix"),
    # THO-KKT-C001 and HCM-KCX-C001 earned certificates but were never registered with awards (the
    # example leaves them out, as events out of order would): their top-level unit's staff still see
    # them, since the paid route already places an entry under its `top_unit`.
    *((role, "THO", f"{role}-tho") for role in ("support_team", "reviewer", "unit_admin")),
    ("unit_admin", "HCM", "ad-hcm"),
    *((role, unit, f"{role}-{unit}") for role in NATIONAL_ROLES for unit in ("VGCL", "HN", "THO")),
]


def _visible(world: World, role: str, unit: str, sub: str) -> set[str]:
    """What the caller should see, worked out from the ledger's own rows and the seeded unit tree."""
    rows = world.entries()
    if role in NATIONAL_ROLES:
        return {r["id"] for r in rows}
    if role == "member":
        return {r["id"] for r in rows if r["recipient_member"] == sub}
    return {r["id"] for r in rows if unit in unit_path(r["recipient_unit"])}


@pytest.mark.parametrize(("role", "unit", "sub"), SCOPE_CALLERS, ids=["-".join(c) for c in SCOPE_CALLERS])
def test_ledger_scoping(world: World, role: str, unit: str, sub: str) -> None:
    page = _get(world, LEDGER, token(role, unit, sub), limit="500")
    seen = {i["id"] for i in page["items"]}
    expected = _visible(world, role, unit, sub)
    assert seen == expected, f"{role}@{unit} ({sub}): extra {seen - expected}, missing {expected - seen}"
    assert page["total"] == len(expected) and page["next_offset"] is None
    paged: list[str] = []  # page by page, the same entries and no others
    offset: int | None = 0
    while offset is not None:
        page = _get(world, LEDGER, token(role, unit, sub), limit="3", offset=str(offset))
        paged += [i["id"] for i in page["items"]]
        offset = page["next_offset"]
    assert sorted(paged) == sorted(expected)
    # Filters narrow the caller's scope, never widen it.
    for params in ({"unit": "THO-KKT-C001"}, {"kind": "remuneration"}, {"period": "2026"}, {"programme": PROGRAMME}):
        narrowed = {i["id"] for i in _get(world, LEDGER, token(role, unit, sub), limit="500", **params)["items"]}
        assert narrowed <= expected, (params, narrowed - expected)


def test_the_example_spans_the_scopes_the_matrix_checks(world: World) -> None:
    """Guards the matrix above against a world where it would pass by seeing nothing."""
    assert len(_visible(world, "member", "HN-KL-C002", "dv-a")) == 1
    hn = _visible(world, "unit_admin", "HN", "x")
    assert len(hn) >= 8 and len(_visible(world, "national_admin", "VGCL", "x")) - len(hn) >= 2
    assert _visible(world, "unit_admin", "HN-KCN-C001", "x") and not _visible(world, "unit_admin", "HN-K", "x")


# --- Tokens ------------------------------------------------------------------------------------


def _forged_tokens() -> list[tuple[str, str | None]]:
    now = int(time.time())
    secret = setting("JWT_SECRET")
    claims = {"sub": "ad", "role": "national_admin", "unit": "VGCL", "exp": now + 600}
    return [
        ("none", None),
        ("not bearer", "Basic YWQ6YWQ="),
        ("lower-case bearer", "bearer " + jwt.encode(claims, secret, "HS256")),
        ("garbage", "Bearer not.a.jwt"),
        ("empty bearer", "Bearer "),
        ("wrong key", "Bearer " + jwt.encode(claims, "k" * 40, "HS256")),
        ("expired", "Bearer " + jwt.encode({**claims, "exp": now - 5}, secret, "HS256")),
        ("no expiry", "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, "HS256")),
        ("no subject", "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "sub"}, secret, "HS256")),
        ("unknown role", "Bearer " + jwt.encode({**claims, "role": "superuser"}, secret, "HS256")),
        ("no unit", "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "unit"}, secret, "HS256")),
        ("empty unit", "Bearer " + jwt.encode({**claims, "unit": ""}, secret, "HS256")),
        ("alg none", "Bearer " + jwt.encode(claims, None, "none")),
    ]


def test_missing_forged_or_expired_tokens_get_401_on_every_secured_route(world: World) -> None:
    unpaid = world.entries("WHERE amount_vnd IS NOT NULL AND paid_at IS NULL") or world.entries()
    routes = [
        ("GET", RANKINGS, {"params": P}),
        ("POST", "/api/v1/rankings/snapshots", {}),
        ("GET", "/api/v1/standings/HN", {"params": P}),
        ("GET", "/api/v1/standings/HN/history", {"params": P}),
        ("GET", TARGETS, {"params": P}),
        ("GET", LEDGER, {}),
        ("POST", _paid_url(unpaid[0]["id"]), {}),
        ("POST", RUN, {"json": GOOD_RUN}),
        ("GET", "/api/v1/reports/HN", {"params": {**P, "period": "2026-H1"}}),
        ("GET", CHART, {"params": P}),
    ]
    for label, authorization in _forged_tokens():
        headers = {"Authorization": authorization} if authorization else {}
        for method, path, kwargs in routes:
            try:
                error = refused(
                    world, method, path, headers, 401, "token_expired" if label == "expired" else None, **kwargs
                )
            except AssertionError as exc:
                raise AssertionError(f"token {label!r}: {exc}") from exc
            assert error["code"] in ("unauthorized", "token_expired", "token_invalid", "token_claims"), error
    # The public routes need no token at all.
    for path, params in (("/api/v1/openapi.json", {}), (EXPORT, P)):
        assert requests.get(world.url(path), params=params, timeout=10).status_code == 200
