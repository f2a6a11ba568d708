"""The awards API against its own OpenAPI document: no 5xx, no undocumented status, body or field.

The service runs as a process of its own on a database fed with the hand-computed example of
test_awards_flow.py (on its own RabbitMQ virtual host). Every operation is first answered on
purpose — rankings with rank changes, standings with breakdowns, history, targets, the ledger
with remuneration installments, a run of the year's rules, a payment, a certificate check,
reports in JSON, CSV and XLSX, the progress chart and the open-data export — and each answer is
checked strictly against the document (undocumented properties refused). Then schemathesis
fuzzes every operation as the national admin, once on the units and entries it invents and once
on the example's own (HN, a real ledger entry, a real verification code).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from chassis.auth import issue_dev_token
from tests.conftest import create_database, drop_database, free_port, migrate, token
from tests.integration.conftest import count, wait_for
from tests.integration.test_awards_flow import example, send

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME = "LDST2026"
ADMIN = token("national_admin", "VGCL", "ad-tw")
METHODS = ("get", "put", "post", "delete", "patch")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Deployed:
    base: str
    db: str
    log: Path
    document: dict[str, Any] = field(default_factory=dict)
    answered: set[tuple[str, str]] = field(default_factory=set)  # (path, method) checked on purpose
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def deployed(request, vhost_pipeline, tmp_path_factory) -> Iterator[Deployed]:  # type: ignore[no-untyped-def]
    """`python -m chassis.run awards …` on a database and a vhost of its own, fed with the example."""
    broker = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    name = f"sangkien_afz_{os.getpid()}"
    db = create_database(name)
    log = tmp_path_factory.mktemp("awards") / "service.log"
    try:
        migrate(db, "awards")
        with vhost_pipeline.get() as vhost:
            amqp_uri = f"{broker.scheme}://{broker.netloc}/{vhost}"
            port = free_port()
            env = {
                **os.environ,
                "AWARDS_DATABASE_URL": db,
                "AMQP_URI": amqp_uri,
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                "UNITS": "*",
                "LOG_LEVEL": "WARNING",
                "AWARDS_DAILY_SECONDS": "3600",  # no daily run (snapshots, ended periods) mid-test
            }
            with open(log, "w") as err:
                service = subprocess.Popen(
                    [sys.executable, "-m", "chassis.run", "awards", "awards.service:AwardsService"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: _ready(base), timeout=30)
                _feed(amqp_uri, db)
                yield Deployed(base=base, db=db, log=log)
            finally:
                service.terminate()
                service.wait(timeout=30)
    finally:
        drop_database(name)


def _feed(amqp_uri: str, db: str) -> None:
    """The example's events; sent again if the consumers bound their queues after the first send
    (the inbox drops what was already applied)."""
    events, _ = example()
    for _attempt in range(3):
        send(amqp_uri, events)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if count(db, "inbox") == len(events):
                return
            time.sleep(0.2)
    raise AssertionError(f"{count(db, 'inbox')} of {len(events)} events applied")


# --- Strict checks of real answers ------------------------------------------------------------


def _strict(document: dict[str, Any]) -> dict[str, Any]:
    """The document's component schemas, refusing properties they do not document."""
    components = copy.deepcopy(document["components"])
    for schema in components["schemas"].values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return components


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _mismatches(document: dict[str, Any], operation: tuple[str, str], answer: requests.Response) -> list[str]:
    """What about the answer the document does not say: its status, content type, body or fields."""
    path, method = operation
    where = f"{method.upper()} {path} -> {answer.status_code}"
    responses = document["paths"][path][method]["responses"]
    status = str(answer.status_code)
    if status not in responses:
        return [f"{where}: undocumented status: {answer.text[:300]}"]
    content = responses[status].get("content")
    if content is None:
        return (
            [f"{where}: the document gives no body, the answer has one: {answer.text[:200]}"] if answer.content else []
        )
    media = {_media(k): v for k, v in content.items()}
    actual = _media(answer.headers.get("Content-Type", ""))
    if actual not in media:
        return [f"{where}: content type {actual!r} not documented ({sorted(media)})"]
    if actual != "application/json":
        magic = {"image/png": PNG_SIGNATURE, "text/csv": b"\xef\xbb\xbf"}.get(actual)
        if actual.endswith("spreadsheetml.sheet"):
            magic = b"PK\x03\x04"
        if not answer.content or (magic and not answer.content.startswith(magic)):
            return [f"{where}: {actual} body does not start as one: {answer.content[:16]!r}"]
        return []
    schema = {**media[actual]["schema"], "components": _strict(document)}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = validator.iter_errors(answer.json())
    return [f"{where}: /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors][:10]


def _check(
    deployed: Deployed,
    operation: tuple[str, str],
    method: str,
    path: str,
    expect: int | tuple[int, ...],
    who: dict[str, str] | None = ADMIN,
    **kwargs: Any,
) -> requests.Response:
    """Sends one request, records whether the answer keeps to the document and has the expected status."""
    answer = requests.request(method, deployed.url(path), headers=who, timeout=30, **kwargs)
    deployed.answered.add(operation)
    mismatches = _mismatches(deployed.document, operation, answer)
    deployed.problems += mismatches
    statuses = expect if isinstance(expect, tuple) else (expect,)
    if answer.status_code not in statuses and not any("undocumented status" in m for m in mismatches):
        deployed.problems.append(f"{method} {path} {kwargs}: {answer.status_code}, not {statuses}: {answer.text[:300]}")
    return answer


def test_the_document_is_valid_openapi(deployed: Deployed) -> None:
    answer = requests.get(deployed.url("/api/v1/openapi.json"), timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    deployed.document = answer.json()
    validate(deployed.document)
    assert deployed.document["openapi"].startswith("3.1")


def _document(deployed: Deployed) -> dict[str, Any]:
    if not deployed.document:
        deployed.document = requests.get(deployed.url("/api/v1/openapi.json"), timeout=10).json()
    return deployed.document


RANKINGS = ("/api/v1/rankings", "get")
SNAPSHOTS = ("/api/v1/rankings/snapshots", "post")
STANDING = ("/api/v1/standings/{unit}", "get")
HISTORY = ("/api/v1/standings/{unit}/history", "get")
TARGETS = ("/api/v1/targets", "get")
LEDGER = ("/api/v1/ledger", "get")
PAID = ("/api/v1/ledger/{entry_id}/paid", "post")
RUNS = ("/api/v1/award-runs", "post")
CERTIFICATE = ("/api/v1/certificates/{code}", "get")
REPORT = ("/api/v1/reports/{unit}", "get")
CHART = ("/api/v1/charts/progress.png", "get")
EXPORT = ("/api/v1/exports/open-data.csv", "get")


def test_real_answers_of_every_operation_keep_to_the_document(deployed: Deployed) -> None:
    document = _document(deployed)
    p = {"programme": PROGRAMME}
    c = deployed

    # The year's rules, so that the ledger holds certificates and rewards; a snapshot for rank changes.
    run = _check(c, RUNS, "POST", "/api/v1/award-runs", 201, json={**p, "period": "2026"})
    _check(c, RUNS, "POST", "/api/v1/award-runs", 200, json={**p, "period": "2026"})
    _check(c, RUNS, "POST", "/api/v1/award-runs", 422, json={**p, "period": "2026-Q5"})
    _check(c, RUNS, "POST", "/api/v1/award-runs", 415, {**ADMIN, "Content-Type": "text/plain"}, data="{}")
    _check(c, RUNS, "POST", "/api/v1/award-runs", 403, token("member", "HN"), json={**p, "period": "2026"})
    _check(c, RUNS, "POST", "/api/v1/award-runs", 401, None, json={**p, "period": "2026"})
    _check(c, SNAPSHOTS, "POST", "/api/v1/rankings/snapshots", 201)
    _check(c, SNAPSHOTS, "POST", "/api/v1/rankings/snapshots", 403, token("reviewer", "HN"))

    for params in (
        p,
        {**p, "metric": "progress"},
        {**p, "metric": "participants"},
        {**p, "metric": "recognized", "scope": "cluster", "cluster": "C1"},
        {**p, "scope": "top", "top": "HN", "level": "upper"},
        {**p, "scope": "top", "top": "HN"},
        {**p, "as_of": "2026-05-01T00:00:00+07:00"},
        {**p, "phase": "P1", "limit": "2", "offset": "1"},
    ):
        _check(c, RANKINGS, "GET", "/api/v1/rankings", 200, params=params)
    ranked = _check(c, RANKINGS, "GET", "/api/v1/rankings", 200, params=p).json()
    assert ranked["compared_with"] and ranked["items"][0]["previous_rank"] == 1, ranked
    _check(c, RANKINGS, "GET", "/api/v1/rankings", 422, params={**p, "metric": "ideas"})
    _check(c, RANKINGS, "GET", "/api/v1/rankings", 401, {"Authorization": "Bearer x"}, params=p)

    for unit in ("HN", "VGCL", "HN-KL", "HN-KL-C002", "THO"):
        _check(c, STANDING, "GET", f"/api/v1/standings/{unit}", 200, params=p)
        _check(c, HISTORY, "GET", f"/api/v1/standings/{unit}/history", 200, params={**p, "days": "400"})
    _check(c, STANDING, "GET", "/api/v1/standings/ZZZ", 404, params=p)
    _check(c, STANDING, "GET", "/api/v1/standings/hn", 422, params=p)
    _check(c, HISTORY, "GET", "/api/v1/standings/hn/history", 422, params=p)

    _check(c, TARGETS, "GET", "/api/v1/targets", 200, params=p)
    _check(c, TARGETS, "GET", "/api/v1/targets", 200, params={**p, "unit": "HN"})
    _check(c, TARGETS, "GET", "/api/v1/targets", 422, params={})

    everything = _check(c, LEDGER, "GET", "/api/v1/ledger", 200, params={"limit": "500"}).json()
    assert {i["kind"] for i in everything["items"]} == {
        "certificate_of_merit",
        "remuneration",
        "bonus",
        "benefit_reward",
    }
    _check(c, LEDGER, "GET", "/api/v1/ledger", 200, params={"kind": "remuneration", "limit": "1"})
    _check(c, LEDGER, "GET", "/api/v1/ledger", 200, token("member", "HN-KL-C002", "dv-a"))
    _check(c, LEDGER, "GET", "/api/v1/ledger", 200, token("unit_admin", "HN", "ad-hn"), params={"period": "2026"})
    _check(c, LEDGER, "GET", "/api/v1/ledger", 422, params={"kind": "gold"})

    money = next(i for i in everything["items"] if i["kind"] == "remuneration")
    certificate = next(i for i in everything["items"] if i["kind"] == "certificate_of_merit")
    paid = f"/api/v1/ledger/{money['id']}/paid"
    _check(c, PAID, "POST", paid, 200)
    _check(c, PAID, "POST", paid, 409)
    _check(c, PAID, "POST", f"/api/v1/ledger/{certificate['id']}/paid", 409)
    _check(c, PAID, "POST", paid, 403, token("unit_admin", "THO", "ad-th"))
    _check(c, PAID, "POST", "/api/v1/ledger/3f0e6b7e-0000-4000-8000-000000000000/paid", 404)

    code = certificate["verification_code"]
    checked = _check(c, CERTIFICATE, "GET", f"/api/v1/certificates/{code.lower()}", 200, None).json()
    assert checked["valid"] is True and checked["number"] == certificate["certificate_number"]
    _check(c, CERTIFICATE, "GET", "/api/v1/certificates/HN-AAAAAAAAAA", 404, None)

    for unit, period in (("HN", "2026-H1"), ("HN-KL-C002", "2026"), ("VGCL", "2026-H2")):
        for fmt in ("json", "csv", "xlsx"):
            _check(c, REPORT, "GET", f"/api/v1/reports/{unit}", 200, params={**p, "period": period, "format": fmt})
    _check(c, REPORT, "GET", "/api/v1/reports/ZZZ", 404, params={**p, "period": "2026"})
    _check(c, REPORT, "GET", "/api/v1/reports/HN", 422, params={**p, "period": "2026-Q1"})
    _check(c, REPORT, "GET", "/api/v1/reports/HN", 403, token("member", "HN"), params={**p, "period": "2026"})

    _check(c, CHART, "GET", "/api/v1/charts/progress.png", 200, params=p)
    _check(c, CHART, "GET", "/api/v1/charts/progress.png", 200, params={**p, "unit": "HN"})
    _check(c, CHART, "GET", "/api/v1/charts/progress.png", 404, params={**p, "unit": "ZZZ"})
    _check(c, CHART, "GET", "/api/v1/charts/progress.png", 422, params={})

    _check(c, EXPORT, "GET", "/api/v1/exports/open-data.csv", 200, None)
    exported = _check(c, EXPORT, "GET", "/api/v1/exports/open-data.csv", 200, None, params=p)
    assert exported.content.decode("utf-8-sig").count("\n") == 2  # the header and A, recognised
    _check(c, EXPORT, "GET", "/api/v1/exports/open-data.csv", 422, None, params={"programme": "ldst"})

    documented = {(path, m) for path, ops in document["paths"].items() for m in ops if m in METHODS}
    assert not documented - c.answered, f"operations no real answer was checked for: {documented - c.answered}"
    assert run.json()["granted"], run.text
    assert not c.problems, "answers that do not keep to the document:\n" + "\n".join(c.problems)


def test_what_the_service_requires_the_document_marks_required(deployed: Deployed) -> None:
    """A query parameter whose absence is a 422 on that very field is a required parameter."""
    document = _document(deployed)
    path_values = {"unit": "HN", "entry_id": "3f0e6b7e-0000-4000-8000-000000000000", "code": "HN-AAAAAAAAAA"}
    problems = []
    for path, ops in document["paths"].items():
        for method, operation in ops.items():
            if method != "get":
                continue
            answer = requests.get(deployed.url(path.format(**path_values)), headers=ADMIN, timeout=30)
            if answer.status_code != 422:
                continue
            missing = set(answer.json()["error"].get("fields", {}))
            query = {q["name"]: q.get("required", False) for q in operation.get("parameters", []) if q["in"] == "query"}
            problems += [
                f"GET {path}: `{name}` is required (422 without it) but documented required: false"
                for name in sorted(missing)
                if name in query and not query[name]
            ]
    assert not problems, "\n".join(problems)


# --- Schemathesis --------------------------------------------------------------------------------


def _fuzz(base: str, bearer: str, cwd: Path, parameters: dict[str, str] | None = None) -> None:
    """Schemathesis on every documented operation (reports, charts and exports included)."""
    cwd.mkdir()
    if parameters:
        lines = "".join(f'"{k}" = "{v}"\n' for k, v in parameters.items())
        (cwd / "schemathesis.toml").write_text(f"[parameters]\n{lines}")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{base}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {bearer}",
            "--checks",
            "all",
            # Domain rules rightly refuse some schema-valid data (a cluster ranking names its cluster,
            # an as-of ranking is national or per cluster, a report's programme must have rules).
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "15",
            "--seed",
            "20261122",
            "--generation-database",
            "none",
            "--no-color",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-12000:]
    assert " passed" in run.stdout and "generated" in run.stdout, run.stdout[-2000:]


def test_schemathesis_on_invented_units_entries_and_codes(deployed: Deployed, tmp_path: Path) -> None:
    _fuzz(deployed.base, issue_dev_token("ad-fuzz", "national_admin", "VGCL"), tmp_path / "invented")


def test_schemathesis_on_the_examples_own_unit_entry_and_code(deployed: Deployed, tmp_path: Path) -> None:
    ledger = requests.get(deployed.url("/api/v1/ledger"), params={"limit": "500"}, headers=ADMIN, timeout=10).json()
    code = next((i["verification_code"] for i in ledger["items"] if i["verification_code"]), "HN-AAAAAAAAAA")
    unpaid = [i["id"] for i in ledger["items"] if i["amount_vnd"] and not i["paid_at"]] or [ledger["items"][0]["id"]]
    parameters = {"path.unit": "HN", "path.entry_id": unpaid[0], "path.code": code}
    _fuzz(deployed.base, issue_dev_token("ad-fuzz", "national_admin", "VGCL"), tmp_path / "example", parameters)


def test_the_service_logged_no_traceback(deployed: Deployed) -> None:
    """Last: whatever the tests above sent, nothing failed inside the service."""
    log = deployed.log.read_text()
    assert "Traceback" not in log, log[-6000:]
