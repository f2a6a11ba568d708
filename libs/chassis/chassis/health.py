"""`/healthz`, `/readyz` and `/metrics`, inherited by every service class."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Request, Response

from chassis.db import ping
from chassis.http import api, json_response
from chassis.relay import amqp_connection

log = logging.getLogger(__name__)


def broker_reachable(amqp_uri: str) -> bool:
    try:
        amqp_connection(amqp_uri, heartbeat=0).close()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("broker not reachable: %s", type(exc).__name__)
        return False


def database_reachable(db) -> bool:  # type: ignore[no-untyped-def]
    try:
        ping(db.engine)
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("database not reachable: %s", type(exc).__name__)
        return False


class OpsEndpoints:
    """Mixin: expects the service to have `db` (Database) and `config` (nameko Config)."""

    @api("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    @api("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        checks = {
            "database": database_reachable(self.db),  # type: ignore[attr-defined]
            "broker": broker_reachable(self.config["AMQP_URI"]),  # type: ignore[attr-defined]
        }
        ready = all(checks.values())
        return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503)

    @api("GET", "/metrics")
    def prometheus_metrics(self, request: Request) -> Response:
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
