"""Login at the OpenID Connect provider: authorization code flow with PKCE (authlib), ID token checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from portal.settings import portal_setting


class LoginFailed(Exception):
    """The provider's answer cannot be trusted or was an error; the person starts again."""


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str
    _metadata: dict[str, Any] | None = None
    _fetched_at: float = 0.0

    @classmethod
    def from_settings(cls, client_secret: str) -> Provider:
        public = portal_setting("PORTAL_PUBLIC_URL").rstrip("/")
        return cls(
            issuer=portal_setting("OIDC_ISSUER").rstrip("/"),
            client_id=portal_setting("OIDC_CLIENT_ID"),
            client_secret=client_secret,
            scopes=portal_setting("OIDC_SCOPES"),
            redirect_uri=f"{public}/auth/callback",
        )

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched when first needed and kept for an hour."""
        if self._metadata is None or time.monotonic() - self._fetched_at > 3600:
            answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
            answer.raise_for_status()
            self._metadata, self._fetched_at = answer.json(), time.monotonic()
        return self._metadata

    def _client(self) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=self.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def authorization_request(self) -> tuple[str, str, str, str]:
        """(url to send the browser to, state, PKCE verifier, nonce)."""
        verifier, nonce = generate_token(64), generate_token(32)
        url, state = self._client().create_authorization_url(
            self.metadata()["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        return url, state, verifier, nonce

    def finish(self, code: str, verifier: str, nonce: str) -> tuple[dict[str, Any], str]:
        """Exchanges the code; returns the ID token's verified claims and the raw ID token."""
        try:
            token = self._client().fetch_token(
                self.metadata()["token_endpoint"], code=code, code_verifier=verifier, grant_type="authorization_code"
            )
        except Exception as exc:
            raise LoginFailed(f"token exchange failed: {type(exc).__name__}: {exc}") from exc
        raw = token.get("id_token")
        if not raw:
            raise LoginFailed("no id_token in the token response")
        try:
            key = jwt.PyJWKClient(self.metadata()["jwks_uri"]).get_signing_key_from_jwt(raw).key
            claims = jwt.decode(
                raw,
                key,
                algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=60,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise LoginFailed(f"id_token rejected: {exc}") from exc
        if claims.get("nonce") != nonce:
            raise LoginFailed("id_token nonce does not match")
        return claims, raw

    def logout_url(self, id_token: str | None, after: str) -> str | None:
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"post_logout_redirect_uri": after, "client_id": self.client_id}
        if id_token:
            params["id_token_hint"] = id_token
        return requests.Request("GET", endpoint, params=params).prepare().url
