"""The API against its own OpenAPI document: schemathesis finds no 5xx and no undocumented answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from openapi_spec_validator import validate

from chassis.auth import issue_dev_token
from tests.conftest import free_port
from tests.integration.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_document_is_valid_and_the_api_keeps_to_it(db_url, rabbit_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {
        **os.environ,
        "SUBMISSION_DATABASE_URL": db_url,
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "chassis.run", "submission", "submission.service:SubmissionService"],
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
        token = issue_dev_token("tht-fuzz", "support_team", "HN-KL")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base}/api/v1/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                # Domain rules (unknown unit, closed programme…) rightly refuse some schema-valid data.
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                "25",
                "--seed",
                "20261121",
                "--generation-database",
                "none",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-6000:]
        assert " passed" in run.stdout and "generated" in run.stdout, run.stdout[-2000:]
    finally:
        service.terminate()
        service.wait(timeout=30)
    log = (tmp_path / "service.log").read_text()
    assert "Traceback" not in log, log[-4000:]


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_openapi_json_is_json() -> None:
    from submission.openapi import document

    assert json.loads(json.dumps(document()))["info"]["version"] == "1.0.0"
