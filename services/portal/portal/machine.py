"""Machine clients: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) and client registration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy.orm import Session
from werkzeug.wrappers import Request, Response

from chassis.auth import ROLES
from portal.models import ApiClient
from portal.signing import Signer


def hash_secret(secret: str) -> str:
    # Client secrets are 256 random bits, not passwords: a plain SHA-256 cannot be brute-forced.
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def register(db: Session, client_id: str, name: str, role: str, unit: str, secret: str | None = None) -> str:
    """Creates or updates a client; returns its secret (shown once)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    secret = secret or secrets.token_urlsafe(32)
    client = db.get(ApiClient, client_id) or ApiClient(client_id=client_id, created_at=datetime.now(UTC))
    client.name, client.role, client.unit, client.secret_hash = name, role, unit, hash_secret(secret)
    client.disabled_at = None
    db.add(client)
    return secret


def _oauth_error(status: int, error: str, description: str, challenge: bool = False) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if challenge:
        headers["WWW-Authenticate"] = 'Basic realm="sangkien"'
    body = json.dumps({"error": error, "error_description": description})
    return Response(body, status, headers, content_type="application/json")


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            raw = base64.b64decode(header[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret)
    client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
    return (client_id, secret) if client_id and secret else None


def token_response(db: Session, signer: Signer, request: Request) -> Response:
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "Send the form as application/x-www-form-urlencoded.")
    if request.form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is offered here.")
    credentials = _credentials(request)
    if credentials is None:
        return _oauth_error(401, "invalid_client", "Client authentication is required.", challenge=True)
    client_id, secret = credentials
    client: Any = db.get(ApiClient, client_id)
    if (
        client is None
        or client.disabled_at is not None
        or not hmac.compare_digest(client.secret_hash, hash_secret(secret))
    ):
        return _oauth_error(401, "invalid_client", "Unknown client or wrong secret.", challenge=True)
    token, expires = signer.token(f"client:{client.client_id}", client.role, client.unit, client_id=client.client_id)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": expires - int(datetime.now(UTC).timestamp())}
    return Response(
        json.dumps(body), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}, content_type="application/json"
    )
