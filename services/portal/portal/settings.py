"""The portal's settings: where the other services and the identity provider are, its keys."""

from __future__ import annotations

from chassis.config import Setting

PORTAL_SETTINGS = {
    s.name: s
    for s in (
        Setting(
            "PORTAL_PUBLIC_URL", "http://127.0.0.1:8080", "The address people open; issuer of the portal's tokens."
        ),
        Setting("OIDC_ISSUER", "http://127.0.0.1:9400", "The OpenID Connect provider people log in at."),
        Setting("OIDC_CLIENT_ID", "portal", "The portal's client id at the provider."),
        Setting("OIDC_CLIENT_SECRET", "", "The portal's client secret at the provider (a secret; required)."),
        Setting("OIDC_SCOPES", "openid profile email", "Scopes asked for at login."),
        Setting(
            "PORTAL_SIGNING_KEY_FILE",
            "",
            "RSA private key (PEM) signing the services' tokens; development makes one under VAR_DIR/portal.",
        ),
        Setting("PORTAL_TOKEN_SECONDS", "600", "Lifetime of the bearer tokens the portal gives the services."),
        Setting("PORTAL_TOKEN_AUDIENCE", "", "`aud` of those tokens, when the services expect one (JWT_AUDIENCE)."),
        Setting("PORTAL_SESSION_HOURS", "12", "A login lasts this long without activity."),
        Setting("UPSTREAM_SUBMISSION", "http://127.0.0.1:8000", "The submission service's API."),
        Setting(
            "UPSTREAM_REVIEW",
            "*=http://127.0.0.1:8001",
            "Review deployments: `HN=http://...,*=http://...` (a top-level unit each; `*` the catch-all).",
        ),
        Setting("UPSTREAM_AWARDS", "http://127.0.0.1:8003", "The awards service's API."),
        Setting("UPSTREAM_NOTIFY", "http://127.0.0.1:8004", "The notify service's API."),
        Setting("UPSTREAM_TIMEOUT_SECONDS", "15", "How long the gateway waits for a service before answering 503."),
        Setting("PORTAL_PROGRAMME", "LDST2026", "The programme the public pages show."),
    )
}


def portal_setting(name: str) -> str:
    return PORTAL_SETTINGS[name].get()
