"""Production tokens: RS256 verified against the identity provider's JWKS over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chassis.auth import TokenVerifier, issue_dev_token, key_id, sign_token
from chassis.errors import Unauthorized


@contextmanager
def serve_jwks(jwks: bytes) -> Iterator[str]:
    """A JWKS endpoint over real HTTP, as an identity provider or the portal serves one."""

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            """Quiet: the test output is not the place for access logs."""

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks"
    finally:
        server.shutdown()


def test_tokens_verify_against_a_jwks_endpoint() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    with serve_jwks(jwks) as url:
        verifier = TokenVerifier(
            mode="production",
            jwks_url=url,
            audience="sangkien-api",
            issuer="https://sso.example.vn",
        )
        claims = {
            "sub": "cb-01",
            "role": "reviewer",
            "unit": "THO",
            "aud": "sangkien-api",
            "iss": "https://sso.example.vn",
            "exp": int(time.time()) + 60,
        }
        token = jwt.encode(claims, key, "RS256", headers={"kid": "k1"})
        assert verifier.verify(f"Bearer {token}").unit == "THO"
        wrong_audience = jwt.encode({**claims, "aud": "other"}, key, "RS256", headers={"kid": "k1"})
        with pytest.raises(Unauthorized):
            verifier.verify(f"Bearer {wrong_audience}")
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other_key, "RS256", headers={"kid": "k1"})
        with pytest.raises(Unauthorized):
            verifier.verify(f"Bearer {forged}")
        # Outside development a token signed with the (public) default JWT_SECRET is nothing.
        with pytest.raises(Unauthorized):
            verifier.verify(f"Bearer {issue_dev_token('x', 'national_admin', 'VGCL')}")


def test_the_portal_key_in_a_jwks_with_development_tokens_beside_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """make run: the services verify the portal's RS256 tokens (kid = thumbprint) through its JWKS
    and, in development mode only, `make token`'s HS256 tokens too."""
    monkeypatch.delenv("JWT_AUDIENCE", raising=False)
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": key_id(key.public_key()), "use": "sig", "alg": "RS256"}]}).encode()
    claims = {"sub": "cb-02", "role": "reviewer", "unit": "HN", "exp": int(time.time()) + 60}
    with serve_jwks(jwks) as url:
        development = TokenVerifier(mode="development", jwks_url=url, public_key="", audience="", issuer="")
        assert development.verify(f"Bearer {sign_token(claims, pem)}").sub == "cb-02"
        assert development.verify(f"Bearer {issue_dev_token('dv', 'member', 'HN-KL')}").unit == "HN-KL"
        production = TokenVerifier(mode="production", jwks_url=url, public_key="", audience="", issuer="")
        assert production.verify(f"Bearer {sign_token(claims, pem)}").sub == "cb-02"
        with pytest.raises(Unauthorized):
            production.verify(f"Bearer {issue_dev_token('dv', 'member', 'HN-KL')}")
