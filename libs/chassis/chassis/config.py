"""Configuration from environment variables, each with a documented default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    doc: str

    def get(self) -> str:
        return os.environ.get(self.name, self.default)


# The documented settings of every service (README lists them from here).
SETTINGS = {
    s.name: s
    for s in (
        Setting("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ connection URI."),
        Setting("DATABASE_URL", "", "Fallback database URL for a service without its own."),
        Setting("VAR_DIR", str(REPO_ROOT / "var"), "Folder for SQLite files and run state."),
        Setting("WEB_SERVER_ADDRESS", "127.0.0.1:8000", "Where the HTTP API listens."),
        Setting(
            "PLATFORM_MODE",
            "production",
            "`development` (make run, the tests) also accepts HS256 tokens signed with JWT_SECRET; "
            "`production`: RS256 only, and a service without JWT_JWKS_URL or JWT_PUBLIC_KEY refuses to start.",
        ),
        Setting(
            "JWT_SECRET",
            "dev-only-secret-change-me-never-in-production",
            "HS256 key of development tokens; never used outside PLATFORM_MODE=development.",
        ),
        Setting("JWT_PUBLIC_KEY", "", "PEM public key for RS256 tokens (production)."),
        Setting("JWT_JWKS_URL", "", "JWKS URL of the OIDC identity provider (production)."),
        Setting("JWT_AUDIENCE", "", "Expected `aud` claim, when set."),
        Setting("JWT_ISSUER", "", "Expected `iss` claim, when set."),
        Setting("UNITS", "*", "Top-level units a consumer binds: comma list or `*`."),
        Setting("UNITS_EXCLUDE", "", "With UNITS=*: units left to their own deployments (catch-all)."),
        Setting("UNIT", "", "A dedicated deployment's unit: UNITS=<UNIT>, INSTANCE_NAME=<service>-<unit>."),
        Setting("INSTANCE_NAME", "", "Names a consumer's queues (e.g. review-hn); default the service."),
        Setting("OUTBOX_RELAY", "on", "`off` where the relay runs as its own process."),
        Setting("DELIVERY_LIMIT", "10", "Deliveries before a failing event is dead-lettered."),
        Setting("DEAD_LETTER_POLL_SECONDS", "30", "How often consumers report their dead-letter depth."),
        Setting("CONSUMER_BATCH_SIZE", "200", "Events a consumer handles in one transaction (1: one each)."),
        Setting("CONSUMER_BATCH_WAIT_MS", "5", "How long a consumer waits to fill a batch before handling it."),
        Setting("CONSUMER_BATCH_MAX_WAIT_MS", "50", "Longest a batch fills while events keep coming."),
        Setting("CONSUMER_PREFETCH", "400", "Unacknowledged events the broker hands a consumer process."),
        Setting("RABBITMQ_API_URL", "http://guest:guest@127.0.0.1:15672/api", "Management API (dead-letter list)."),
        Setting("MAX_WORKERS", "20", "Concurrent workers per service process."),
        Setting(
            "MAX_INFLIGHT_REQUESTS",
            "64",
            "HTTP requests in flight per process; more are answered 429 with Retry-After at once (0: no cap).",
        ),
        Setting("OUTBOX_BATCH_SIZE", "500", "Rows the relay publishes per transaction."),
        Setting("OUTBOX_POLL_SECONDS", "0.5", "Relay poll interval when nothing wakes it."),
        Setting("OUTBOX_RETENTION_HOURS", "168", "Published outbox rows are kept this long."),
        Setting("CONTRACTS_DIR", str(REPO_ROOT / "contracts"), "Event JSON Schemas."),
        Setting("DEADLINE_SWEEP_SECONDS", "60", "How often review looks for missed legal deadlines."),
        Setting("RANKINGS_CACHE_SECONDS", "2", "How long awards reuses a computed ranking (0: never)."),
        Setting("AWARDS_DAILY_SECONDS", "300", "How often awards checks for due payments, ended periods, snapshots."),
        Setting("SMTP_HOST", "127.0.0.1", "Mail server notify sends through."),
        Setting("SMTP_PORT", "8025", "Its port (make run starts a local sink on 8025)."),
        Setting("SMTP_FROM", "Sáng kiến Công đoàn <no-reply@sangkien.congdoan.vn>", "Sender of notify's e-mail."),
        Setting("SMTP_STARTTLS", "off", "`on` to upgrade the SMTP connection with STARTTLS."),
        Setting("SMTP_USER", "", "SMTP login, when the server needs one."),
        Setting("SMTP_PASSWORD", "", "SMTP password (a secret)."),
        Setting("ZALO_API_URL", "https://openapi.zalo.me/v3.0/oa/message/cs", "Zalo OA message endpoint."),
        Setting("ZALO_ACCESS_TOKEN", "", "Zalo OA access token (a secret)."),
        Setting("SMS_API_URL", "http://127.0.0.1:8026/sms", "HTTP SMS gateway endpoint."),
        Setting("SMS_API_TOKEN", "", "SMS gateway bearer token (a secret)."),
        Setting("SMS_SENDER", "CONGDOAN", "SMS brand name."),
        Setting("NOTIFY_RATES", "email=20,zalo=10,sms=5,webhook=50", "Messages per second per channel and replica."),
        Setting("NOTIFY_MAX_ATTEMPTS", "8", "Attempts before a delivery is parked for an operator."),
        Setting("NOTIFY_RETRY_BASE_SECONDS", "2", "First retry delay; doubles each attempt."),
        Setting("NOTIFY_RETRY_MAX_SECONDS", "3600", "Longest delay between two attempts."),
        Setting("NOTIFY_HTTP_TIMEOUT_SECONDS", "10", "Timeout of a provider or webhook call."),
        Setting(
            "WEBHOOK_ALLOW_PRIVATE",
            "off",
            "`on` lets webhooks use http and private or loopback hosts (development); off: https, public hosts.",
        ),
        Setting(
            "NOTIFY_LEASE_SECONDS",
            "120",
            "A claimed delivery's lease: a replica that dies mid-send is retried after it.",
        ),
        Setting("NOTIFY_POLL_SECONDS", "0.5", "How often each channel looks for due deliveries."),
        Setting("NOTIFY_SWEEP_SECONDS", "60", "How often notify sends deadline reminders and digests."),
        Setting("REMIND_DAYS", "7", "Days before a decision deadline that reviewers are reminded."),
        Setting("DIGEST_HOUR", "18", "Local hour from which a day's digests go out."),
        Setting("AWARDS_API_URL", "", "Awards API, for the standing in digests (skipped when empty)."),
        Setting("NOTIFY_SERVICE_TOKEN", "", "A fixed bearer token for the awards API (when no client credentials)."),
        Setting("SERVICE_TOKEN_URL", "", "Token endpoint (the portal's /oauth/token) for a service's own token."),
        Setting("SERVICE_CLIENT_ID", "", "This service's client id there (client-credentials grant)."),
        Setting("SERVICE_CLIENT_SECRET", "", "Its client secret (a secret)."),
        Setting("DIGEST_PROGRAMME", "LDST2026", "Programme whose standing the digests quote."),
        Setting("LOCAL_TIMEZONE", "Asia/Ho_Chi_Minh", "Calendar of phases, deadlines and 'today'."),
    )
}


def setting(name: str) -> str:
    return SETTINGS[name].get()


def instance_name(service: str) -> str:
    """`INSTANCE_NAME`, else `<service>-<unit>` for a dedicated unit deployment, else the service."""
    if setting("INSTANCE_NAME"):
        return setting("INSTANCE_NAME")
    if setting("UNIT"):
        return f"{service}-{setting('UNIT').lower()}"
    return service


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, then `DATABASE_URL`, then a SQLite file per instance under VAR_DIR."""
    specific = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if specific:
        return specific
    if setting("DATABASE_URL"):
        return setting("DATABASE_URL")
    var_dir = Path(setting("VAR_DIR"))
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / (instance_name(service) + '.db')}"


