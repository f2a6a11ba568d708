import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chassis import token_main
from chassis.auth import (
    AuthConfigurationError,
    Principal,
    TokenVerifier,
    accepted_algorithms,
    issue_dev_token,
    key_id,
    sign_token,
)
from chassis.config import SETTINGS
from chassis.errors import Forbidden, Unauthorized

SECRET = SETTINGS["JWT_SECRET"].default  # the public default anyone can read
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)


def claims(**extra: object) -> dict[str, object]:
    return {"sub": "x", "role": "national_admin", "unit": "VGCL", "exp": int(time.time()) + 60, **extra}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand_made(header: dict[str, object], body: dict[str, object], key: bytes | None) -> str:
    """A token built by hand, as an attacker would: PyJWT refuses to make some of these."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{b64(signature)}"


def development(**keys: str) -> TokenVerifier:
    return TokenVerifier(mode="development", secret=SECRET, **{"public_key": "", "jwks_url": "", **keys})


def production(**keys: str) -> TokenVerifier:
    return TokenVerifier(mode="production", secret=SECRET, **{"public_key": "", "jwks_url": "", **keys})


def test_dev_token_round_trip() -> None:
    principal = TokenVerifier().verify(f"Bearer {issue_dev_token('dv-1', 'member', 'HN-KL-C001')}")
    assert principal == Principal("dv-1", "member", "HN-KL-C001")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"])
def test_missing_or_malformed_tokens_are_401(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(header)


def test_expired_token_is_401_with_its_own_code() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 5), TokenVerifier().secret, algorithm="HS256")
    with pytest.raises(Unauthorized) as info:
        TokenVerifier().verify(f"Bearer {token}")
    assert info.value.code == "token_expired"


def test_forged_token_is_401() -> None:
    forged = jwt.encode(claims(), "guess-" * 8, "HS256")
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(f"Bearer {forged}")


def test_unknown_role_is_401() -> None:
    token = jwt.encode(claims(role="king"), TokenVerifier().secret, "HS256")
    with pytest.raises(Unauthorized):
        TokenVerifier().verify(f"Bearer {token}")


# --- which tokens a verifier accepts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("is_development", "has_key", "accepted"),
    [
        (True, False, {"HS256"}),
        (True, True, {"HS256", "RS256"}),
        (False, True, {"RS256"}),
        (False, False, set()),  # never built: such a verifier refuses to exist
    ],
)
def test_accepted_algorithms(is_development: bool, has_key: bool, accepted: set[str]) -> None:
    assert accepted_algorithms(is_development, has_key) == accepted


def test_the_default_mode_is_production() -> None:
    assert SETTINGS["PLATFORM_MODE"].default == "production"


def test_development_without_keys_accepts_dev_tokens_only() -> None:
    verifier = development()
    assert verifier.verify(f"Bearer {jwt.encode(claims(), SECRET, 'HS256')}").role == "national_admin"
    with pytest.raises(Unauthorized):  # RS256 with nothing to check it against
        verifier.verify(f"Bearer {jwt.encode(claims(), KEY, 'RS256')}")


def test_development_with_a_public_key_accepts_both_by_alg() -> None:
    verifier = development(public_key=PUBLIC_PEM.decode())
    assert verifier.verify(f"Bearer {jwt.encode(claims(unit='THO'), KEY, 'RS256')}").unit == "THO"
    assert verifier.verify(f"Bearer {jwt.encode(claims(unit='HN'), SECRET, 'HS256')}").unit == "HN"
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {jwt.encode(claims(), 'x' * 32, 'HS256')}")


def test_development_with_an_empty_secret_accepts_no_hs256() -> None:
    verifier = TokenVerifier(mode="development", secret="", public_key=PUBLIC_PEM.decode(), jwks_url="")
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {hand_made({'alg': 'HS256', 'typ': 'JWT'}, claims(), b'')}")


def test_production_without_a_key_refuses_to_exist_and_names_the_settings() -> None:
    with pytest.raises(AuthConfigurationError) as info:
        production()
    message = str(info.value)
    assert "JWT_JWKS_URL" in message and "JWT_PUBLIC_KEY" in message and "PLATFORM_MODE" in message
    assert "\n" not in message


def test_production_rejects_hs256_even_with_a_valid_signature() -> None:
    verifier = production(public_key=PUBLIC_PEM.decode())
    assert verifier.secret == ""  # never even read
    with pytest.raises(Unauthorized) as info:
        verifier.verify(f"Bearer {jwt.encode(claims(), SECRET, 'HS256')}")
    assert info.value.code == "token_invalid"
    # Algorithm confusion: the public key (which anyone may have) as an HMAC secret.
    confused = hand_made({"alg": "HS256", "typ": "JWT"}, claims(), PUBLIC_PEM)
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {confused}")


def test_production_accepts_rs256_against_the_public_key() -> None:
    verifier = production(public_key=PUBLIC_PEM.decode())
    assert verifier.verify(f"Bearer {jwt.encode(claims(unit='THO'), KEY, 'RS256')}").unit == "THO"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {jwt.encode(claims(), other, 'RS256')}")


@pytest.mark.parametrize("mode", ["development", "production"])
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None, ["RS256"], "HS512", "RS512", "ES256"])
def test_no_other_algorithm_is_accepted(mode: str, alg: object) -> None:
    verifier = TokenVerifier(mode=mode, secret=SECRET, public_key=PUBLIC_PEM.decode(), jwks_url="")
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {hand_made({'alg': alg, 'typ': 'JWT'}, claims(), None)}")
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {hand_made({'alg': alg, 'typ': 'JWT'}, claims(), SECRET.encode())}")


def test_pyjwt_unsigned_token_is_rejected() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    for verifier in (development(), production(public_key=PUBLIC_PEM.decode())):
        with pytest.raises(Unauthorized):
            verifier.verify(f"Bearer {unsigned}")


@pytest.mark.parametrize("mode", ["dev", "Development", "prod", ""])
def test_an_unknown_mode_refuses_to_exist(mode: str) -> None:
    with pytest.raises(AuthConfigurationError, match="PLATFORM_MODE"):
        TokenVerifier(mode=mode, public_key=PUBLIC_PEM.decode())


def test_a_public_key_that_is_not_one_refuses_to_exist() -> None:
    with pytest.raises(AuthConfigurationError, match="JWT_PUBLIC_KEY"):
        production(public_key="not a key")


# --- signing: the portal's key and make token -------------------------------------------------

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMst"
    "n64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
    "n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def test_key_id_is_the_rfc_7638_thumbprint() -> None:
    example = RSAAlgorithm.from_jwk({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"})
    assert key_id(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"  # RFC 7638, section 3.1


def test_key_id_is_the_same_from_the_key_its_pair_or_its_pem() -> None:
    kid = key_id(KEY.public_key())
    assert kid == key_id(KEY) == key_id(PUBLIC_PEM) == key_id(PUBLIC_PEM.decode())
    assert kid != key_id(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())


def test_sign_token_is_rs256_with_the_thumbprint_as_kid() -> None:
    token = sign_token(claims(unit="HN"), PRIVATE_PEM)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": key_id(KEY.public_key())}
    assert sign_token(claims(unit="HN"), PRIVATE_PEM.decode()).count(".") == 2
    assert production(public_key=PUBLIC_PEM.decode()).verify(f"Bearer {token}").unit == "HN"


def test_make_token_signs_hs256_without_the_portal_key(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PORTAL_SIGNING_KEY_FILE", raising=False)
    token_main.main(["reviewer", "HN", "cb-1"])
    token = capsys.readouterr().out.splitlines()[-1]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert development().verify(f"Bearer {token}") == Principal("cb-1", "reviewer", "HN")


def test_make_token_signs_rs256_with_the_portal_development_key(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal/signing-key.pem").write_bytes(PRIVATE_PEM)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PORTAL_SIGNING_KEY_FILE", raising=False)
    monkeypatch.setenv("JWT_ISSUER", "http://127.0.0.1:8080")
    monkeypatch.setenv("JWT_AUDIENCE", "sangkien-api")
    token_main.main(["unit_admin", "HN"])
    token = capsys.readouterr().out.splitlines()[-1]
    assert jwt.get_unverified_header(token)["kid"] == key_id(KEY)
    verifier = production(public_key=PUBLIC_PEM.decode(), issuer="http://127.0.0.1:8080", audience="sangkien-api")
    assert verifier.verify(f"Bearer {token}") == Principal("dev-unit_admin", "unit_admin", "HN")


def test_make_token_uses_portal_signing_key_file(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(PRIVATE_PEM)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("PORTAL_SIGNING_KEY_FILE", str(key_file))
    token_main.main(["member", "HN-KL-C001", "dv-9"])
    token = capsys.readouterr().out.splitlines()[-1]
    assert production(public_key=PUBLIC_PEM.decode()).verify(f"Bearer {token}").sub == "dv-9"
    monkeypatch.setenv("PORTAL_SIGNING_KEY_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(SystemExit, match="PORTAL_SIGNING_KEY_FILE"):
        token_main.main(["member", "HN"])


def test_scope_is_the_unit_subtree() -> None:
    reviewer = Principal("r", "reviewer", "HN")
    reviewer.require(["reviewer"], ["VGCL", "HN", "HN-KL"])
    with pytest.raises(Forbidden):
        reviewer.require(["reviewer"], ["VGCL", "THO"])
    with pytest.raises(Forbidden):
        reviewer.require(["unit_admin"], ["VGCL", "HN"])
