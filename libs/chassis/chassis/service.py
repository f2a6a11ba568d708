"""The base every platform service class extends: its dependencies and ops endpoints."""

from __future__ import annotations

from nameko.dependency_providers import Config

from chassis.db import Database
from chassis.health import OpsEndpoints
from chassis.http import Auth
from chassis.metrics import Metrics
from chassis.relay_runner import OutboxRelayRunner


class PlatformService(OpsEndpoints):
    """Config, its own database, bearer auth, entrypoint metrics, the in-process outbox relay,
    and /healthz, /readyz, /metrics. Subclasses add `name` and their entrypoints."""

    config = Config()
    db = Database()
    auth = Auth()
    metrics = Metrics()
    relay = OutboxRelayRunner()
