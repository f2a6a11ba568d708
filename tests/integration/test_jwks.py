"""Production tokens: RS256 verified against the identity provider's JWKS over HTTP."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chassis.auth import TokenVerifier
from chassis.errors import Unauthorized


def test_tokens_verify_against_a_jwks_endpoint() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

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
        verifier = TokenVerifier(
            jwks_url=f"http://127.0.0.1:{server.server_port}/jwks",
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
    finally:
        server.shutdown()