def nameko_config(service: str, **overrides: object) -> dict:
    """The nameko config dict of a service, from the environment."""
    config: dict[str, object] = {
        "AMQP_URI": setting("AMQP_URI"),
        "WEB_SERVER_ADDRESS": setting("WEB_SERVER_ADDRESS"),
        "DATABASE_URL": database_url(service),
        "UNITS": setting("UNIT") or setting("UNITS"),
        "UNITS_EXCLUDE": setting("UNITS_EXCLUDE"),
        # Empty unless set or implied by UNIT: consumers then name queues after their service class.
        "INSTANCE_NAME": instance_name(service) if setting("INSTANCE_NAME") or setting("UNIT") else "",
        "OUTBOX_RELAY": setting("OUTBOX_RELAY"),
        "OUTBOX_POLL_SECONDS": float(setting("OUTBOX_POLL_SECONDS")),
        "DELIVERY_LIMIT": int(setting("DELIVERY_LIMIT")),
        "DEAD_LETTER_POLL_SECONDS": float(setting("DEAD_LETTER_POLL_SECONDS")),
        "CONSUMER_BATCH_SIZE": int(setting("CONSUMER_BATCH_SIZE")),
        "CONSUMER_BATCH_WAIT_MS": float(setting("CONSUMER_BATCH_WAIT_MS")),
        "CONSUMER_BATCH_MAX_WAIT_MS": float(setting("CONSUMER_BATCH_MAX_WAIT_MS")),
        "CONSUMER_PREFETCH": int(setting("CONSUMER_PREFETCH")),
        "max_workers": int(setting("MAX_WORKERS")),
        "MAX_INFLIGHT_REQUESTS": int(setting("MAX_INFLIGHT_REQUESTS")),
        "SERIALIZERS": {
            "cloudevents": {
                "encoder": "chassis.envelope.dumps",
                "decoder": "chassis.envelope.loads",
                "content_type": "application/cloudevents+json",
                "content_encoding": "utf-8",
            }
        },
        "ACCEPT": ["json", "cloudevents"],
    }
    config.update(overrides)
    return config
