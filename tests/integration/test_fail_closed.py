"""Authentication fails closed: a real service process in production mode with no verification key
refuses to start, saying what to set; with a key it starts and accepts only RS256 tokens.
The tests only read, so the session's database does."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chassis.auth import issue_dev_token, sign_token, token_claims
from tests.conftest import free_port
from tests.integration.conftest import wait_for
from tests.integration.killing import start

TARGET = "submission.service:SubmissionService"
PRODUCTION = {"PLATFORM_MODE": "production", "JWT_JWKS_URL": "", "JWT_PUBLIC_KEY": "", "JWT_AUDIENCE": ""}


def exits_within(process: subprocess.Popen, seconds: float) -> int | None:
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None


def test_production_without_a_key_refuses_to_start(pg_url, rabbit_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "submission.log"
    process = start("submission", TARGET, pg_url, rabbit_config["AMQP_URI"], log, **PRODUCTION)
    began = time.monotonic()
    code = exits_within(process, 30)
    stderr = log.read_text()
    assert code not in (None, 0), stderr[-2000:]
    assert time.monotonic() - began < 30
    assert "Traceback" not in stderr, stderr[-2000:]
    (line,) = [line for line in stderr.splitlines() if "refusing to start" in line]
    assert "JWT_JWKS_URL" in line and "JWT_PUBLIC_KEY" in line and "PLATFORM_MODE" in line


def test_an_unknown_mode_refuses_to_start(pg_url, rabbit_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "submission.log"
    process = start(
        "submission", TARGET, pg_url, rabbit_config["AMQP_URI"], log, **{**PRODUCTION, "PLATFORM_MODE": "dev"}
    )
    assert exits_within(process, 30) not in (None, 0)
    assert "PLATFORM_MODE must be production or development" in log.read_text()


def test_production_with_a_public_key_starts_and_takes_only_rs256(pg_url, rabbit_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    log = tmp_path / "submission.log"
    address = f"127.0.0.1:{free_port()}"
    env = {**PRODUCTION, "JWT_PUBLIC_KEY": public_pem.decode(), "JWT_ISSUER": "", "WEB_SERVER_ADDRESS": address}
    process = start("submission", TARGET, pg_url, rabbit_config["AMQP_URI"], log, **env)
    base = f"http://{address}"
    try:
        wait_for(lambda: _ready(base, process), timeout=60)
        assert process.poll() is None, log.read_text()[-2000:]
        rs256 = sign_token(token_claims("tv-1", "member", "HN-KL-C001"), private_pem)
        answer = requests.get(f"{base}/api/v1/initiatives", headers={"Authorization": f"Bearer {rs256}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        # The public default secret signs a perfectly valid HS256 token: production must not care.
        forged = issue_dev_token("attacker", "national_admin", "VGCL")
        answer = requests.get(f"{base}/api/v1/initiatives", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "token_invalid"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(base: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the service exited"
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
