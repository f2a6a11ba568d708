"""The review API against its own OpenAPI document: no 5xx, no undocumented status, body or field.

Schemathesis fuzzes every operation; it cannot guess the id of an initiative under review, so the
rich answers (a review file with scorecards, certificates and an audit trail, the queue, a council,
a certificate check) are also produced on purpose and checked against the document's schemas.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from chassis.auth import issue_dev_token
from tests.conftest import free_port, token
from tests.factories import UNIT, initiative
from tests.integration.conftest import post, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _strict(document: dict[str, Any]) -> dict[str, Any]:
    """The document's component schemas, refusing properties they do not document."""
    components = copy.deepcopy(document["components"])
    for schema in components["schemas"].values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return components


def _conforms(document: dict[str, Any], operation: tuple[str, str], answer: requests.Response) -> None:
    """The answer's status is documented for the operation, and its body matches that status's schema."""
    path, method = operation
    responses = document["paths"][path][method]["responses"]
    status = str(answer.status_code)
    assert status in responses, f"{method.upper()} {path}: undocumented status {status}: {answer.text[:500]}"
    content = responses[status].get("content")
    if content is None:
        assert not answer.content, f"{method.upper()} {path}: {status} documents no body"
        return
    assert answer.headers["Content-Type"].startswith("application/json")
    schema = {**content["application/json"]["schema"], "components": _strict(document)}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(answer.json())]
    assert not problems, f"{method.upper()} {path} {status} does not match its schema: {problems[:10]}"


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_review_openapi_document_is_valid_and_the_api_keeps_to_it(api, review_db_url, rabbit_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {
        **os.environ,
        "REVIEW_DATABASE_URL": review_db_url,
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "UNITS": "*",
        "LOG_LEVEL": "WARNING",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "review", "review.service:ReviewService"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "service.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), timeout=30)
        document = requests.get(f"{base}/api/v1/openapi.json", timeout=10).json()
        validate(document)
        recognised = _rich_answers_conform(document, api, base)
        # Fuzzing by the national admin (reads everything, manages every council) on the recognised
        # initiative, then by the grassroots reviewer on a fresh one that random actions may move on.
        _fuzz(base, issue_dev_token("ad-fuzz", "national_admin", "VGCL"), recognised, tmp_path / "admin")
        _fuzz(base, issue_dev_token("rv-fuzz", "reviewer", UNIT), _submitted(api, base), tmp_path / "reviewer")
    finally:
        service.terminate()
        service.wait(timeout=30)
    log = (tmp_path / "service.log").read_text()
    assert "Traceback" not in log, log[-4000:]


def _fuzz(base: str, bearer: str, initiative_id: str, cwd: Path) -> None:
    """Schemathesis on every operation; paths with an initiative id use one that exists."""
    cwd.mkdir()
    (cwd / "schemathesis.toml").write_text(f'[parameters]\n"path.initiative_id" = "{initiative_id}"\n')
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
            # Domain rules (actions out of order, a council of a unit served elsewhere…) rightly refuse
            # some schema-valid data.
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "25",
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
    assert run.returncode == 0, run.stdout[-8000:]
    assert " passed" in run.stdout and "generated" in run.stdout, run.stdout[-2000:]


def _submitted(api: str, base: str) -> str:
    created = post(f"{api}/api/v1/initiatives", initiative(), token("member", UNIT, "dv-an"))
    assert created.status_code == 201, created.text
    initiative_id = created.json()["id"]
    file_url = f"{base}/api/v1/reviews/{initiative_id}"
    reader = token("reviewer", UNIT)
    wait_for(lambda: requests.get(file_url, headers=reader, timeout=5).status_code == 200, timeout=30)
    return initiative_id


def _rich_answers_conform(document: dict[str, Any], api: str, base: str) -> str:
    """Drives one initiative to recognition at grassroots, then checks each answer against the document."""
    reviewer = token("reviewer", UNIT, "rv-cs")
    initiative_id = _submitted(api, base)
    file_url = f"{base}/api/v1/reviews/{initiative_id}"

    council = requests.put(
        f"{base}/api/v1/councils/HN-KL/members/hd-kl-1",
        json={"role": "chair"},
        headers=token("unit_admin", "HN-KL", "ad-kl"),
        timeout=10,
    )
    _conforms(document, ("/api/v1/councils/{unit}/members/{member_id}", "put"), council)
    assert council.status_code == 201
    steps = [
        ("accept", {"note": "Hồ sơ đầy đủ"}),
        ("scores", {"novelty": 9, "applicability": 8, "benefit": 8.5, "comment": "Tốt"}),
        ("decision", {"decision": "recognize", "reason": "Đạt"}),
    ]
    for action, body in steps:
        answer = post(f"{file_url}/{action}", body, reviewer)
        assert answer.status_code == 200, answer.text
        _conforms(document, (f"/api/v1/reviews/{{initiative_id}}/{action}", "post"), answer)
    refused = post(f"{file_url}/scores", {"novelty": 1, "applicability": 1, "benefit": 1}, reviewer)
    assert refused.status_code == 409
    _conforms(document, ("/api/v1/reviews/{initiative_id}/scores", "post"), refused)
    invalid = post(f"{file_url}/decision", {"decision": "reject"}, reviewer)
    assert invalid.status_code == 422
    _conforms(document, ("/api/v1/reviews/{initiative_id}/decision", "post"), invalid)

    review = requests.get(file_url, headers=reviewer, timeout=10)
    _conforms(document, ("/api/v1/reviews/{initiative_id}", "get"), review)
    assert review.json()["scorecards"] and review.json()["certificates"] and review.json()["audit"]
    queue = requests.get(f"{base}/api/v1/reviews", params={"status": "all"}, headers=reviewer, timeout=10)
    _conforms(document, ("/api/v1/reviews", "get"), queue)
    assert [i["initiative_id"] for i in queue.json()["items"]] == [initiative_id]
    members = requests.get(f"{base}/api/v1/councils/HN-KL", headers=reviewer, timeout=10)
    _conforms(document, ("/api/v1/councils/{unit}", "get"), members)
    code = review.json()["certificates"][0]["verification_code"]
    check = requests.get(f"{base}/api/v1/certificates/{code}", timeout=10)
    _conforms(document, ("/api/v1/certificates/{code}", "get"), check)
    assert check.status_code == 200 and check.json()["valid"] is True
    missing = requests.get(f"{base}/api/v1/certificates/HN-AAAAAAAAAA", timeout=10)
    _conforms(document, ("/api/v1/certificates/{code}", "get"), missing)
    removed = requests.delete(
        f"{base}/api/v1/councils/HN-KL/members/hd-kl-1", headers=token("unit_admin", "HN-KL"), timeout=10
    )
    _conforms(document, ("/api/v1/councils/{unit}/members/{member_id}", "delete"), removed)
    assert removed.status_code == 204
    return initiative_id
