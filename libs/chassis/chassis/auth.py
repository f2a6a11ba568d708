"""Bearer JWT authentication and unit-scoped authorisation.

Fails closed: outside development mode (PLATFORM_MODE) only RS256 tokens verified against
JWT_JWKS_URL or JWT_PUBLIC_KEY are accepted, and a service with neither refuses to start.
HS256 tokens signed with JWT_SECRET are a development convenience and nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chassis.config import setting
from chassis.errors import Forbidden, Unauthorized

ROLES = ("member", "support_team", "reviewer", "unit_admin", "national_admin", "operator")


def path_codes(path: str) -> list[str]:
    """A unit path as codes: "/VGCL/HN/HN-KL/" -> ["VGCL", "HN", "HN-KL"]."""
    return [c for c in path.split("/") if c]


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    unit: str

    def in_scope(self, unit_path: Sequence[str]) -> bool:
        """A role acts only inside its unit's subtree: its unit must be on the target's path."""
        return self.unit in unit_path

    def require(self, roles: Sequence[str], unit_path: Sequence[str] | None = None) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"Role {self.role!r} may not do this.",
                f"Vai trò {self.role!r} không được phép thực hiện thao tác này.",
            )
        if unit_path is not None and not self.in_scope(unit_path):
            raise Forbidden()


DEVELOPMENT, PRODUCTION = "development", "production"
MODES = (PRODUCTION, DEVELOPMENT)

NO_KEY = (
    "PLATFORM_MODE is production and no token verification key is configured: "
    "set JWT_JWKS_URL (the identity provider's JWKS) or JWT_PUBLIC_KEY (a PEM public key), "
    "or PLATFORM_MODE=development for a local run."
)


class AuthConfigurationError(RuntimeError):
    """Tokens cannot be verified safely as configured: the service must not start."""


def accepted_algorithms(development: bool, has_key: bool) -> frozenset[str]:
    """What a verifier accepts: RS256 where a key is configured, HS256 (JWT_SECRET) only in
    development, never `none` or anything else."""
    accepted = set()
    if has_key:
        accepted.add("RS256")
    if development:
        accepted.add("HS256")
    return frozenset(accepted)


class TokenVerifier:
    """RS256 against JWT_JWKS_URL or JWT_PUBLIC_KEY; in development mode also HS256 with JWT_SECRET,
    chosen by the token's `alg` header. Raises AuthConfigurationError where that leaves nothing safe."""

    def __init__(
        self,
        secret: str | None = None,
        public_key: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        mode: str | None = None,
    ) -> None:
        self.mode = mode if mode is not None else setting("PLATFORM_MODE")
        if self.mode not in MODES:
            raise AuthConfigurationError(f"PLATFORM_MODE must be {' or '.join(MODES)}, not {self.mode!r}.")
        self.development = self.mode == DEVELOPMENT
        # Outside development the secret is never read, let alone used: its public default is harmless.
        self.secret = (secret if secret is not None else setting("JWT_SECRET")) if self.development else ""
        self.public_key = public_key if public_key is not None else setting("JWT_PUBLIC_KEY")
        self.jwks_url = jwks_url if jwks_url is not None else setting("JWT_JWKS_URL")
        self.audience = audience if audience is not None else setting("JWT_AUDIENCE")
        self.issuer = issuer if issuer is not None else setting("JWT_ISSUER")
        if not self.development and not (self.jwks_url or self.public_key):
            raise AuthConfigurationError(NO_KEY)
        self._public = _load_public_key(self.public_key) if self.public_key and not self.jwks_url else None
        has_key = bool(self.jwks_url or self.public_key)
        self.algorithms = accepted_algorithms(self.development and bool(self.secret), has_key)

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=300)

    def _key(self, token: str) -> tuple[object, str]:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"alg {algorithm!r} is not accepted here")
        if algorithm == "HS256":
            return self.secret, algorithm
        if self.jwks_url:
            return self._jwks.get_signing_key_from_jwt(token).key, algorithm
        return self._public, algorithm

    def verify(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized()
        token = authorization[len("Bearer ") :].strip()
        try:
            key, algorithm = self._key(token)
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                audience=self.audience or None,
                issuer=self.issuer or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.", "Mã thông báo đã hết hạn.", code="token_expired") from exc
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthorized("The token is not valid.", "Mã thông báo không hợp lệ.", code="token_invalid") from exc
        role, unit = claims.get("role"), claims.get("unit")
        if role not in ROLES or not isinstance(unit, str) or not unit:
            raise Unauthorized(
                "The token lacks a valid role or unit.",
                "Mã thông báo thiếu vai trò hoặc đơn vị hợp lệ.",
                code="token_claims",
            )
        return Principal(sub=str(claims["sub"]), role=role, unit=unit)


def check_auth_settings() -> None:
    """Raises AuthConfigurationError (a one-line message) where this environment's verifier would be unsafe."""
    TokenVerifier()


def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise AuthConfigurationError("JWT_PUBLIC_KEY is not a PEM public key.") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise AuthConfigurationError("JWT_PUBLIC_KEY is not an RSA public key (RS256).")
    return key


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(public_key: rsa.RSAPublicKey | rsa.RSAPrivateKey | str | bytes) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256) of an RSA key, used as its `kid`: the same key always
    has the same id, whoever computes it. Takes a key object or a PEM public key."""
    if isinstance(public_key, (str, bytes)):
        public_key = serialization.load_pem_public_key(
            public_key.encode() if isinstance(public_key, str) else public_key
        )  # type: ignore[assignment]
    if isinstance(public_key, rsa.RSAPrivateKey):
        public_key = public_key.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("key_id takes an RSA key")
    numbers = public_key.public_numbers()

    def member(value: int) -> str:
        return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))

    # The required members only, in lexicographic order, no whitespace (RFC 7638, section 3.2).
    canonical = json.dumps({"e": member(numbers.e), "kty": "RSA", "n": member(numbers.n)}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@lru_cache(maxsize=8)
def _signing_key(private_key_pem: bytes) -> tuple[rsa.RSAPrivateKey, str]:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key must be an RSA private key")
    return key, key_id(key.public_key())


def sign_token(claims: Mapping[str, Any], private_key_pem: str | bytes) -> str:
    """An RS256 token of these claims, its header's `kid` the key's thumbprint (key_id)."""
    pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    key, kid = _signing_key(pem)  # parsing an RSA key is slow: once per key, not per token
    return jwt.encode(dict(claims), key, algorithm="RS256", headers={"kid": kid})


def token_claims(sub: str, role: str, unit: str, ttl_seconds: int = 8 * 3600) -> dict[str, object]:
    """The claims of a token for a role in a unit; `aud` / `iss` from JWT_AUDIENCE / JWT_ISSUER when set."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "role": role, "unit": unit, "iat": now, "exp": now + ttl_seconds}
    if setting("JWT_AUDIENCE"):
        claims["aud"] = setting("JWT_AUDIENCE")
    if setting("JWT_ISSUER"):
        claims["iss"] = setting("JWT_ISSUER")
    return claims


def issue_dev_token(sub: str, role: str, unit: str, ttl_seconds: int = 8 * 3600) -> str:
    """A development token signed with JWT_SECRET (HS256): accepted only in development mode."""
    return jwt.encode(token_claims(sub, role, unit, ttl_seconds), setting("JWT_SECRET"), algorithm="HS256")
