"""The platform's signing key: the services' short-lived RS256 tokens and the JWKS that verifies them."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chassis.auth import AuthConfigurationError, key_id, sign_token
from chassis.config import setting
from portal.settings import portal_setting


class MissingKey(AuthConfigurationError):
    """Outside development a key must be given; the portal will not invent one."""


def development() -> bool:
    return setting("PLATFORM_MODE") == "development"


def default_key_file() -> Path:
    return Path(setting("VAR_DIR")) / "portal" / "signing-key.pem"


def load_private_key_pem() -> bytes:
    """PORTAL_SIGNING_KEY_FILE; in development a key made once under VAR_DIR/portal."""
    configured = portal_setting("PORTAL_SIGNING_KEY_FILE")
    if configured:
        return Path(configured).read_bytes()
    if not development():
        raise MissingKey(
            "PORTAL_SIGNING_KEY_FILE is not set: the portal needs the RSA key that signs the services' tokens "
            "(set PLATFORM_MODE=development to let it make one)."
        )
    path = default_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.replace(tmp, path)  # two processes starting at once agree on one key
    return path.read_bytes()


@dataclass
class Signer:
    private_pem: bytes
    issuer: str
    audience: str
    ttl: int

    def __post_init__(self) -> None:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        self.public_key = private.public_key()  # type: ignore[union-attr]
        self.kid = key_id(self.public_key)

    @classmethod
    def from_settings(cls) -> Signer:
        return cls(
            load_private_key_pem(),
            portal_setting("PORTAL_PUBLIC_URL"),
            portal_setting("PORTAL_TOKEN_AUDIENCE"),
            int(portal_setting("PORTAL_TOKEN_SECONDS")),
        )

    def token(self, sub: str, role: str, unit: str, **extra: Any) -> tuple[str, int]:
        """A bearer token for the services and its expiry (unix time)."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": sub, "role": role, "unit": unit, "iat": now, "exp": now + self.ttl}
        claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        claims.update(extra)
        return sign_token(claims, self.private_pem), claims["exp"]

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}
