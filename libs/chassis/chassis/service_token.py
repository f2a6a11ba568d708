"""A service's own bearer token for calling another service: the OAuth 2.0 client-credentials
grant at the platform's token endpoint (the portal), kept until shortly before it expires."""

from __future__ import annotations

import threading
import time

from authlib.integrations.requests_client import OAuth2Session

from chassis.config import setting

EARLY_SECONDS = 60  # fetched again this long before expiry: a call never carries a dying token


class ServiceToken:
    def __init__(
        self,
        token_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        fixed: str | None = None,
    ) -> None:
        self.token_url = token_url if token_url is not None else setting("SERVICE_TOKEN_URL")
        self.client_id = client_id if client_id is not None else setting("SERVICE_CLIENT_ID")
        self.client_secret = client_secret if client_secret is not None else setting("SERVICE_CLIENT_SECRET")
        self.fixed = fixed if fixed is not None else setting("NOTIFY_SERVICE_TOKEN")
        self._token, self._expires = "", 0.0
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool((self.token_url and self.client_id and self.client_secret) or self.fixed)

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value()}"}

    def value(self) -> str:
        if not (self.token_url and self.client_id and self.client_secret):
            return self.fixed
        with self._lock:
            if time.time() >= self._expires - EARLY_SECONDS:
                client = OAuth2Session(
                    self.client_id, self.client_secret, token_endpoint_auth_method="client_secret_basic"
                )
                token = client.fetch_token(self.token_url, grant_type="client_credentials", timeout=10)
                self._token = token["access_token"]
                self._expires = time.time() + float(token.get("expires_in", 300))
            return self._token

    def forget(self) -> None:
        """After a 401: the next call fetches a new token."""
        with self._lock:
            self._expires = 0.0
