import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chassis.auth import Principal, TokenVerifier, issue_dev_token
from chassis.errors import Forbidden, Unauthorized


def test_dev_token_round_trip() -> None:
    principal = TokenVerifier().verify(f"Bearer {issue_dev_token('dv-1', 'member', 'HN-KL-C001')}")
    assert principal == Principal("dv-1", "member", "HN-KL-C001")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"])
def test_missing_or_malformed_tokens_are_401(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(header)


def test_expired_token_is_401_with_its_own_code() -> None:
    token = jwt.encode(
        {"sub": "x", "role": "member", "unit": "HN", "exp": int(time.time()) - 5},
        TokenVerifier().secret,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized) as info:
        TokenVerifier().verify(f"Bearer {token}")
    assert info.value.code == "token_expired"


def test_forged_token_is_401() -> None:
    forged = jwt.encode(
        {"sub": "x", "role": "national_admin", "unit": "VGCL", "exp": time.time() + 60}, "guess-" * 8, "HS256"
    )
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(f"Bearer {forged}")


def test_unknown_role_is_401() -> None:
    token = jwt.encode(
        {"sub": "x", "role": "king", "unit": "HN", "exp": time.time() + 60}, TokenVerifier().secret, "HS256"
    )
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(f"Bearer {token}")


def test_rs256_with_a_public_key_and_no_algorithm_confusion() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = TokenVerifier(public_key=public_pem, jwks_url="")
    good = jwt.encode({"sub": "r", "role": "reviewer", "unit": "THO", "exp": time.time() + 60}, key, "RS256")
    assert verifier.verify(f"Bearer {good}").unit == "THO"
    # Where RS256 is configured, an HS256 token must not pass, whatever its secret.
    claims = {"sub": "r", "role": "reviewer", "unit": "THO", "exp": time.time() + 60}
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {jwt.encode(claims, 'x' * 32, 'HS256')}")


def test_scope_is_the_unit_subtree() -> None:
    reviewer = Principal("r", "reviewer", "HN")
    reviewer.require(["reviewer"], ["VGCL", "HN", "HN-KL"])
    with pytest.raises(Forbidden):
        reviewer.require(["reviewer"], ["VGCL", "THO"])
    with pytest.raises(Forbidden):
        reviewer.require(["unit_admin"], ["VGCL", "HN"])
