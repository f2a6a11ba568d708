"""The portal's equipment, built once per process: templates, the services, the signer, the provider."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from cachetools import TTLCache
from jinja2 import Environment, FileSystemLoader, select_autoescape
from nameko.extensions import DependencyProvider

from chassis.auth import AuthConfigurationError, TokenVerifier
from chassis.config import setting
from portal import formatting
from portal.grants import ROLE_NAMES_EN, ROLE_NAMES_VI, token_subject
from portal.models import Grant
from portal.oidc import Provider
from portal.settings import portal_setting
from portal.signing import Signer, development
from portal.upstreams import Upstreams

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


class MissingSecret(AuthConfigurationError):
    """The portal refuses to start without its provider secret outside development."""


def client_secret() -> str:
    secret = portal_setting("OIDC_CLIENT_SECRET")
    if secret:
        return secret
    if development():
        return "portal-dev-secret"
    raise MissingSecret("OIDC_CLIENT_SECRET is not set: the portal cannot log anyone in without it.")


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        vnd=formatting.vnd, date=formatting.date, datetime=formatting.datetime_local, number=formatting.number
    )
    env.globals.update(ROLE_NAMES_VI=ROLE_NAMES_VI, ROLE_NAMES_EN=ROLE_NAMES_EN)
    return env


class Front(DependencyProvider):
    """One per process: what every page and the gateway use."""

    def setup(self) -> None:
        self.signer = Signer.from_settings()
        self.provider = Provider.from_settings(client_secret())
        self.upstreams = Upstreams()
        self.templates = templates()
        self.secure_cookies = not development() or portal_setting("PORTAL_PUBLIC_URL").startswith("https:")
        self.verifier = TokenVerifier(public_key=self._public_pem(), jwks_url="", secret="")
        # Tokens minted for a session's grant, reused until a minute before they expire.
        self._tokens: TTLCache[tuple[str, int], tuple[str, int]] = TTLCache(maxsize=50_000, ttl=3600)
        self.programme = portal_setting("PORTAL_PROGRAMME")
        self.public_url = portal_setting("PORTAL_PUBLIC_URL").rstrip("/")
        self.var_dir = Path(setting("VAR_DIR"))

    def _public_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.signer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def get_dependency(self, worker_ctx: Any) -> Front:
        return self

    def token_for(self, person: str, grant: Grant) -> str:
        key = (person, grant.id)
        cached = self._tokens.get(key)
        if cached and cached[1] - time.time() > 60:
            return cached[0]
        sub = token_subject(grant.role, person, grant.member_id)
        token, expires = self.signer.token(sub, grant.role, grant.unit)
        self._tokens[key] = (token, expires)
        return token

    def forget_tokens(self, person: str) -> None:
        for key in [k for k in self._tokens if k[0] == person]:
            self._tokens.pop(key, None)

    def public_token(self) -> str:
        """The portal's own reader token for the public pages (rankings, certificates)."""
        cached = self._tokens.get(("portal", 0))
        if cached and cached[1] - time.time() > 60:
            return cached[0]
        token, expires = self.signer.token("portal-public", "operator", "VGCL")
        self._tokens[("portal", 0)] = (token, expires)
        return token
