"""Bearer JWT authentication and unit-scoped authorisation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import jwt

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


class TokenVerifier:
    """HS256 with a shared secret in development; RS256 with a PEM key or JWKS in production."""

    def __init__(
        self,
        secret: str | None = None,
        public_key: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self.secret = secret if secret is not None else setting("JWT_SECRET")
        self.public_key = public_key if public_key is not None else setting("JWT_PUBLIC_KEY")
        self.jwks_url = jwks_url if jwks_url is not None else setting("JWT_JWKS_URL")
        self.audience = audience if audience is not None else setting("JWT_AUDIENCE")
        self.issuer = issuer if issuer is not None else setting("JWT_ISSUER")

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=300)

    def _key_and_algorithms(self, token: str) -> tuple[object, list[str]]:
        if self.jwks_url:
            return self._jwks.get_signing_key_from_jwt(token).key, ["RS256"]
        if self.public_key:
            return self.public_key, ["RS256"]
        return self.secret, ["HS256"]

    def verify(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized()
        token = authorization[len("Bearer ") :].strip()
        try:
            key, algorithms = self._key_and_algorithms(token)
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=algorithms,
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


def issue_dev_token(sub: str, role: str, unit: str, ttl_seconds: int = 8 * 3600) -> str:
    """A development token signed with JWT_SECRET (HS256). Never used in production."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "role": role,
        "unit": unit,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if setting("JWT_AUDIENCE"):
        claims["aud"] = setting("JWT_AUDIENCE")
    if setting("JWT_ISSUER"):
        claims["iss"] = setting("JWT_ISSUER")
    return jwt.encode(claims, setting("JWT_SECRET"), algorithm="HS256")
